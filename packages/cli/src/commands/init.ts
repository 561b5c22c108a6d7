import { access, writeFile } from 'node:fs/promises';
import { DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET } from '@azr/backends';
import { DEFAULT_GENERATION_CACHE_BYTES, ONNX_EXECUTION_PROVIDERS } from '@azr/backends/onnx';
import { ConfigError, createPaperRecipe } from '@azr/core';
import { DEFAULT_TRAIN_CONFIG, PAPER_RECIPE_STEPS, type RecipeName } from '../config/config.js';

/** The commented starter config `azr init` writes (JSON with comments, which `azr train` reads). */
export function starterConfig(): string {
  const defaults = DEFAULT_TRAIN_CONFIG;
  const curriculum = defaults.tasks.curriculum;
  return `// azr.config.json: settings of \`azr train\`. Every field is optional; what is shown is the default.
// Command-line options (--steps, --seed, --engine, --language, --model, --execution-provider, --out) override
// these.
{
  // The model: a tiny Llama-family model from scratch ({ "preset": "tiny" }), or a Hugging Face style folder
  // with config.json, model.safetensors and tokenizer.json ({ "directory": "models/my-model" }).
  "model": { "preset": "tiny" },

  // onnx: generate and train on onnxruntime. hybrid: generate on onnxruntime, train on TensorFlow.js (for
  // @tensorflow/tfjs-node-gpu users). tfjs: TensorFlow.js alone.
  "engine": "${defaults.engine}",

  // Threads of one onnxruntime operator.
  "threads": ${defaults.threads},

  // onnxruntime's execution providers, in order of preference: ${ONNX_EXECUTION_PROVIDERS.join(', ')}. The
  // onnx engine and the hybrid engine's generation run on them; tfjs has none (only "cpu" is accepted). A
  // provider this machine lacks is an error that says how to get it (cuda: CUDA 12 and
  // ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node). --execution-provider overrides it.
  "executionProviders": ${JSON.stringify(defaults.executionProviders)},

  // The onnx engine's rollouts: float32 (the learner's own weights), or int8 (8-bit weights for generation,
  // about a quarter of the bytes a decoded token reads; the update is corrected by truncated importance sampling).
  // "rolloutPrecision": "int8",

  // The onnx engine's sessions (createOnnxPolicy's settings of these names; the values shown are the defaults).
  // Generation, which the hybrid engine's rollouts take too: batchSize (prompts decoded together; default: as
  // many as generationCacheBytes of key/value cache holds), generationCacheBytes, joinPrompts (waiting prompts
  // take the rows of finished completions) and rolloutWeights ("packed": the rollout session's own packed copy,
  // faster decoding; "shared": the weights fed to every run, no packed copy). Training, onnx engine only:
  // activationMemoryBudget (bytes of activations one pass may hold; a bigger batch trains in micro-batches),
  // recomputeActivations (each layer's activations computed again in its backward pass: less memory for about
  // a third more arithmetic, e.g. models of 0.5B parameters and up on a 24 GB machine), microBatchLoop (a step's
  // micro-batches in one onnxruntime call; default: unless recomputing) and, with rolloutPrecision "int8",
  // importanceTruncation (the cap of the importance weights).
  // "onnx": {
  //   "generationCacheBytes": ${DEFAULT_GENERATION_CACHE_BYTES}, "joinPrompts": true, "rolloutWeights": "packed",
  //   "activationMemoryBudget": ${DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET}, "recomputeActivations": false
  // },

  // The language of the proposed programs: javascript (isolated-vm) or python (Pyodide).
  "language": "${defaults.language}",

  // Self-play steps in total, and the seed of every random choice.
  "steps": ${defaults.steps},
  "seed": ${defaults.seed},

  // Where the run goes (default: runs/azr-<date>-<time>).
  // "out": "runs/first",

  "trainer": {
    // Proposals per mode per step, and tasks solved per mode per step (the paper: 64), with solveRollouts
    // answers sampled for each solved task (the paper: 1).
    "batchSize": ${defaults.trainer.batchSize},
    "solveRollouts": ${defaults.trainer.solveRollouts ?? 1},
    // Which tasks are solved: "newest" (the paper: the step's new tasks, then any) or "balanced" (an equal
    // share for each program size in the buffer and, within a size, for each function, so that the short
    // programs proposed first, and the ones that read x, stay in the mix).
    "solveSampling": "${defaults.trainer.solveSampling ?? 'newest'}",
    // When a step picks its solve tasks: "this-step" (after its proposals, so its new tasks are solved at once)
    // or "previous-step" (the reference's: before it proposes, from the tasks of the steps before).
    "solveFrom": "${defaults.trainer.solveFrom ?? 'this-step'}",
    // A seeding stage before step 1 (the reference's, with 256 tasks): the model proposes, without training,
    // until each mode's buffer holds "tasks" tasks, for at most "maxRounds" rounds. 0 tasks: no seeding.
    "seeding": { "tasks": ${defaults.trainer.seeding?.tasks ?? 0}, "maxRounds": ${defaults.trainer.seeding?.maxRounds ?? 32} },
    // Who proposes the tasks: "model" (self-play: the model proposes and learns to propose) or "random" (the
    // paper's ablation: a fixed random generator of the task language proposes, the model is trained as a solver
    // alone, at the same compute; mini tasks only).
    "proposer": "${defaults.trainer.proposer ?? 'model'}",
    // Proposals sampled from each propose prompt (each prompt with its own references; the paper: 1). More cost
    // less: a prompt runs once for all of its proposals.
    "proposalsPerPrompt": ${defaults.trainer.proposalsPerPrompt ?? 1},
    // Solver rollouts that estimate each valid proposal's solve rate (the learnability reward), and whether
    // the solver also trains on them (the paper does not; a model learning from zero needs the signal).
    "learnabilityRollouts": ${defaults.trainer.learnabilityRollouts},
    "trainOnLearnabilityRollouts": ${defaults.trainer.trainOnLearnabilityRollouts ?? false},
    // Advantages: "trr++" (the paper: normalised per mode and role) or "grpo" (per task: each solve task's
    // answers against each other; in the mini runs of BENCHMARKS.md solvers learned under it, not under TRR++).
    "advantageEstimator": "${defaults.trainer.advantageEstimator ?? 'trr++'}",
    // proposerWeight multiplies every proposal's advantage: the weight of the proposers' updates against the
    // solvers', whose answers outnumber proposals.
    // "advantages": { "proposerWeight": 1 },
    // Reject a proposal that repeats a known task (for mini tasks: one that computes the same function on the
    // same input) instead of accepting it silently.
    "rejectDuplicates": ${defaults.trainer.rejectDuplicates ?? false},
    // Drop from its buffer a task that every learnability rollout solved (it comes back when proposed again and
    // missed), so that solve tasks and proposers' references are what the solver cannot yet do.
    "dropSolvedTasks": ${defaults.trainer.dropSolvedTasks ?? false},
    // The proposer's complexity reward: a learnable valid proposal also earns this times its task's difficulty
    // (mini tasks: operators). 0 turns it off, as in the reference.
    // "complexityReward": 0.5,
    // The proposer's diversity reward: a valid proposal also earns this times the share of its mode's other valid
    // proposals in the step that compute another function. 0 turns it off, as in the reference.
    // "diversityReward": 0.5,
    // Hindsight: a wrong induction answer is also trained on, with this advantage, under the prompt of the task
    // its program gives on the same inputs (at most batchSize a step). 0 turns it off; not in the paper.
    "hindsightAdvantage": ${defaults.trainer.hindsightAdvantage ?? 0},
    // Sampling of every completion.
    "sampling": { "temperature": 1, "topP": 1, "maxTokens": ${defaults.trainer.sampling?.maxTokens} },
    // Steps between checkpoints (one is also written at the end and on Ctrl-C).
    "checkpointEvery": ${defaults.trainer.checkpointEvery}
  },

  // AdamW. A model trained from scratch needs a far larger learning rate than the paper's 1e-6 (a model folder
  // defaults to 1e-4, with the paper's full tasks and 10 steps).
  "optimizer": { "learningRate": ${defaults.optimizer.learningRate}, "maxGradientNorm": 1 },

  // Sandbox worker processes, and the time limit of one program run.
  "executor": { "workers": ${defaults.executor.workers}, "timeoutMs": 100 },

  // The tasks. mini: one-line programs f(x) = E mod 10 over digits, short prompts, generation held to the
  // grammar ("constrained": false turns that off), a held-out suite never proposed in training and evaluated
  // before the run, every evaluateEvery steps (false: never) and after it ("heldOut": a JSONL suite; default
  // the one bundled with the CLI), and a
  // curriculum on the size of proposals: at most startOperators operators at first, one more every
  // stepsPerOperator steps up to 3 (false: the whole language from the start). Induction: inductionHeldOut
  // "function" bars every induction task of a held-out task's function, "task" only those that show its pairs;
  // inductionReadsInput true holds induction answers to read x where the shown outputs differ;
  // inductionAnswersFollowCurriculum true holds them in training to the curriculum's operators at the step.
  // proposalsReadInput lists the modes ("deduction", "abduction") whose proposals are programs that read x.
  // The default for the tiny preset. full: the paper's prompts and free programs, the default for a model folder.
  "tasks": {
    "kind": "${defaults.tasks.kind}",
    "constrained": ${defaults.tasks.constrained},
    "curriculum": ${curriculum === false ? 'false' : `{ "startOperators": ${curriculum.startOperators}, "stepsPerOperator": ${curriculum.stepsPerOperator} }`},
    "inductionHeldOut": "${defaults.tasks.inductionHeldOut ?? 'function'}",
    "inductionReadsInput": ${defaults.tasks.inductionReadsInput ?? false},
    "inductionAnswersFollowCurriculum": ${defaults.tasks.inductionAnswersFollowCurriculum ?? false},
    "proposalsReadInput": ${JSON.stringify(defaults.tasks.proposalsReadInput ?? [])},
    "evaluateEvery": ${defaults.tasks.evaluateEvery}
  }
}
`;
}

/**
 * The starter config of the paper's recipe: the knobs of one machine with their defaults, and the paper's values
 * in the comments.
 */
export function paperStarterConfig(): string {
  const recipe = createPaperRecipe();
  const trainer = recipe.trainer;
  return `// azr.config.json for the paper's recipe (azr train reads it; --recipe paper gives the same defaults).
// The recipe sets Python tasks in the three modes with the reference's prompts in the R1 frame, K=6 references,
// 10 induction inputs (5 shown), 8 learnability rollouts, TRR++ with token-weighted whitening, PPO-clip 0.2
// with entropy 0.001 and no KL, AdamW at 1e-6 with clipping at 1.0, three updates a step, the reference's
// buffers, solve tasks from the steps before, and a seeding stage. What is shown is the default for a 135M
// model on a 2-core CPU, with the paper's value in the comment: the knobs of one machine.
{
  "recipe": "paper",

  // A downloaded Hugging Face checkpoint: config.json, model.safetensors, tokenizer.json.
  "model": { "directory": "models/SmolLM2-135M" },

  // Self-play steps (the paper: 500).
  "steps": ${PAPER_RECIPE_STEPS},

  "trainer": {
    // Proposals and solve tasks per mode per step (the paper: 64).
    "batchSize": ${trainer.batchSize},
    // The response budget in tokens (the paper: 8096).
    "sampling": { "maxTokens": ${trainer.sampling?.maxTokens} },
    // The propose prompt budget: a longer prompt gets other references (the paper: 6144).
    "maxPromptTokens": ${trainer.maxPromptTokens},
    // Tasks each mode's buffer holds after the seeding stage, and its most rounds (the paper: 256).
    "seeding": { "tasks": ${trainer.seeding?.tasks}, "maxRounds": ${trainer.seeding?.maxRounds} }
  },

  // The sandbox's time limit for one program run, in milliseconds (the reference: 10 s).
  "executor": { "timeoutMs": ${recipe.executorTimeoutMs} },

  "tasks": {
    // The prompt frame: "r1" (the paper's, as plain text) or "none".
    "frame": "r1",
    // Evaluation every this many steps, greedy, on "heldOut" (default: a small suite bundled with the CLI in
    // CRUXEval's layout; point it at CRUXEval's published JSONL for CRUXEval-O and CRUXEval-I).
    "evaluateEvery": 10
    // "heldOut": "cruxeval.jsonl",
    // Prompt templates of your own, by mode: { "deduction": { "propose": "prompts/deduction-propose.txt" } }.
    // "templates": {}
  }
}
`;
}

/** `azr init`: writes the starter config (of a recipe); refuses to overwrite one unless `force`. */
export async function writeStarterConfig(path: string, force: boolean, recipe?: RecipeName): Promise<void> {
  const present = await access(path).then(
    () => true,
    () => false,
  );
  if (present && !force)
    throw new ConfigError(`${path} already exists; pass --force to overwrite it.`, { field: 'path' });
  await writeFile(path, recipe === 'paper' ? paperStarterConfig() : starterConfig());
}

import { readFile } from 'node:fs/promises';
import {
  ONNX_EXECUTION_PROVIDERS,
  type OnnxExecutionProvider,
  ROLLOUT_PRECISIONS,
  ROLLOUT_WEIGHTS,
  type RolloutPrecision,
  type RolloutWeights,
} from '@azr/backends/onnx';
import {
  type BuiltInTaskModeName,
  ConfigError,
  createPaperRecipe,
  MINI_LANGUAGE,
  type MiniCurriculum,
  type OptimizerSettings,
  PROPOSERS,
  SOLVE_FROMS,
  SOLVE_SAMPLINGS,
  type TrainerSettingsInput,
} from '@azr/core';
import { type ParseError, parse, printParseErrorCode } from 'jsonc-parser';
import { z } from 'zod';

/** The named sets of defaults `azr train --recipe` selects. `paper`: the paper's recipe (`createPaperRecipe`). */
export const RECIPES = ['paper'] as const;
export type RecipeName = (typeof RECIPES)[number];

/** Engines `azr train` can train with. */
export const TRAIN_ENGINES = ['hybrid', 'tfjs', 'onnx'] as const;
export type TrainEngine = (typeof TRAIN_ENGINES)[number];

/** The execution providers a run asks onnxruntime for when none are named. */
export const DEFAULT_EXECUTION_PROVIDERS: readonly OnnxExecutionProvider[] = Object.freeze(['cpu']);

/**
 * The tfjs engine runs on TensorFlow.js's own backends (wasm, or `@tensorflow/tfjs-node-gpu` for CUDA), not on
 * onnxruntime, so it has no execution providers: asking it for one other than `cpu` is an error rather than a
 * setting silently ignored. The onnx engine, and the hybrid engine's rollouts, use them.
 */
export function assertEngineExecutionProviders(
  engine: TrainEngine,
  executionProviders: readonly OnnxExecutionProvider[],
): void {
  const others = executionProviders.filter((provider) => provider !== 'cpu');
  if (engine !== 'tfjs' || others.length === 0) return;
  throw new ConfigError(
    `The tfjs engine has no execution providers (it runs on TensorFlow.js, not onnxruntime), so executionProviders ${others.map((provider) => `"${provider}"`).join(', ')} cannot apply to it. Use the onnx engine (or, for azr train, hybrid: onnxruntime generates on these providers, TensorFlow.js trains), or drop executionProviders / --execution-provider; TensorFlow.js reaches CUDA through @tensorflow/tfjs-node-gpu.`,
    { field: 'executionProviders', allowed: ['cpu'] },
  );
}

const positiveInteger = z.number().int().positive();
const probability = z.number().gt(0).lte(1);

/**
 * The `onnx` section: settings of `createOnnxPolicy` (`@azr/backends/onnx`) of the same names. Generation's apply
 * to the onnx engine and to the hybrid engine's rollouts; training's to the onnx engine alone.
 */
const onnxSchema = z.strictObject({
  batchSize: positiveInteger.optional(),
  generationCacheBytes: positiveInteger.optional(),
  joinPrompts: z.boolean().optional(),
  rolloutWeights: z.enum(ROLLOUT_WEIGHTS).optional(),
  activationMemoryBudget: positiveInteger.optional(),
  recomputeActivations: z.boolean().optional(),
  microBatchLoop: z.boolean().optional(),
  importanceTruncation: z.number().min(1).optional(),
});

/** The onnx engine's settings a config can give (the `onnx` section); the library's defaults fill the rest. */
export interface OnnxEngineSettings {
  /** Prompts decoded together in one generation batch. Default: as many as `generationCacheBytes` holds. */
  readonly batchSize?: number;
  /** The key/value cache one generation batch may hold when `batchSize` is not given, in bytes. Default 256 MiB. */
  readonly generationCacheBytes?: number;
  /** Whether waiting prompts take the rows of completions that ended (default true) or run in batches. */
  readonly joinPrompts?: boolean;
  /** `packed` (default: the rollout session's own packed copy of the weights) or `shared` (fed on every run). */
  readonly rolloutWeights?: RolloutWeights;
  /** Bytes of activations one training pass may hold; a bigger batch trains in micro-batches. Default 1 GiB. */
  readonly activationMemoryBudget?: number;
  /** Gradient checkpointing per layer: less activation memory, about a third more arithmetic. Default false. */
  readonly recomputeActivations?: boolean;
  /** All of a step's micro-batches in one onnxruntime call. Default true, unless `recomputeActivations`. */
  readonly microBatchLoop?: boolean;
  /** The cap of the importance weight with `rolloutPrecision` `int8`, at least 1. Default 2. */
  readonly importanceTruncation?: number;
}

/** The `onnx` settings of generation, which the hybrid engine's onnxruntime rollouts take as well. */
export const ONNX_GENERATION_SETTINGS = [
  'batchSize',
  'generationCacheBytes',
  'joinPrompts',
  'rolloutWeights',
] as const satisfies readonly (keyof OnnxEngineSettings)[];

/** The `onnx` settings of training: the onnx engine's learner's (the hybrid engine trains on TensorFlow.js). */
export const ONNX_TRAINING_SETTINGS = [
  'activationMemoryBudget',
  'recomputeActivations',
  'microBatchLoop',
  'importanceTruncation',
] as const satisfies readonly (keyof OnnxEngineSettings)[];

/** The generation settings among `onnx`, for a session that only generates (the hybrid engine's rollouts). */
export function onnxGenerationSettings(onnx: OnnxEngineSettings | undefined): OnnxEngineSettings {
  if (onnx === undefined) return {};
  return Object.fromEntries(
    ONNX_GENERATION_SETTINGS.flatMap((name) => (onnx[name] === undefined ? [] : [[name, onnx[name]]])),
  );
}

// Compile-time checks: the two lists hold every setting (a new one must be placed in one), and the schema reads
// exactly the settings.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Listed = (typeof ONNX_GENERATION_SETTINGS)[number] | (typeof ONNX_TRAINING_SETTINGS)[number];
const everySettingListed: Same<keyof OnnxEngineSettings, Listed> = true;
const schemaReadsTheSettings: Same<keyof z.infer<typeof onnxSchema>, keyof OnnxEngineSettings> = true;
void everySettingListed;
void schemaReadsTheSettings;

/**
 * The `onnx` settings an engine takes: all of them for `onnx`, generation's for `hybrid`, none for `tfjs`; and
 * `importanceTruncation` only with `rolloutPrecision` `int8`, the rollouts it weighs, which need `rolloutWeights`
 * `packed`. A setting with no use there is a `ConfigError` naming it (`onnx.<name>`), rather than silently
 * ignored.
 */
export function assertEngineOnnxSettings(
  engine: TrainEngine,
  settings: OnnxEngineSettings | undefined,
  rolloutPrecision: RolloutPrecision = 'float32',
): void {
  if (settings === undefined) return;
  const given = Object.keys(settings).filter(
    (name) => settings[name as keyof OnnxEngineSettings] !== undefined,
  );
  const refused =
    engine === 'onnx'
      ? []
      : engine === 'tfjs'
        ? given
        : given.filter((name) => !(ONNX_GENERATION_SETTINGS as readonly string[]).includes(name));
  const first = refused[0];
  if (first !== undefined) {
    const why =
      engine === 'tfjs'
        ? 'the tfjs engine neither generates nor trains on onnxruntime'
        : `the hybrid engine trains on TensorFlow.js (its onnxruntime session only generates, and takes the onnx section's generation settings: ${ONNX_GENERATION_SETTINGS.join(', ')})`;
    throw new ConfigError(
      `onnx.${first} is a setting of the onnx engine's ${engine === 'tfjs' ? 'sessions' : 'training'}, and ${why}. Use engine "onnx", or drop ${refused.map((name) => `onnx.${name}`).join(', ')}.`,
      { field: `onnx.${first}` },
    );
  }
  if (rolloutPrecision === 'int8' && settings.rolloutWeights === 'shared')
    throw new ConfigError(
      'rolloutPrecision "int8" needs onnx.rolloutWeights "packed": a shared rollout session reads the learner\'s float32 arrays as they are. Drop one of them.',
      { field: 'onnx.rolloutWeights', allowed: ['packed'] },
    );
  if (settings.importanceTruncation !== undefined && rolloutPrecision !== 'int8')
    throw new ConfigError(
      `onnx.importanceTruncation caps the importance weights of int8 rollouts, and this run's rollouts are ${rolloutPrecision}. Set rolloutPrecision "int8", or drop onnx.importanceTruncation.`,
      { field: 'onnx.importanceTruncation' },
    );
}

/** Reads an `onnx` section (a run's recorded one): a bad or unknown setting is a `ConfigError` naming it. */
export function parseOnnxSettings(value: unknown, source: string): OnnxEngineSettings {
  const result = onnxSchema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new ConfigError(describeIssues(result.error, source, ['onnx']), {
      field: ['onnx', ...(first?.path ?? []).map(String)].join('.'),
    });
  }
  return compact(result.data) as OnnxEngineSettings;
}

const modelSchema = z.union([
  z.strictObject({
    preset: z.enum(['tiny']),
    seed: z.number().int().nonnegative().optional(),
  }),
  z.strictObject({ directory: z.string().min(1) }),
]);

const trainerSchema = z.strictObject({
  batchSize: positiveInteger.optional(),
  solveRollouts: positiveInteger.optional(),
  solveSampling: z.enum(SOLVE_SAMPLINGS).optional(),
  solveFrom: z.enum(SOLVE_FROMS).optional(),
  seeding: z
    .strictObject({
      tasks: z.number().int().nonnegative().optional(),
      maxRounds: positiveInteger.optional(),
    })
    .optional(),
  proposer: z.enum(PROPOSERS).optional(),
  references: positiveInteger.optional(),
  proposalsPerPrompt: positiveInteger.optional(),
  maxPromptTokens: positiveInteger.optional(),
  learnabilityRollouts: positiveInteger.optional(),
  trainOnLearnabilityRollouts: z.boolean().optional(),
  rejectDuplicates: z.boolean().optional(),
  dropSolvedTasks: z.boolean().optional(),
  hindsightAdvantage: z.number().min(0).optional(),
  hindsightLimit: positiveInteger.optional(),
  complexityReward: z.number().min(0).optional(),
  diversityReward: z.number().min(0).optional(),
  sampling: z
    .strictObject({
      temperature: z.number().positive().optional(),
      topP: probability.optional(),
      maxTokens: positiveInteger.optional(),
    })
    .optional(),
  advantageEstimator: z.enum(['trr++', 'grpo']).optional(),
  advantages: z
    .strictObject({
      weighting: z.enum(['sequence', 'token']).optional(),
      epsilon: z.number().min(0).optional(),
      proposerWeight: z.number().min(0).optional(),
    })
    .optional(),
  loss: z
    .strictObject({
      clipRatio: z.number().min(0).max(1).optional(),
      entropyCoefficient: z.number().min(0).optional(),
    })
    .optional(),
  rewards: z
    .strictObject({
      wellFormedWrongReward: z.number().optional(),
      malformedReward: z.number().optional(),
      proposerRewardVariant: z.enum(['paper', 'reference-code']).optional(),
    })
    .optional(),
  miniBatchSize: positiveInteger.optional(),
  bufferCapacity: positiveInteger.optional(),
  bufferEviction: z.enum(['evict-oldest', 'reject-new']).optional(),
  checkpointEvery: positiveInteger.optional(),
});

const optimizerSchema = z.strictObject({
  learningRate: z.number().positive().optional(),
  beta1: z.number().min(0).lt(1).optional(),
  beta2: z.number().min(0).lt(1).optional(),
  epsilon: z.number().positive().optional(),
  weightDecay: z.number().min(0).optional(),
  maxGradientNorm: z.number().positive().optional(),
});

/** Prompt template files of one mode, each replacing that template of the paper's modes. */
const templateFiles = z.strictObject({
  propose: z.string().min(1).optional(),
  solve: z.string().min(1).optional(),
});

const tasksSchema = z.strictObject({
  kind: z.enum(['mini', 'full']).optional(),
  constrained: z.boolean().optional(),
  heldOut: z.string().min(1).optional(),
  curriculum: z
    .union([
      z.literal(false),
      z.strictObject({
        startOperators: z
          .number()
          .int()
          .min(0)
          .max(MINI_LANGUAGE.maxOperands - 1),
        stepsPerOperator: positiveInteger,
      }),
    ])
    .optional(),
  inductionHeldOut: z.enum(['function', 'task']).optional(),
  inductionReadsInput: z.boolean().optional(),
  inductionAnswersFollowCurriculum: z.boolean().optional(),
  proposalsReadInput: z.array(z.enum(['deduction', 'abduction'])).optional(),
  evaluateEvery: z.union([z.literal(false), positiveInteger]).optional(),
  frame: z.enum(['r1', 'none', 'chat']).optional(),
  templates: z
    .strictObject({
      deduction: templateFiles.optional(),
      abduction: templateFiles.optional(),
      induction: templateFiles.optional(),
    })
    .optional(),
});

const executorSchema = z.strictObject({
  workers: positiveInteger.optional(),
  timeoutMs: positiveInteger.optional(),
});

/** The schema of `azr.config.json` (comments allowed). Every field is optional; see {@link DEFAULT_TRAIN_CONFIG}. */
export const trainConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  recipe: z.enum(RECIPES).optional(),
  model: modelSchema.optional(),
  engine: z.enum(TRAIN_ENGINES).optional(),
  language: z.enum(['javascript', 'python']).optional(),
  steps: positiveInteger.optional(),
  seed: z.number().int().nonnegative().optional(),
  threads: positiveInteger.optional(),
  executionProviders: z
    .array(z.enum(ONNX_EXECUTION_PROVIDERS))
    .min(1)
    .refine((providers) => new Set(providers).size === providers.length, 'names a provider twice')
    .optional(),
  rolloutPrecision: z.enum(ROLLOUT_PRECISIONS).optional(),
  onnx: onnxSchema.optional(),
  out: z.string().min(1).optional(),
  trainer: trainerSchema.optional(),
  optimizer: optimizerSchema.optional(),
  executor: executorSchema.optional(),
  tasks: tasksSchema.optional(),
});

/** A config as written (every field optional). */
export type TrainConfigInput = z.infer<typeof trainConfigSchema>;

/** A config with every default filled in: what a run directory's `config.json` records. */
export interface TrainConfig {
  /** The recipe whose defaults the run started from, if any. */
  readonly recipe?: RecipeName;
  readonly model: { readonly preset: 'tiny'; readonly seed: number } | { readonly directory: string };
  readonly engine: TrainEngine;
  readonly language: 'javascript' | 'python';
  readonly steps: number;
  readonly seed: number;
  /** Threads of one onnxruntime operator. */
  readonly threads: number;
  /**
   * onnxruntime's execution providers, in order of preference (`ONNX_EXECUTION_PROVIDERS` of
   * `@azr/backends/onnx`: cpu, cuda, webgpu, tensorrt, dml, coreml). Default `['cpu']`. The onnx engine, and the
   * hybrid engine's rollouts, run on them; the tfjs engine has none (anything but `cpu` is a `ConfigError`).
   */
  readonly executionProviders: readonly OnnxExecutionProvider[];
  /**
   * The onnx engine's rollout precision (`rolloutPrecision` of `createOnnxPolicy`): `float32` (default) or `int8`
   * (8-bit weights for generation, the update corrected by truncated importance sampling). onnx engine only.
   */
  readonly rolloutPrecision?: RolloutPrecision;
  /**
   * The onnx engine's generation and training settings (`createOnnxPolicy`'s of the same names), as the config
   * gave them; the library's defaults fill the rest. The hybrid engine's rollouts take the generation ones.
   */
  readonly onnx?: OnnxEngineSettings;
  readonly trainer: Omit<TrainerSettingsInput, 'seed' | 'language'> & {
    /**
     * The weight of the proposer's complexity reward (`createComplexityReward` of `@azr/core`: a learnable valid
     * proposal earns its task's difficulty, the mini modes' operators). Default 0: off, as in the reference.
     */
    readonly complexityReward?: number;
    /**
     * The weight of the proposer's diversity reward (`createDiversityReward` of `@azr/core`: a valid proposal earns
     * the share of its mode's other valid proposals in the step that are of another kind, the mini modes'
     * functions). Paid to every mode's proposals; an induction proposer is handed its program, so for it the
     * reward follows its references. Default 0: off, as in the reference.
     */
    readonly diversityReward?: number;
  };
  readonly optimizer: Partial<OptimizerSettings>;
  readonly executor: { readonly workers?: number; readonly timeoutMs?: number };
  readonly tasks: TasksConfig;
}

/**
 * The tasks of a run. `mini`: the mini language for models that start from random weights (short prompts,
 * one-line programs over digits, grammar-constrained generation; `createMiniTaskModes` in `@azr/core`);
 * `full`: the paper's prompts and free programs, for pretrained models.
 */
export interface TasksConfig {
  /** Default `mini` for the tiny preset, `full` for a model folder. */
  readonly kind: 'mini' | 'full';
  /** Mini tasks only: hold generation to the grammar. Default `true`. */
  readonly constrained: boolean;
  /**
   * A JSONL evaluation suite (the SDK's layout or CRUXEval's published one) that the run evaluates greedily
   * before the first step, every `evaluateEvery` steps and after the last. For mini tasks it is also never
   * proposed in training. Default: the suite bundled with the CLI for the run's language: for mini tasks
   * `suites/mini-<language>.jsonl` (the one `npm run bench:learning` evaluates on), for full tasks
   * `suites/cruxeval-sample-<language>.jsonl` (CRUXEval's layout: output and input prediction).
   */
  readonly heldOut?: string;
  /**
   * Mini tasks only: the most operators a proposal may have, growing from `startOperators` at step 1 by one
   * every `stepsPerOperator` steps up to the language's 3 (`MiniCurriculum` in `@azr/core`), or `false` for
   * the whole language from the first step. Default {@link DEFAULT_MINI_CURRICULUM}.
   */
  readonly curriculum: MiniCurriculum | false;
  /**
   * Mini tasks only: how a held-out induction task bars training, `function` (every induction task of its
   * function) or `task` (any that shows its pairs: the same function on other inputs may be trained on).
   * `MiniTaskModesSettings.inductionHeldOut` in `@azr/core`. Default `function` (filled in for mini tasks).
   */
  readonly inductionHeldOut?: 'function' | 'task';
  /**
   * Mini tasks only: generate induction answers that read `x` when the shown outputs differ
   * (`MiniTaskModesSettings.inductionReadsInput` in `@azr/core`). Default `false` (filled in for mini tasks).
   */
  readonly inductionReadsInput?: boolean;
  /**
   * Mini tasks only: hold induction answers in training to the curriculum's operator limit at the step
   * (`MiniTaskModesSettings.inductionAnswersFollowCurriculum` in `@azr/core`). Default `false` (filled in for
   * mini tasks).
   */
  readonly inductionAnswersFollowCurriculum?: boolean;
  /**
   * Mini tasks only: the modes (`deduction`, `abduction`) whose proposals are programs that read `x`
   * (`MiniTaskModesSettings.proposalsReadInput` in `@azr/core`). Default none (filled in for mini tasks).
   */
  readonly proposalsReadInput?: readonly ('deduction' | 'abduction')[];
  /**
   * Evaluate the held-out suite every this many steps during training (greedy, as before and after it), for
   * the report's held-out curve (`heldout.jsonl`), or `false` for before and after alone. Default 50 (10 under
   * the paper's recipe, as the reference).
   */
  readonly evaluateEvery: number | false;
  /**
   * Full tasks only: the prompt frame, `r1` (the paper's: the task inside a plain-text conversation that ends
   * in an opened `<think>`, for base models), `chat` (the same conversation through the model's chat template,
   * from its `tokenizer_config.json`, for instruct checkpoints) or `none` (the task text alone). Default `r1`.
   */
  readonly frame?: 'r1' | 'none' | 'chat';
  /**
   * Full tasks only: prompt template files replacing the paper modes' templates, by mode and kind (`propose`,
   * `solve`); each may use the placeholders of its kind (`TEMPLATE_PLACEHOLDERS` in `@azr/core`), which is
   * checked when the run starts.
   */
  readonly templates?: Readonly<
    Partial<Record<BuiltInTaskModeName, { readonly propose?: string; readonly solve?: string }>>
  >;
}

/** How often a mini run evaluates its held-out suite by default: about a second's work every 50 steps. */
export const DEFAULT_EVALUATE_EVERY = 50;

/**
 * The mini tasks' default curriculum: at most one operator for the default run's 600 steps (two from step 601,
 * three from step 1201, in longer runs). The solver learns tasks of one operator at this scale, and with
 * `dropSolvedTasks` it met deduction's target on every seed (`npm run bench:learning` in `BENCHMARKS.md`).
 * Opening two and three operators at steps 301 and 451, the previous default, gave a smaller gain: the solver
 * stays at chance on them, and the time spent on them is lost to the programs it can learn.
 */
export const DEFAULT_MINI_CURRICULUM: MiniCurriculum = Object.freeze({
  startOperators: 1,
  stepsPerOperator: 600,
});

/**
 * For each named object field of the trainer settings that the defaults or the file set: the file's fields over
 * the defaults', so that setting one field keeps the others of the defaults.
 */
function mergedObjects<K extends 'advantages' | 'loss' | 'rewards'>(
  defaults: TrainConfig['trainer'],
  file: TrainConfigInput['trainer'],
  keys: readonly K[],
): Partial<Pick<TrainConfig['trainer'], K>> {
  const merged: Partial<Pick<TrainConfig['trainer'], K>> = {};
  for (const key of keys) {
    if (defaults[key] === undefined && file?.[key] === undefined) continue;
    merged[key] = { ...defaults[key], ...file?.[key] } as TrainConfig['trainer'][K];
  }
  return merged;
}

/** A copy without the properties whose value is `undefined` (zod's optional fields), at every depth. */
function compact<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, entry]) => entry !== undefined)
      .map(([key, entry]) => [key, compact(entry)]),
  ) as T;
}

/**
 * The defaults that depend on the tasks: mini tasks (the tiny preset learning from zero) train on 24 tasks a
 * mode per step (three times the 8 of before, at about the same cost per task since the onnx engine packs the
 * answers to one prompt into one training row), 4 proposals from each propose prompt, for 600 steps (what fits
 * 15 minutes on a 2-core machine; earlier, 1000 steps of 8 tasks gave held-out deduction 5.3 points above 500
 * steps, in five runs), on 16 answers per solve task compared with each other (grpo; 8 were too few for seed 0
 * to learn even constants),
 * solve tasks drawn evenly over program sizes and functions (the buffers fill with long constant programs),
 * and on the learnability rollouts too, with a learning rate at which a solver trained alone learns the mini
 * language (1e-3 collapsed it onto one answer) and the proposers do not fall onto programs without operators
 * (at 2e-4 some seeds' did);
 * full tasks (a pretrained model folder) keep the paper's loop with a small learning rate and a short run.
 */
const TASK_DEFAULTS = {
  mini: {
    steps: 600,
    trainer: {
      batchSize: 24,
      proposalsPerPrompt: 4,
      solveRollouts: 16,
      solveSampling: 'balanced',
      learnabilityRollouts: 4,
      trainOnLearnabilityRollouts: true,
      advantageEstimator: 'grpo',
      rejectDuplicates: false,
      // Tasks the solver solves every time leave the buffers: constant abduction programs (any input answers
      // them) were most abduction solve tasks, every answer right and so no signal.
      dropSolvedTasks: true,
      // The longest word of the mini grammar is 11 characters (an induction proposal's six digits); 32 leaves
      // room for a free-running (unconstrained) model's first line, and keeps generation's key/value cache short.
      sampling: { maxTokens: 32 },
      checkpointEvery: 50,
    },
    // At 2e-4 the proposers fell, within a few steps, onto programs without an operator on some seeds (0.01
    // operators a proposal by the end); at 1e-4 none fell in 3 seeds, and deduction's weakest seed gained more
    // (`BENCHMARKS.md`).
    optimizer: { learningRate: 1e-4 },
  },
  full: {
    steps: 10,
    trainer: { batchSize: 8, learnabilityRollouts: 4, sampling: { maxTokens: 192 }, checkpointEvery: 5 },
    optimizer: { learningRate: 1e-4 },
  },
} as const satisfies Record<TasksConfig['kind'], Pick<TrainConfig, 'steps' | 'trainer' | 'optimizer'>>;

/**
 * The embedded default: a tiny Llama-family model trained from scratch on the CPU, generation and updates on
 * onnxruntime (2 threads), mini JavaScript tasks with constrained generation and a curriculum on proposal size,
 * 600 steps of 24 tasks a mode (344-365 s on a 2-core AMD EPYC with AVX-512; see BENCHMARKS.md).
 */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = Object.freeze({
  model: { preset: 'tiny', seed: 0 },
  engine: 'onnx',
  language: 'javascript',
  steps: TASK_DEFAULTS.mini.steps,
  seed: 0,
  threads: 2,
  executionProviders: DEFAULT_EXECUTION_PROVIDERS,
  trainer: TASK_DEFAULTS.mini.trainer,
  optimizer: TASK_DEFAULTS.mini.optimizer,
  executor: { workers: 2 },
  tasks: {
    kind: 'mini',
    constrained: true,
    curriculum: DEFAULT_MINI_CURRICULUM,
    inductionHeldOut: 'function',
    inductionReadsInput: false,
    inductionAnswersFollowCurriculum: false,
    proposalsReadInput: [],
    evaluateEvery: DEFAULT_EVALUATE_EVERY,
  },
}) as TrainConfig;

/** Steps of a run under the paper's recipe by default: a short run on one machine (the paper: 500). */
export const PAPER_RECIPE_STEPS = 10;

/**
 * The defaults of the paper's recipe, with the knobs the file sets (batch size, budgets, seeding) passed to it
 * so that what depends on them (three updates a step) follows.
 */
function paperRecipeDefaults(
  file: TrainConfigInput,
  language: TrainConfig['language'],
): Pick<TrainConfig, 'steps' | 'trainer' | 'optimizer' | 'executor'> & { readonly evaluateEvery: number } {
  const trainer = file.trainer;
  const recipe = createPaperRecipe({
    language,
    ...(trainer?.batchSize === undefined ? {} : { batchSize: trainer.batchSize }),
    ...(trainer?.sampling?.maxTokens === undefined ? {} : { maxResponseTokens: trainer.sampling.maxTokens }),
    ...(trainer?.maxPromptTokens === undefined ? {} : { maxPromptTokens: trainer.maxPromptTokens }),
    ...(trainer?.seeding?.tasks === undefined ? {} : { seedTasks: trainer.seeding.tasks }),
    ...(trainer?.seeding?.maxRounds === undefined ? {} : { seedRounds: trainer.seeding.maxRounds }),
  });
  const { language: _language, ...settings } = recipe.trainer;
  return {
    steps: PAPER_RECIPE_STEPS,
    trainer: settings,
    optimizer: recipe.optimizer,
    executor: { workers: DEFAULT_TRAIN_CONFIG.executor.workers ?? 2, timeoutMs: recipe.executorTimeoutMs },
    // The reference validates on its suites every 10 steps.
    evaluateEvery: 10,
  };
}

/** One line per issue: `<source>: <field>: <message>`, the field under `within` (a section's path). */
function describeIssues(error: z.ZodError, source: string, within: readonly string[] = []): string {
  return error.issues
    .map((issue) => {
      const path = [...within, ...issue.path.map(String)].join('.') || '(top level)';
      return `${source}: ${path}: ${issue.message}`;
    })
    .join('\n');
}

/** Validates a config object, with a `ConfigError` that names each bad field. */
export function parseTrainConfig(value: unknown, source: string): TrainConfigInput {
  const result = trainConfigSchema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new ConfigError(describeIssues(result.error, source), {
      field: first ? first.path.map(String).join('.') : '',
    });
  }
  return result.data;
}

/** Reads `azr.config.json` (JSON with comments). A missing file, bad JSON or a bad field is a `ConfigError`. */
export async function readTrainConfig(path: string): Promise<TrainConfigInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the config file ${path}: ${(error as Error).message}`, {
      field: 'config',
    });
  }
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const firstError = errors[0];
  if (firstError !== undefined) {
    const before = text.slice(0, firstError.offset);
    const line = before.split('\n').length;
    const column = firstError.offset - before.lastIndexOf('\n');
    throw new ConfigError(
      `${path}:${line}:${column}: ${printParseErrorCode(firstError.error)} (the file must be JSON; comments are allowed).`,
      { field: 'config' },
    );
  }
  return parseTrainConfig(value, path);
}

/** Fills in defaults: the config file's values over the embedded default, and command-line options over both. */
export function resolveTrainConfig(
  file: TrainConfigInput,
  overrides: Partial<Pick<TrainConfig, 'engine' | 'language' | 'steps' | 'seed' | 'executionProviders'>> & {
    readonly modelDirectory?: string;
    readonly recipe?: RecipeName;
  },
): TrainConfig {
  const seed = overrides.seed ?? file.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  const model =
    overrides.modelDirectory !== undefined
      ? { directory: overrides.modelDirectory }
      : file.model !== undefined
        ? 'preset' in file.model
          ? { preset: file.model.preset, seed: file.model.seed ?? seed }
          : { directory: file.model.directory }
        : { preset: 'tiny' as const, seed };
  const recipe = overrides.recipe ?? file.recipe;
  const kind = file.tasks?.kind ?? (recipe !== undefined || !('preset' in model) ? 'full' : 'mini');
  const language =
    overrides.language ?? file.language ?? (recipe === 'paper' ? 'python' : DEFAULT_TRAIN_CONFIG.language);
  const paper = recipe === 'paper' ? paperRecipeDefaults(file, language) : undefined;
  const defaults = { ...DEFAULT_TRAIN_CONFIG, ...TASK_DEFAULTS[kind], ...paper };
  const defaultSeeding = (defaults.trainer as TrainConfig['trainer']).seeding;
  const engine = overrides.engine ?? file.engine ?? defaults.engine;
  const executionProviders =
    overrides.executionProviders ?? file.executionProviders ?? defaults.executionProviders;
  assertEngineExecutionProviders(engine, executionProviders);
  const rolloutPrecision = file.rolloutPrecision;
  if (rolloutPrecision !== undefined && rolloutPrecision !== 'float32' && engine !== 'onnx')
    throw new ConfigError(
      `rolloutPrecision "${rolloutPrecision}" needs the onnx engine, which corrects its update for rollouts at another precision; the ${engine} engine's learner does not. Use engine "onnx", or drop rolloutPrecision.`,
      { field: 'rolloutPrecision', allowed: ['float32'] },
    );
  const onnx = file.onnx === undefined ? undefined : (compact(file.onnx) as OnnxEngineSettings);
  assertEngineOnnxSettings(engine, onnx, rolloutPrecision);
  // Only the mini modes have a random generator of their tasks; refused here, before a run directory exists.
  if (file.trainer?.proposer === 'random' && kind !== 'mini') {
    throw new ConfigError(
      'trainer.proposer "random" (tasks from a random generator, the proposer not trained) needs mini tasks, whose modes can sample proposals; the full tasks have no random generator. Use tasks.kind "mini", or trainer.proposer "model".',
      { field: 'trainer.proposer', allowed: ['model'] },
    );
  }
  return {
    ...(recipe === undefined ? {} : { recipe }),
    model,
    engine,
    language,
    steps: overrides.steps ?? file.steps ?? defaults.steps,
    seed,
    threads: file.threads ?? defaults.threads,
    executionProviders: [...executionProviders],
    ...(rolloutPrecision === undefined ? {} : { rolloutPrecision }),
    ...(onnx === undefined || Object.keys(onnx).length === 0 ? {} : { onnx }),
    trainer: compact({
      ...defaults.trainer,
      ...file.trainer,
      sampling: { ...defaults.trainer.sampling, ...file.trainer?.sampling },
      // The file's fields of these objects over the defaults' (the paper's recipe sets some of each).
      ...mergedObjects(defaults.trainer as TrainConfig['trainer'], file.trainer, [
        'advantages',
        'loss',
        'rewards',
      ]),
      ...(defaultSeeding === undefined && file.trainer?.seeding === undefined
        ? {}
        : { seeding: { ...defaultSeeding, ...file.trainer?.seeding } }),
    }) as TrainConfig['trainer'],
    optimizer: compact({ ...defaults.optimizer, ...file.optimizer }) as TrainConfig['optimizer'],
    executor: compact({ ...defaults.executor, ...file.executor }) as TrainConfig['executor'],
    tasks: {
      kind,
      constrained: file.tasks?.constrained ?? true,
      ...(file.tasks?.heldOut === undefined ? {} : { heldOut: file.tasks.heldOut }),
      curriculum: file.tasks?.curriculum ?? DEFAULT_MINI_CURRICULUM,
      ...(kind === 'mini'
        ? {
            inductionHeldOut: file.tasks?.inductionHeldOut ?? 'function',
            inductionReadsInput: file.tasks?.inductionReadsInput ?? false,
            inductionAnswersFollowCurriculum: file.tasks?.inductionAnswersFollowCurriculum ?? false,
            proposalsReadInput: file.tasks?.proposalsReadInput ?? [],
          }
        : {}),
      evaluateEvery: file.tasks?.evaluateEvery ?? paper?.evaluateEvery ?? DEFAULT_EVALUATE_EVERY,
      ...(kind === 'full' ? { frame: file.tasks?.frame ?? 'r1' } : {}),
      ...(file.tasks?.templates === undefined
        ? {}
        : { templates: compact(file.tasks.templates) as NonNullable<TasksConfig['templates']> }),
    },
  };
}

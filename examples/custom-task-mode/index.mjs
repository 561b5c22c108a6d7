// A custom task mode plugged into the self-play trainer: "short deduction", deduction restricted to programs of
// at most 160 characters, with its own name, prompt addition and validation rule. It reuses the built-in
// deduction mode for everything else, and runs next to the built-in abduction mode.
import { createHybridPolicy, initializeLlamaWeights, parseLlamaConfig } from '@azr/backends';
import { createOnnxPolicy } from '@azr/backends/onnx';
import { createTfjsPolicy } from '@azr/backends/tfjs';
import {
  createAbductionMode,
  createByteTokenizer,
  createDeductionMode,
  createSelfPlayTrainer,
  taskId,
  zeroTriplet,
} from '@azr/core';
import { createJavaScriptExecutor } from '@azr/executor';

const LIMIT = 160;
const deduction = createDeductionMode();
/** A deduction task renamed into this mode, its id recomputed from its content. */
const rename = (task, mode) => {
  const { id: _id, ...content } = { ...task, mode };
  return { ...content, id: taskId(content) };
};

/** @type {import('@azr/core').TaskModeV1} */
const shortDeduction = {
  specificationVersion: 'v1',
  name: 'short-deduction',
  languages: deduction.languages,
  buildProposePrompt: (context) =>
    `${deduction.buildProposePrompt({ ...context, references: context.references.map((task) => rename(task, 'deduction')) })}\nThe program must be at most ${LIMIT} characters long.`,
  parseProposal: (completion, context) => deduction.parseProposal(completion, context),
  async validateProposal(proposal, executor, context) {
    if (proposal.program.length > LIMIT)
      return {
        ok: false,
        reason: `the program has ${proposal.program.length} characters, more than ${LIMIT}`,
      };
    const result = await deduction.validateProposal(proposal, executor, context);
    return result.ok ? { ok: true, task: rename(result.task, 'short-deduction') } : result;
  },
  buildSolvePrompt: (task, context) => deduction.buildSolvePrompt(rename(task, 'deduction'), context),
  parseAnswer: (completion, task, context) =>
    deduction.parseAnswer(completion, rename(task, 'deduction'), context),
  checkAnswer: (task, answer, executor) => deduction.checkAnswer(rename(task, 'deduction'), answer, executor),
};

const config = parseLlamaConfig({
  model_type: 'llama',
  vocab_size: 257,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 4096,
  tie_word_embeddings: true,
  eos_token_id: 256,
});
const model = {
  config,
  weights: initializeLlamaWeights(config, { seed: 3 }),
  tokenizer: createByteTokenizer(),
};
const learner = await createTfjsPolicy({ model, optimizer: { learningRate: 1e-3 } });
const policy = await createHybridPolicy({ learner, rollout: await createOnnxPolicy({ model }) });
const executor = createJavaScriptExecutor({ workers: 1 });

const trainer = createSelfPlayTrainer({
  policy,
  executor,
  modes: [shortDeduction, createAbductionMode()],
  // Built-in modes start from the zero triplet; a custom mode brings its own seed tasks.
  seeds: [rename(zeroTriplet('deduction', 'javascript'), 'short-deduction')],
  settings: { seed: 1, batchSize: 2, learnabilityRollouts: 2, sampling: { maxTokens: 32 } },
});
await trainer.run({
  steps: Number(process.argv[2] ?? 2),
  onStep: (result) => {
    const groups = result.groups.map(
      (group) =>
        `${group.mode}/${group.role}: ${group.count} sequences, mean reward ${group.meanReward?.toFixed(2) ?? '-'}`,
    );
    console.log(`step ${result.step}: ${groups.join('; ')}`);
  },
});
console.log(`buffers: ${[...trainer.buffers].map(([mode, buffer]) => `${mode} ${buffer.size}`).join(', ')}`);
await policy.doDispose();
await executor.close();

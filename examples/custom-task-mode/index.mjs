// Task modes of your own plugged into the self-play trainer next to the paper's: `verification` (a mode written
// from scratch, in verification.mjs) and `short-deduction` (deduction with a rule of its own, in
// short-deduction.mjs). A new mode is one file and one entry in the list of modes below.
import { createHybridPolicy, initializeLlamaWeights, parseLlamaConfig } from '@azr/backends';
import { createOnnxPolicy } from '@azr/backends/onnx';
import { createTfjsPolicy } from '@azr/backends/tfjs';
import {
  createByteTokenizer,
  createPaperTaskModes,
  createSelfPlayTrainer,
  DEFAULT_ANSWER_FORMAT,
  TaskBuffer,
} from '@azr/core';
import { createJavaScriptExecutor } from '@azr/executor';
import { createShortDeductionMode } from './short-deduction.mjs';
import { createVerificationMode } from './verification.mjs';

const verification = createVerificationMode();
const modes = [...createPaperTaskModes(), createShortDeductionMode(), verification];
const executor = createJavaScriptExecutor({ workers: 1 });

// What the sandbox makes of a verification proposal, and how answers to it are judged.
const proposal = verification.parseProposal(
  '<think>x</think><answer>\n```javascript\nfunction f(n) { return n * n; }\n```\n```input\n3\n```\n```claim\n6\n```\n</answer>',
  { language: 'javascript', references: [], bannedWords: [], format: DEFAULT_ANSWER_FORMAT },
);
const made = await verification.validateProposal(proposal.value, executor, {
  language: 'javascript',
  step: 0,
});
const answer = verification.parseAnswer('<think>9, not 6</think><answer>no</answer>', made.task, {
  format: DEFAULT_ANSWER_FORMAT,
});
const verdict = await verification.checkAnswer(made.task, answer.value, executor);
console.log(`verification task: f(${made.task.input}) claimed ${made.task.claim}, holds ${made.task.holds}`);
console.log(`answer "no": ${verdict.correct ? 'correct' : 'wrong'}`);

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

const trainer = createSelfPlayTrainer({
  policy,
  executor,
  modes,
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
// Buffers are JSONL; each line is read back through the mode its `mode` names, which checks its own fields.
const stored = trainer.buffers.get('verification').toJsonl();
console.log(`verification buffer read back: ${TaskBuffer.parseJsonl(stored, modes).length} tasks`);
await policy.doDispose();
await executor.close();

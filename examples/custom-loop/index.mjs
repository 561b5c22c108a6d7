// A training loop composed by hand from the packages: a real model (trained on TensorFlow.js, generating on
// onnxruntime), the real JavaScript sandbox, the deduction task mode, the solver reward and TRR++ advantages.
// It trains only the solver, on deduction tasks of its own buffer; `azr train` runs the full loop.
import { createHybridPolicy, initializeLlamaWeights, parseLlamaConfig } from '@azr/backends';
import { createOnnxPolicy } from '@azr/backends/onnx';
import { createTfjsPolicy } from '@azr/backends/tfjs';
import {
  createByteTokenizer,
  createDeductionMode,
  createSeededRandom,
  createSolverReward,
  createTrrAdvantageEstimator,
  DEFAULT_ANSWER_FORMAT,
  TaskBuffer,
  taskId,
  zeroTriplet,
} from '@azr/core';
import { createJavaScriptExecutor } from '@azr/executor';

const steps = Number(process.argv[2] ?? 3);

// A small Llama-family model from random weights, on the byte tokenizer.
const config = parseLlamaConfig({
  model_type: 'llama',
  vocab_size: 257,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 2048,
  tie_word_embeddings: true,
  eos_token_id: 256,
});
const model = {
  config,
  weights: initializeLlamaWeights(config, { seed: 1 }),
  tokenizer: createByteTokenizer(),
};
const learner = await createTfjsPolicy({ model, optimizer: { learningRate: 1e-3 } });
const rollout = await createOnnxPolicy({ model });
const policy = await createHybridPolicy({ learner, rollout });
const executor = createJavaScriptExecutor({ workers: 1 });

// The buffer: the zero triplet and a few deduction tasks, their outputs computed by the sandbox.
const mode = createDeductionMode();
const buffer = new TaskBuffer('deduction');
buffer.add(zeroTriplet('deduction', 'javascript'));
for (const [program, input] of [
  ['function f(a) {\n  return a * 2 + 1;\n}', '3'],
  ['function f(s) {\n  return s.split("").reverse().join("");\n}', '"abc"'],
  ['function f(xs) {\n  return xs.filter((x) => x % 2 === 0).length;\n}', '[1, 2, 3, 4]'],
]) {
  const result = await executor.run({ code: program, entry: 'f', args: input });
  if (!result.ok) throw new Error(result.error.message);
  const content = {
    mode: 'deduction',
    language: 'javascript',
    program,
    entry: 'f',
    input,
    output: result.value,
  };
  buffer.add({ ...content, id: taskId(content), step: 0 });
}

const random = createSeededRandom(0);
const reward = createSolverReward();
const estimator = createTrrAdvantageEstimator();
const format = DEFAULT_ANSWER_FORMAT;
for (let step = 1; step <= steps; step += 1) {
  const batch = buffer.sample(4, random);
  const { completions } = await policy.doGenerate({
    prompts: batch.map((task) => mode.buildSolvePrompt(task, { format })),
    seed: step,
    temperature: 1,
    topP: 1,
    maxTokens: 48,
  });
  const outcomes = await Promise.all(
    completions.map(async (completion, index) => {
      const answer = mode.parseAnswer(completion.text, batch[index], { format });
      const correct = answer.ok && (await mode.checkAnswer(batch[index], answer.value, executor)).correct;
      return { wellFormed: answer.wellFormed, correct };
    }),
  );
  const rewards = reward(outcomes);
  const advantages = estimator.compute(
    rewards.map((value, index) => ({
      group: { mode: 'deduction', role: 'solve' },
      promptId: batch[index].id,
      reward: value,
      tokenCount: completions[index].tokenIds.length,
    })),
  );
  const update = await policy.doTrainStep({
    temperature: 1,
    loss: { clipRatio: 0.2, entropyCoefficient: 0 },
    sequences: completions.map((completion, index) => ({
      promptTokenIds: completion.promptTokenIds,
      completionTokenIds: completion.tokenIds,
      oldLogProbs: completion.logProbs,
      advantages: completion.tokenIds.map(() => advantages[index]),
    })),
  });
  const solved = outcomes.filter((outcome) => outcome.correct).length;
  console.log(
    `step ${step}: solved ${solved}/${batch.length}, mean reward ${(rewards.reduce((a, b) => a + b, 0) / rewards.length).toFixed(2)}, loss ${update.loss.toFixed(4)}, weights synced in ${policy.lastWeightSyncMs.toFixed(0)} ms`,
  );
}
await policy.doDispose();
await executor.close();

#!/usr/bin/env node
// The solver alone: can the tiny preset learn mini deduction by reinforcement learning at all, given tasks
// drawn uniformly at random instead of proposed? No proposer, no other mode: each step samples `--batch`
// deduction tasks with 0 to `--operators` operators (`sampleMiniExpression`, a random input digit), draws
// `--group` answers for each under the grammar constraint, rewards the right digit (computed by
// `evaluateMiniExpression`, which the tests hold equal to the executor), and updates with PPO-clip on GRPO
// advantages (each task's answers against each other; groups with equal rewards are skipped). Every 50 steps
// it prints the training solve rate and the greedy accuracy on 200 fixed tasks, by operator count.
// `--sft` instead trains on the right answers (for comparison: what the model could learn with labels).
// It separates the two questions a self-play run mixes: whether the model and the update can learn the
// language, and whether self-play feeds them tasks they can learn from. Results: BENCHMARKS.md, "What was tried".
// Usage: node packages/cli/bench/solver-alone.mjs [--steps 1000] [--lr 2e-4] [--operators 1] [--batch 16]
//        [--group 8] [--seed 0] [--sft]   (after `npx turbo run build`; one thread; about 3 minutes per 1000 steps)
import { parseArgs } from 'node:util';
import { createOnnxPolicy } from '@azr/backends/onnx';
import {
  createMiniTaskModes,
  createSeededRandom,
  evaluateMiniExpression,
  sampleMiniExpression,
} from '@azr/core';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    lr: { type: 'string', default: '2e-4' },
    operators: { type: 'string', default: '1' },
    batch: { type: 'string', default: '16' },
    group: { type: 'string', default: '8' },
    seed: { type: 'string', default: '0' },
    sft: { type: 'boolean', default: false },
  },
});
const [steps, learningRate, maxOperators, batch, group, seed] = [
  values.steps,
  values.lr,
  values.operators,
  values.batch,
  values.group,
  values.seed,
].map(Number);
const loss = { clipRatio: 0.2, entropyCoefficient: 0 };

const policy = await createOnnxPolicy({
  model: { preset: 'tiny', seed },
  optimizer: { learningRate },
  intraOpThreads: 1,
});
const [deduction] = createMiniTaskModes();
const constraint = deduction.constraint('solve', policy.tokenizer);
const random = createSeededRandom(seed + 17);
const drawTask = (source) => {
  const operators = source.nextInt(0, maxOperators);
  const expression = sampleMiniExpression(source, operators);
  const input = source.nextInt(0, 9);
  return { expression, input, operators, output: evaluateMiniExpression(expression, input) };
};
const prompt = (task) => `#DS\nf(x)=${task.expression}\nf(${task.input})=`;
const evaluationRandom = createSeededRandom(999);
const evaluationTasks = Array.from({ length: 200 }, () => drawTask(evaluationRandom));
const generation = { maxTokens: 2, temperature: 1, topP: 1, constraint, stop: ['\n'] };

async function greedyAccuracy() {
  const { completions } = await policy.doGenerate({
    ...generation,
    prompts: evaluationTasks.map(prompt),
    seed: 1,
    greedy: true,
  });
  const byOperators = new Map();
  completions.forEach((completion, index) => {
    const task = evaluationTasks[index];
    const [right, total] = byOperators.get(task.operators) ?? [0, 0];
    byOperators.set(task.operators, [
      right + (completion.text.trim() === String(task.output) ? 1 : 0),
      total + 1,
    ]);
  });
  return [...byOperators]
    .sort(([first], [second]) => first - second)
    .map(([operators, [right, total]]) => `${operators} operators ${((100 * right) / total).toFixed(1)}%`)
    .join(', ');
}

const mean = (numbers) => numbers.reduce((total, value) => total + value, 0) / numbers.length;
process.stdout.write(
  `${values.sft ? 'supervised' : 'RL'}: lr ${learningRate}, 0-${maxOperators} operators, ${batch} tasks x ${group} answers a step, seed ${seed}\n`,
);
process.stdout.write(`step 0: greedy ${await greedyAccuracy()}\n`);
const started = Date.now();
let window = [];
for (let step = 1; step <= steps; step += 1) {
  const tasks = Array.from({ length: batch }, () => drawTask(random));
  if (values.sft) {
    // The right answer as the completion, weighted 1: PPO-clip on it is a clipped likelihood step.
    const labelled = tasks.map((task) => ({
      promptTokenIds: policy.tokenizer.encode(prompt(task)),
      completionTokenIds: policy.tokenizer.encode(String(task.output)),
    }));
    const { logProbs } = await policy.doComputeLogProbs({ sequences: labelled, temperature: 1 });
    window.push(mean(logProbs.map((each) => Math.exp(each[0]))));
    await policy.doTrainStep({
      sequences: labelled.map((sequence, index) => ({
        ...sequence,
        oldLogProbs: logProbs[index],
        advantages: sequence.completionTokenIds.map(() => 1),
      })),
      temperature: 1,
      loss,
    });
  } else {
    const prompts = tasks.flatMap((task) => Array.from({ length: group }, () => prompt(task)));
    const { completions } = await policy.doGenerate({ ...generation, prompts, seed: seed * 100000 + step });
    const rewards = completions.map((completion, index) =>
      completion.text.trim() === String(tasks[Math.floor(index / group)].output) ? 1 : 0,
    );
    window.push(mean(rewards));
    const advantages = rewards.map((reward, index) => {
      const members = rewards.slice(
        Math.floor(index / group) * group,
        Math.floor(index / group) * group + group,
      );
      const average = mean(members);
      const deviation = Math.sqrt(mean(members.map((value) => (value - average) ** 2)));
      return deviation > 0 ? (reward - average) / (deviation + 1e-6) : 0;
    });
    const sequences = completions
      .map((completion, index) => ({
        promptTokenIds: completion.promptTokenIds,
        completionTokenIds: completion.tokenIds,
        oldLogProbs: completion.logProbs,
        advantages: completion.tokenIds.map(() => advantages[index]),
      }))
      .filter((sequence) => sequence.completionTokenIds.length > 0 && sequence.advantages[0] !== 0);
    if (sequences.length > 0) await policy.doTrainStep({ sequences, temperature: 1, loss });
  }
  if (step % 50 === 0) {
    process.stdout.write(
      `step ${step} (${((Date.now() - started) / 1000).toFixed(0)} s): ${values.sft ? 'p(right answer)' : 'training solve rate'} ${(100 * mean(window)).toFixed(1)}%, greedy ${await greedyAccuracy()}\n`,
    );
    window = [];
  }
}
await policy.doDispose();

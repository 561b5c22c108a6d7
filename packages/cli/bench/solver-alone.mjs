#!/usr/bin/env node
// The solver alone: can the tiny preset learn a mini task mode by reinforcement learning at all, given tasks
// drawn uniformly at random instead of proposed? No proposer, no other mode: each step samples `--batch` tasks
// with up to `--operators` operators (`sampleMiniExpression`), draws `--group` answers for each under the
// grammar constraint, rewards the right ones (computed by `evaluateMiniExpression`, which the tests hold equal
// to the executor), and updates with PPO-clip on GRPO advantages (each task's answers against each other;
// groups with equal rewards are skipped). Every `--every` steps (50) it prints the training solve rate and the
// greedy accuracy on 200 fixed tasks, by operator count.
// - `--mode deduction` (the default): a program and a random input digit; the answer is the output digit.
// - `--mode induction`: a program of 1 to `--operators` (at most 3) operators and 6 different input digits, 3
//   pairs shown (the mini induction prompt), drawn again until the shown outputs differ; the answer is an
//   expression that reads `x` (`inductionReadsInput`), right when it gives the 3 hidden outputs (as the induction
//   mode checks it). Also scored greedily on the 45 induction tasks of the bundled held-out suite
//   (`suites/mini-javascript.jsonl`), the tasks the learning bench scores; a drawn task that shows the pairs of
//   one of them is drawn again (the rule of `inductionHeldOut: 'task'`: their functions, on other inputs, are
//   trained on).
// `--sft` instead trains on the right answers (for comparison: what the model could learn with labels; for
// induction, the drawn program itself, ended as the decoder ends it).
// It separates the two questions a self-play run mixes: whether the model and the update can learn the
// language, and whether self-play feeds them tasks they can learn from. Results: BENCHMARKS.md, "What was tried".
// Usage: node packages/cli/bench/solver-alone.mjs [--mode deduction] [--steps 1000] [--lr 2e-4] [--operators 1]
//        [--batch 16] [--group 8] [--seed 0] [--threads 1] [--every 50] [--sft]
//        (after `npx turbo run build`; deduction on one thread: about 3 minutes per 1000 steps)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createOnnxPolicy } from '@azr/backends/onnx';
import {
  createMiniTaskModes,
  createSeededRandom,
  evaluateMiniExpression,
  isMiniExpression,
  miniExpression,
  sampleMiniExpression,
  sampleMiniInputList,
} from '@azr/core';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    lr: { type: 'string', default: '2e-4' },
    operators: { type: 'string', default: '1' },
    batch: { type: 'string', default: '16' },
    group: { type: 'string', default: '8' },
    seed: { type: 'string', default: '0' },
    threads: { type: 'string', default: '1' },
    every: { type: 'string', default: '50' },
    mode: { type: 'string', default: 'deduction' },
    sft: { type: 'boolean', default: false },
  },
});
const [steps, learningRate, maxOperators, batch, group, seed, threads, every] = [
  values.steps,
  values.lr,
  values.operators,
  values.batch,
  values.group,
  values.seed,
  values.threads,
  values.every,
].map(Number);
if (values.mode !== 'deduction' && values.mode !== 'induction')
  throw new Error(`--mode must be deduction or induction, not ${values.mode}`);
const inducing = values.mode === 'induction';
for (const [name, value, minimum] of [
  ['steps', steps, 0],
  ['operators', maxOperators, inducing ? 1 : 0],
  ['batch', batch, 1],
  ['group', group, 1],
  ['seed', seed, 0],
  ['threads', threads, 1],
  ['every', every, 1],
])
  if (!Number.isInteger(value) || value < minimum)
    throw new Error(`--${name} must be an integer of at least ${minimum}`);
// The grammar's longest expression has four operands.
if (maxOperators > 3) throw new Error("--operators must be at most 3, the mini grammar's longest expression");
if (!(learningRate > 0)) throw new Error('--lr must be a positive number');
const loss = { clipRatio: 0.2, entropyCoefficient: 0 };

const policy = await createOnnxPolicy({
  model: { preset: 'tiny', seed },
  optimizer: { learningRate },
  intraOpThreads: threads,
});
const [deduction, , induction] = createMiniTaskModes({ inductionReadsInput: true });
const mode = inducing ? induction : deduction;
const constraint = mode.constraint('solve', policy.tokenizer);
const random = createSeededRandom(seed + 17);
const SHOWN = 3;
/** An induction task as the mini induction mode's prompt reads it. */
const inductionTask = (expression, pairs, operators, shownCount = SHOWN) => ({
  expression,
  operators,
  pairs,
  shownCount,
  language: 'javascript',
});
/** The pairs a task shows, in any order: the key of `inductionHeldOut: 'task'`. */
const shownKey = (task) =>
  task.pairs
    .slice(0, task.shownCount)
    .map((pair) => `${pair.input}>${pair.output}`)
    .sort()
    .join(',');
// The held-out suite's induction tasks (their difficulty is their program's operator count).
const suiteTasks = inducing
  ? readFileSync(new URL('../suites/mini-javascript.jsonl', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line))
      .filter((task) => task.mode === 'induction')
      .map((task) =>
        inductionTask(
          miniExpression(task.code),
          task.inputs.map((input, index) => ({ input, output: task.outputs[index] })),
          task.difficulty,
          task.shownCount,
        ),
      )
  : [];
const heldOut = new Set(suiteTasks.map(shownKey));
const drawTask = (source) => {
  // Induction draws at least one operator: without one, the only program whose shown outputs differ is `x`.
  const operators = source.nextInt(inducing ? 1 : 0, maxOperators);
  if (!inducing) {
    const expression = sampleMiniExpression(source, operators);
    const input = source.nextInt(0, 9);
    return { expression, input, operators, output: evaluateMiniExpression(expression, input) };
  }
  for (;;) {
    const expression = sampleMiniExpression(source, operators);
    const pairs = sampleMiniInputList(source, 6)
      .split(',')
      .map((input) => ({ input, output: String(evaluateMiniExpression(expression, Number(input))) }));
    const task = inductionTask(expression, pairs, operators);
    if (new Set(pairs.slice(0, SHOWN).map((pair) => pair.output)).size > 1 && !heldOut.has(shownKey(task)))
      return task;
  }
};
const prompt = (task) =>
  inducing
    ? induction.buildSolvePrompt(task, { format: { reasoningTag: 'think', answerTag: 'answer' } })
    : `#DS\nf(x)=${task.expression}\nf(${task.input})=`;
/**
 * Whether a completion answers the task: the output digit, or an expression that gives the hidden pairs (the
 * induction mode's check).
 */
const right = (task, text) => {
  const answer = text.trim();
  if (!inducing) return answer === String(task.output);
  return (
    isMiniExpression(answer) &&
    task.pairs
      .slice(task.shownCount)
      .every((pair) => String(evaluateMiniExpression(answer, Number(pair.input))) === pair.output)
  );
};
/**
 * The labelled completion of `--sft`: the output digit, or the program and the end of the sequence, as the
 * decoder records it (no end-of-sequence token after a word that the constraint ends: three operators).
 */
const label = (task) => {
  if (!inducing) return policy.tokenizer.encode(String(task.output));
  const tokens = policy.tokenizer.encode(task.expression);
  let state = constraint.initialState(prompt(task));
  for (const token of tokens) state = constraint.advance(state, token);
  const ended = constraint.isComplete(state) && constraint.allowedTokenIds(state)?.length === 0;
  return ended ? tokens : [...tokens, policy.tokenizer.endOfSequenceTokenId];
};
const evaluationRandom = createSeededRandom(999);
const evaluationTasks = Array.from({ length: 200 }, () => drawTask(evaluationRandom));
const generation = inducing
  ? { maxTokens: 32, temperature: 1, topP: 1, constraint }
  : { maxTokens: 2, temperature: 1, topP: 1, constraint, stop: ['\n'] };

async function greedyScores(tasks) {
  const { completions } = await policy.doGenerate({
    ...generation,
    prompts: tasks.map(prompt),
    seed: 1,
    greedy: true,
  });
  const byOperators = new Map();
  completions.forEach((completion, index) => {
    const task = tasks[index];
    const [hits, total] = byOperators.get(task.operators) ?? [0, 0];
    byOperators.set(task.operators, [hits + (right(task, completion.text) ? 1 : 0), total + 1]);
  });
  const all = [...byOperators.values()].reduce(
    ([hits, total], [more, count]) => [hits + more, total + count],
    [0, 0],
  );
  return `${[...byOperators]
    .sort(([first], [second]) => first - second)
    .map(([operators, [hits, total]]) => `${operators} operators ${((100 * hits) / total).toFixed(1)}%`)
    .join(', ')} (all ${((100 * all[0]) / all[1]).toFixed(1)}%)`;
}

async function greedyAccuracy() {
  const drawn = await greedyScores(evaluationTasks);
  return inducing ? `${drawn}; held-out suite ${await greedyScores(suiteTasks)}` : drawn;
}

const mean = (numbers) => numbers.reduce((total, value) => total + value, 0) / numbers.length;
process.stdout.write(
  `${values.mode}, ${values.sft ? 'supervised' : 'RL'}: lr ${learningRate}, ${inducing ? 1 : 0}-${maxOperators} operators, ${batch} tasks x ${values.sft ? 1 : group} answers a step, seed ${seed}, ${threads} thread(s)\n`,
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
      completionTokenIds: label(task),
    }));
    const { logProbs } = await policy.doComputeLogProbs({ sequences: labelled, temperature: 1 });
    window.push(mean(logProbs.map((each) => Math.exp(each.reduce((total, value) => total + value, 0)))));
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
      right(tasks[Math.floor(index / group)], completion.text) ? 1 : 0,
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
  if (step % every === 0) {
    process.stdout.write(
      `step ${step} (${((Date.now() - started) / 1000).toFixed(0)} s): ${values.sft ? 'p(right answer)' : 'training solve rate'} ${(100 * mean(window)).toFixed(1)}%, greedy ${await greedyAccuracy()}\n`,
    );
    window = [];
  }
}
await policy.doDispose();

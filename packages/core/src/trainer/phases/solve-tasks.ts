import type { TaskBase } from '../../spec/task.js';
import type { AnswerVerdict, TaskModeV1 } from '../../spec/task-mode.js';
import { constrainedBy, nextSeed, type SolveRollout, type TrainerRuntime } from '../runtime.js';

/**
 * Generates one solver completion per task (held to the mode's solve constraint) and judges each through the
 * mode's parser and the executor. Returns them as solve rollouts, with rewards and advantages still to set.
 * Equal answers to one task are judged once: a task's program is deterministic (validation checks it), and
 * the rollouts of a task often repeat an answer (16 digits drawn for one deduction task hold a few distinct
 * ones), so most executor calls would repeat one already made.
 */
export async function solveTasks(
  runtime: TrainerRuntime,
  mode: TaskModeV1<TaskBase, unknown, unknown>,
  tasks: readonly TaskBase[],
  promptId: (index: number) => string,
  step: number,
): Promise<SolveRollout[]> {
  const { settings } = runtime;
  const prompts = tasks.map((task) => mode.buildSolvePrompt(task, { format: settings.format }));
  const { completions } = await runtime.policy.doGenerate({
    prompts,
    seed: nextSeed(runtime.random),
    temperature: settings.sampling.temperature,
    topP: settings.sampling.topP,
    maxTokens: settings.sampling.maxTokens,
    ...constrainedBy(runtime.constraintOf(mode, 'solve', step)),
  });
  const verdicts = new Map<string, Promise<AnswerVerdict>>();
  const judge = (task: TaskBase, answer: unknown): Promise<AnswerVerdict> => {
    const key = `${task.id}\u0000${typeof answer === 'string' ? answer : JSON.stringify(answer)}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = mode.checkAnswer(task, answer, runtime.executor);
      verdicts.set(key, verdict);
    }
    return verdict;
  };
  return Promise.all(
    completions.map(async (completion, index): Promise<SolveRollout> => {
      const task = tasks[index] as TaskBase;
      const answer = mode.parseAnswer(completion.text, task, { format: settings.format });
      const verdict = answer.ok ? await judge(task, answer.value) : { correct: false, reason: answer.reason };
      return {
        mode: mode.name,
        role: 'solve',
        promptId: promptId(index),
        prompt: prompts[index] as string,
        completion,
        task,
        wellFormed: answer.wellFormed,
        correct: verdict.correct,
        reason: verdict.reason,
        reward: 0,
        advantage: 0,
      };
    }),
  );
}

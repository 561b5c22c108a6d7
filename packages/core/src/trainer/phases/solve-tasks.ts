import type { TaskBase } from '../../spec/task.js';
import type { TaskModeV1 } from '../../spec/task-mode.js';
import { constrainedBy, nextSeed, type SolveRollout, type TrainerRuntime } from '../runtime.js';

/**
 * Generates one solver completion per task (held to the mode's solve constraint) and judges each through the
 * mode's parser and the executor. Returns them as solve rollouts, with rewards and advantages still to set.
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
  return Promise.all(
    completions.map(async (completion, index): Promise<SolveRollout> => {
      const task = tasks[index] as TaskBase;
      const answer = mode.parseAnswer(completion.text, task, { format: settings.format });
      const verdict = answer.ok
        ? await mode.checkAnswer(task, answer.value, runtime.executor)
        : { correct: false, reason: answer.reason };
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

import type { TaskBase } from '../../spec/task.js';
import { constrainedBy, nextSeed, type SolveRollout, type TrainerRuntime } from '../runtime.js';

/**
 * Phase 4: every mode solves `batchSize` tasks from its buffer, newest first (the reference's `max_new`:
 * tasks added this step, then a uniform sample of the rest), one rollout each.
 */
export async function solve(runtime: TrainerRuntime, step: number): Promise<SolveRollout[]> {
  const { settings } = runtime;
  const rollouts: SolveRollout[] = [];
  for (const mode of runtime.modes) {
    const buffer = runtime.buffers.get(mode.name);
    if (buffer === undefined || buffer.size === 0) continue;
    const newest = buffer.since(step).slice(0, settings.batchSize);
    const chosen = new Set(newest.map((task) => task.id));
    const rest = buffer.sample(buffer.size, runtime.random).filter((task) => !chosen.has(task.id));
    const tasks: TaskBase[] = [...newest, ...rest].slice(0, settings.batchSize);
    const prompts = tasks.map((task) => mode.buildSolvePrompt(task, { format: settings.format }));
    const { completions } = await runtime.policy.doGenerate({
      prompts,
      seed: nextSeed(runtime.random),
      temperature: settings.sampling.temperature,
      topP: settings.sampling.topP,
      maxTokens: settings.sampling.maxTokens,
      ...constrainedBy(runtime.constraintOf(mode, 'solve')),
    });
    const verdicts = await Promise.all(
      completions.map(async (completion, index) => {
        const task = tasks[index] as TaskBase;
        const answer = mode.parseAnswer(completion.text, task, { format: settings.format });
        if (!answer.ok) return { wellFormed: answer.wellFormed, correct: false, reason: answer.reason };
        const verdict = await mode.checkAnswer(task, answer.value, runtime.executor);
        return { wellFormed: answer.wellFormed, correct: verdict.correct, reason: verdict.reason };
      }),
    );
    completions.forEach((completion, index) => {
      const verdict = verdicts[index] as {
        wellFormed: boolean;
        correct: boolean;
        reason: string | undefined;
      };
      rollouts.push({
        mode: mode.name,
        role: 'solve',
        promptId: `${step}:${mode.name}:solve:${index}`,
        prompt: prompts[index] as string,
        completion,
        task: tasks[index] as TaskBase,
        wellFormed: verdict.wellFormed,
        correct: verdict.correct,
        reason: verdict.reason,
        reward: 0,
        advantage: 0,
      });
    });
  }
  return rollouts;
}

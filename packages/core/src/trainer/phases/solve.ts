import type { TaskBase } from '../../spec/task.js';
import type { SolveRollout, TrainerRuntime } from '../runtime.js';
import { solveTasks } from './solve-tasks.js';

/**
 * Phase 4: every mode solves `batchSize` tasks from its buffer, newest first (the reference's `max_new`:
 * tasks added this step, then a uniform sample of the rest), `solveRollouts` rollouts each (one group per task).
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
    const count = settings.solveRollouts;
    const repeated = tasks.flatMap((task) => Array.from({ length: count }, () => task));
    rollouts.push(
      ...(await solveTasks(
        runtime,
        mode,
        repeated,
        (index) => `${step}:${mode.name}:solve:${Math.floor(index / count)}`,
        step,
      )),
    );
  }
  return rollouts;
}

import type { TaskModeName } from '../spec/task.js';
import type { SeedingEvent } from '../spec/trainer-event.js';
import { propose } from './phases/propose.js';
import { admit, validate } from './phases/validate.js';
import type { StepRuntime } from './step.js';

/** How a seeding stage ended. */
export type SeedingOutcome = 'reached' | 'exhausted' | 'interrupted';

/**
 * The seeding stage (the reference's): round after round, every mode whose buffer holds fewer than
 * `seeding.tasks` tasks proposes `batchSize` tasks from its references, which are validated and admitted as
 * seeds (step 0); nothing is rewarded or trained. It ends when every buffer is full enough, or after
 * `seeding.maxRounds` rounds (a policy that writes nothing valid, such as one with random weights, never
 * loops forever: the run goes on from what the buffers hold), or when `signal` aborts.
 */
export async function runSeeding(runtime: StepRuntime, signal?: AbortSignal): Promise<SeedingOutcome> {
  const { settings, buffers } = runtime;
  const { tasks: target, maxRounds } = settings.seeding;
  const sizes = (): Record<TaskModeName, number> =>
    Object.fromEntries(runtime.modes.map((mode) => [mode.name, buffers.get(mode.name)?.size ?? 0]));
  for (let round = 1; round <= maxRounds; round += 1) {
    if (signal?.aborted) return 'interrupted';
    const start = runtime.now();
    const short = runtime.modes.filter((mode) => (buffers.get(mode.name)?.size ?? 0) < target);
    if (short.length > 0) {
      const modes = short;
      const proposals = await propose({ ...runtime, modes, pools: buffers, settings }, 0);
      const validated = await validate(
        { modes, executor: runtime.executor, language: settings.language },
        0,
        proposals,
      );
      admit({ modes, buffers, rejectDuplicates: settings.rejectDuplicates }, validated);
    }
    const tasks = sizes();
    const reached = Object.values(tasks).every((size) => size >= target);
    const event: SeedingEvent = {
      type: 'seeding',
      round,
      tasks,
      target,
      done: reached || round === maxRounds,
      reached,
      durationMs: runtime.now() - start,
    };
    await runtime.emit(event);
    if (reached) return 'reached';
  }
  return 'exhausted';
}

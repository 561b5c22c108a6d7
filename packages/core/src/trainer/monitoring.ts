import type { MonitorV1 } from '../spec/monitor.js';
import type { TrainerEvent } from '../spec/trainer-event.js';
import type { Generation } from './rollouts.js';

/** Runs every monitor over the step's completions and emits a `monitor-flag` event for each flag. */
export async function inspectCompletions(
  monitors: readonly MonitorV1[],
  step: number,
  generations: readonly Generation[],
  emit: (event: TrainerEvent) => Promise<void>,
): Promise<void> {
  for (const generation of generations) {
    for (const monitor of monitors) {
      const { mode, role } = generation;
      for (const flag of monitor.inspect({ step, mode, role, text: generation.completion.text })) {
        await emit({ type: 'monitor-flag', step, mode, role, flag });
      }
    }
  }
}

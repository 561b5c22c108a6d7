import type { MetricsSinkV1 } from '../spec/metrics-sink.js';
import type { GroupStatistics, TrainerEvent } from '../spec/trainer-event.js';

function percent(value: number | undefined): string {
  return value === undefined ? '  -' : `${Math.round(value * 100)}%`.padStart(4);
}

function describeGroups(groups: readonly GroupStatistics[]): string {
  return groups
    .filter((group) => group.count > 0)
    .map((group) =>
      group.role === 'propose'
        ? `${group.mode} propose valid ${percent(group.validRate)}`
        : `${group.mode} solve ${percent(group.solveRate)}`,
    )
    .join(' | ');
}

/** Prints one plain line per step (and a line at start, checkpoints and end) through `print`. */
export function createConsoleMetricsSink(
  print: (line: string) => void = (line) => console.log(line),
): MetricsSinkV1 {
  return {
    specificationVersion: 'v1',
    sinkId: 'console',
    write(event: TrainerEvent): void {
      switch (event.type) {
        case 'run-start':
          print(`${event.resumed ? 'resuming' : 'starting'} run ${event.runId} at step ${event.step}`);
          return;
        case 'step-end':
          print(
            `step ${event.step}: ${describeGroups(event.groups)} | loss ${event.loss?.toFixed(4) ?? '-'} | ` +
              `${Math.round(event.tokensPerSecond)} tok/s | ${(event.durationMs / 1000).toFixed(1)} s`,
          );
          return;
        case 'checkpoint':
          print(`checkpoint at step ${event.step}: ${event.directory}`);
          return;
        case 'monitor-flag':
          print(
            `flagged (${event.flag.category}) in ${event.mode} ${event.role} at step ${event.step}: ${event.flag.excerpt}`,
          );
          return;
        case 'run-end':
          print(`run ended at step ${event.step}: ${event.reason}`);
          return;
        default:
          return;
      }
    },
  };
}

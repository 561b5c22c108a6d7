import type { GroupStatistics, MetricsSinkV1, StepEndEvent, TrainerEvent } from '@azr/core';

/** Where progress goes: a terminal gets a live status line, anything else one plain line per step. */
export interface ProgressOutput {
  readonly write: (text: string) => void;
  readonly isTerminal: boolean;
}

/**
 * How the step line names modes: by their initials (`d a i` for the paper's), or by their names when two
 * initials would be the same.
 */
function modeLabels(modes: readonly string[]): (mode: string) => string {
  const initials = new Set(modes.map((mode) => mode[0]));
  return initials.size === new Set(modes).size ? (mode) => mode[0] ?? mode : (mode) => mode;
}

function percent(value: number | undefined): string {
  return value === undefined ? '  -' : `${Math.round(value * 100)}%`.padStart(3);
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

function mean(values: readonly (number | undefined)[]): number | undefined {
  const present = values.filter((value): value is number => value !== undefined);
  return present.length === 0
    ? undefined
    : present.reduce((total, value) => total + value, 0) / present.length;
}

/** The line printed for a finished step. */
export function formatStepLine(event: StepEndEvent, targetStep: number, etaMs: number | undefined): string {
  const byRole = (role: GroupStatistics['role']) => event.groups.filter((group) => group.role === role);
  const label = modeLabels(event.groups.map((group) => group.mode));
  const rates = (role: GroupStatistics['role'], pick: (group: GroupStatistics) => number | undefined) =>
    byRole(role)
      .map((group) => `${label(group.mode)} ${percent(pick(group))}`)
      .join(' ');
  const reward = (role: GroupStatistics['role']) => {
    const value = mean(byRole(role).map((group) => group.meanReward));
    return value === undefined ? '-' : value.toFixed(2);
  };
  const width = String(targetStep).length;
  return [
    `step ${String(event.step).padStart(width)}/${targetStep}`,
    `valid ${rates('propose', (group) => group.validRate)}`,
    `solve ${rates('solve', (group) => group.solveRate)}`,
    `reward propose ${reward('propose')} solve ${reward('solve')}`,
    `${Math.round(event.tokensPerSecond).toLocaleString('en-US')} tok/s`,
    `${(event.durationMs / 1000).toFixed(1)}s/step`,
    etaMs === undefined ? '' : `ETA ${duration(etaMs)}`,
  ]
    .filter((part) => part !== '')
    .join('  ');
}

/**
 * A metrics sink that shows training progress: per finished step, the valid-proposal and solve rates of each
 * mode (by initial: d, a, i for the paper's), the mean rewards of both roles, tokens/s, the step time and the ETA. On a terminal a status
 * line also shows the phase under way, rewritten in place.
 */
export function createProgressSink(output: ProgressOutput, targetStep: number): MetricsSinkV1 {
  const stepDurations: number[] = [];
  let statusShown = false;
  let stepStarted = Date.now();
  const clearStatus = () => {
    if (statusShown) output.write('\r\u001b[2K');
    statusShown = false;
  };
  return {
    specificationVersion: 'v1',
    sinkId: 'progress',
    write(event: TrainerEvent) {
      switch (event.type) {
        case 'run-start':
          output.write(
            `${event.resumed ? 'resuming' : 'starting'} run ${event.runId} at step ${event.step}, until step ${targetStep}\n`,
          );
          stepStarted = Date.now();
          break;
        case 'phase-end':
          if (output.isTerminal) {
            clearStatus();
            output.write(
              `step ${event.step}/${targetStep}: ${event.phase} done, ${duration(Date.now() - stepStarted)} into the step`,
            );
            statusShown = true;
          }
          break;
        case 'step-end': {
          clearStatus();
          stepDurations.push(event.durationMs);
          const recent = stepDurations.slice(-5);
          const perStep = recent.reduce((total, value) => total + value, 0) / recent.length;
          output.write(`${formatStepLine(event, targetStep, (targetStep - event.step) * perStep)}\n`);
          stepStarted = Date.now();
          break;
        }
        case 'checkpoint':
          clearStatus();
          output.write(`checkpoint at step ${event.step} (${duration(event.durationMs)})\n`);
          break;
        case 'seeding': {
          clearStatus();
          const counts = Object.entries(event.tasks)
            .map(([mode, count]) => `${mode} ${count}/${event.target}`)
            .join(', ');
          output.write(`seeding round ${event.round}: ${counts}\n`);
          if (event.done && !event.reached)
            output.write(
              `seeding stopped after ${event.round} rounds short of ${event.target} tasks per mode; training goes on from the tasks the buffers hold\n`,
            );
          break;
        }
        case 'monitor-flag':
          break;
        case 'run-end':
          clearStatus();
          break;
      }
    },
  };
}

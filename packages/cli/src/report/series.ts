import { type MiniCurriculum, miniOperatorLimit, type StepEndEvent, type TrainerEvent } from '@azr/core';
import type { ChartSeries, LineChart } from './charts.js';
import type { RunData } from './run-data.js';

/** The last step-end event of each step (a resumed run may have recorded a step twice before truncation). */
export function stepEvents(events: readonly TrainerEvent[]): StepEndEvent[] {
  const byStep = new Map<number, StepEndEvent>();
  for (const event of events) if (event.type === 'step-end') byStep.set(event.step, event);
  return [...byStep.values()].sort((left, right) => left.step - right.step);
}

/**
 * The task modes a run's metrics name (the groups of its step-end events), in the order they first appear: the
 * built-in modes of a default run, and any custom mode a run trained.
 */
export function reportedModes(events: readonly TrainerEvent[]): string[] {
  const modes = new Set<string>();
  for (const event of events)
    if (event.type === 'step-end') for (const group of event.groups) modes.add(group.mode);
  return [...modes];
}

function groupSeries(
  steps: readonly StepEndEvent[],
  modes: readonly string[],
  role: 'propose' | 'solve',
  pick: (group: StepEndEvent['groups'][number]) => number | undefined,
): ChartSeries[] {
  return modes.map((mode) => ({
    name: mode,
    points: steps.map((event) => {
      const group = event.groups.find((candidate) => candidate.mode === mode && candidate.role === role);
      return [event.step, group === undefined ? undefined : pick(group)] as const;
    }),
  }));
}

/**
 * A trailing moving average over `window` steps (gaps skipped), so that per-step rates measured on a handful of
 * rollouts read as curves.
 */
export function smoothSeries(series: readonly ChartSeries[], window: number): ChartSeries[] {
  if (window <= 1) return [...series];
  return series.map((line) => ({
    name: line.name,
    points: line.points.map(([x], index) => {
      const values = line.points
        .slice(Math.max(0, index - window + 1), index + 1)
        .flatMap(([, y]) => (y === undefined ? [] : [y]));
      return [
        x,
        values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length,
      ] as const;
    }),
  }));
}

/** The mini curriculum a run was configured with, if any. */
function curriculumOf(config: unknown): MiniCurriculum | undefined {
  const tasks = (config as { tasks?: { kind?: string; curriculum?: unknown } } | undefined)?.tasks;
  const curriculum = tasks?.kind === 'mini' ? tasks.curriculum : undefined;
  return curriculum !== null &&
    typeof curriculum === 'object' &&
    typeof (curriculum as MiniCurriculum).startOperators === 'number' &&
    typeof (curriculum as MiniCurriculum).stepsPerOperator === 'number'
    ? (curriculum as MiniCurriculum)
    : undefined;
}

function programOf(task: unknown): string | undefined {
  if (task === null || typeof task !== 'object') return undefined;
  const program = (task as { program?: unknown }).program;
  return typeof program === 'string' ? program : undefined;
}

/**
 * The update's charts, for runs whose step-end events carry its statistics: the share of tokens clipped (and,
 * with approximate rollouts such as int8, truncated), and the gradient norm before clipping.
 */
function updateCharts(
  steps: readonly StepEndEvent[],
  window: number,
  smoothed: string,
  percent: (value: number) => string,
): LineChart[] {
  if (!steps.some((event) => event.update !== undefined)) return [];
  const line = (name: string, pick: (update: NonNullable<StepEndEvent['update']>) => number | undefined) => ({
    name,
    points: steps.map(
      (event) => [event.step, event.update === undefined ? undefined : pick(event.update)] as const,
    ),
  });
  const truncates = steps.some((event) => event.update?.truncatedFraction !== undefined);
  return [
    {
      id: 'update-clipping',
      title: `Policy update: share of tokens whose PPO ratio was clipped${truncates ? ', and whose importance weight was truncated' : ''}${smoothed}`,
      series: smoothSeries(
        [
          line('clipped', (update) => update.clipFraction),
          ...(truncates ? [line('truncated', (update) => update.truncatedFraction)] : []),
        ],
        window,
      ),
      yRange: [0, 1],
      yFormat: percent,
    },
    {
      id: 'update-gradient',
      title: `Policy update: global gradient norm before clipping (the largest of the step's updates)${smoothed}`,
      series: smoothSeries([line('gradient norm', (update) => update.gradientNorm)], window),
    },
  ];
}

/** Builds the charts of a run. */
export function buildCharts(data: RunData): LineChart[] {
  const steps = stepEvents(data.events);
  const modes = reportedModes(data.events);
  const percent = (value: number) => `${Math.round(value * 100)}%`;
  // Long runs are smoothed over about 2% of their steps.
  const window = Math.max(1, Math.round(steps.length / 50));
  const smoothed = window > 1 ? ` (moving average over ${window} steps)` : '';
  const curriculum = curriculumOf(data.config);
  const measuresDifficulty = steps.some((event) =>
    event.groups.some((group) => group.meanDifficulty !== undefined),
  );
  const validProposals = data.samples.filter(
    (sample) => sample.role === 'propose' && sample.verdict === 'valid',
  );
  const stepNumbers = steps.map((event) => event.step);
  const seen = new Set<string>();
  const distinct: [number, number][] = [];
  for (const step of stepNumbers) {
    for (const sample of validProposals)
      if (sample.step === step) {
        const program = programOf(sample.task);
        if (program !== undefined) seen.add(program);
      }
    distinct.push([step, seen.size]);
  }
  const meanProgramLength = (mode: string) =>
    stepNumbers.map((step) => {
      const lengths = validProposals
        .filter((sample) => sample.step === step && sample.mode === mode)
        .map((sample) => programOf(sample.task)?.length)
        .filter((length): length is number => length !== undefined);
      return [
        step,
        lengths.length === 0
          ? undefined
          : lengths.reduce((total, value) => total + value, 0) / lengths.length,
      ] as const;
    });
  // The last record of each step (a resumed run may have evaluated a step twice before truncation).
  const heldOut = [...new Map((data.heldOut ?? []).map((record) => [record.step, record])).values()].sort(
    (left, right) => left.step - right.step,
  );
  const heldOutModes = [...new Set(heldOut.flatMap((record) => Object.keys(record.modes)))];
  return [
    ...(heldOut.length === 0
      ? []
      : [
          {
            id: 'held-out',
            title: 'Held-out suite accuracy per mode (greedy pass@1; step 0 is the untrained model)',
            series: heldOutModes.map((mode) => ({
              name: mode,
              points: heldOut.map((record) => [record.step, record.modes[mode]?.passAtK['1']] as const),
            })),
            yRange: [0, 1] as const,
            yFormat: percent,
          },
        ]),
    {
      id: 'solve-rate',
      title: `Solve rate per mode (solver role)${smoothed}`,
      series: smoothSeries(
        groupSeries(steps, modes, 'solve', (group) => group.solveRate),
        window,
      ),
      yRange: [0, 1],
      yFormat: percent,
    },
    {
      id: 'valid-rate',
      title: `Valid-proposal rate per mode (proposer role)${smoothed}`,
      series: smoothSeries(
        groupSeries(steps, modes, 'propose', (group) => group.validRate),
        window,
      ),
      yRange: [0, 1],
      yFormat: percent,
    },
    {
      id: 'reward',
      title: 'Mean reward per mode and role',
      series: (['propose', 'solve'] as const).flatMap((role) =>
        groupSeries(steps, modes, role, (group) => group.meanReward).map((series) => ({
          ...series,
          name: `${series.name} ${role}`,
        })),
      ),
    },
    {
      id: 'difficulty',
      title: `Task difficulty: solve rate the learnability rollouts measured on valid proposals (lower is harder)${smoothed}`,
      series: smoothSeries(
        groupSeries(steps, modes, 'propose', (group) => group.solveRate),
        window,
      ),
      yRange: [0, 1],
      yFormat: percent,
    },
    ...(measuresDifficulty
      ? [
          {
            id: 'program-size',
            title: `Task difficulty: the modes' size measure of valid proposed programs (operators in the mini language)${smoothed}${curriculum === undefined ? '' : '; the curriculum allows deduction and abduction proposals at most the limit shown'}`,
            series: [
              ...smoothSeries(
                groupSeries(steps, modes, 'propose', (group) => group.meanDifficulty),
                window,
              ),
              ...(curriculum === undefined
                ? []
                : [
                    {
                      name: 'curriculum limit',
                      points: steps.map(
                        (event) => [event.step, miniOperatorLimit(curriculum, event.step)] as const,
                      ),
                    },
                  ]),
            ],
          },
        ]
      : []),
    {
      id: 'program-length',
      title: 'Mean length of valid proposed programs (characters)',
      series: modes.map((mode) => ({ name: mode, points: meanProgramLength(mode) })),
    },
    {
      id: 'diversity',
      title: 'Distinct valid programs proposed so far',
      series: [{ name: 'distinct programs', points: distinct }],
    },
    ...updateCharts(steps, window, smoothed, percent),
    {
      id: 'throughput',
      title: 'Throughput: generated tokens per second',
      series: [
        { name: 'tokens/s', points: steps.map((event) => [event.step, event.tokensPerSecond] as const) },
      ],
    },
    {
      id: 'step-time',
      title: 'Seconds per step',
      series: [
        { name: 'seconds', points: steps.map((event) => [event.step, event.durationMs / 1000] as const) },
      ],
    },
  ];
}

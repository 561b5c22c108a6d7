import type { StepEndEvent, TrainerEvent } from '@azr/core';
import { describe, expect, it } from 'vitest';
import type { SampleRecord } from '../train/run-directory.js';
import { renderLineChart } from './charts.js';
import { renderReport } from './render-html.js';
import { buildCharts, reportedModes, smoothSeries } from './series.js';

function stepEnd(
  step: number,
  solveRate: number,
  modes: readonly string[] = ['deduction', 'abduction', 'induction'],
): StepEndEvent {
  return {
    type: 'step-end',
    step,
    loss: 0.1,
    durationMs: 1000 * step,
    tokensPerSecond: 100 + step,
    groups: modes.flatMap((mode) => [
      {
        mode,
        role: 'propose' as const,
        count: 2,
        wellFormedRate: 1,
        validRate: 0.5,
        solveRate: 0.25,
        meanReward: 0.1,
        advantageMean: 0,
        advantageStandardDeviation: 1,
        tokens: 10,
      },
      {
        mode,
        role: 'solve' as const,
        count: 2,
        wellFormedRate: 1,
        validRate: undefined,
        solveRate,
        meanReward: solveRate,
        advantageMean: 0,
        advantageStandardDeviation: 1,
        tokens: 10,
      },
    ]),
  };
}

function proposal(step: number, program: string): SampleRecord {
  return {
    step,
    mode: 'deduction',
    role: 'propose',
    completion: '<think>hmm</think><answer>x</answer> </pre><script>alert(1)</script>',
    tokens: 12,
    reward: 0.5,
    verdict: 'valid',
    reason: undefined,
    task: { mode: 'deduction', program, input: '1', output: '2' },
    solveRate: 0.5,
  };
}

const events: TrainerEvent[] = [
  { type: 'run-start', runId: 'r', step: 0, resumed: false, settings: {} },
  stepEnd(1, 0.25),
  stepEnd(2, 0.5),
  stepEnd(2, 0.75), // a step recorded twice: the later record wins
  stepEnd(3, 1),
];
const data = {
  directory: 'runs/r',
  config: { engine: 'hybrid' },
  events,
  samples: [
    proposal(1, 'function f(a) { return a; }'),
    proposal(3, 'function f(a) { return a + 1; }'),
    proposal(3, 'function f(a) { return a; }'),
  ],
  flagged: [],
  evaluation: { model: 'm', suite: 's', modes: { deduction: { tasks: 4, passAtK: { 1: 0.5 } } } },
};

describe('the run report', () => {
  it('charts the run: one point per step, distinct programs counted once', () => {
    const charts = new Map(buildCharts(data).map((chart) => [chart.id, chart]));
    expect(charts.get('solve-rate')?.series[0]?.points).toEqual([
      [1, 0.25],
      [2, 0.75],
      [3, 1],
    ]);
    expect(charts.get('diversity')?.series[0]?.points).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
    expect(charts.get('program-length')?.series[0]?.points.map(([, length]) => length)).toEqual([
      27,
      undefined,
      29,
    ]);
    const svg = renderLineChart(charts.get('solve-rate') as NonNullable<ReturnType<typeof charts.get>>);
    expect(svg.match(/class="series"/g)).toHaveLength(3);
    expect(svg).toContain('data-points="3"');
  });

  it("charts the update's clipping and gradient norm when the steps report them, and only then", () => {
    expect(buildCharts(data).some((chart) => chart.id.startsWith('update-'))).toBe(false);
    const update = (clipFraction: number, truncatedFraction?: number) => ({
      policyLoss: 0.1,
      entropy: 2,
      clipFraction,
      approximateKl: 0.001,
      gradientNorm: 0.5 + clipFraction,
      ...(truncatedFraction === undefined ? {} : { importanceWeightMean: 1, truncatedFraction }),
      tokenCount: 20,
    });
    const updated = {
      ...data,
      events: [
        { ...stepEnd(1, 0.5), update: update(0.1, 0.02) },
        stepEnd(2, 0.5),
        { ...stepEnd(3, 0.5), update: update(0.3, 0) },
      ],
    };
    const charts = new Map(buildCharts(updated).map((chart) => [chart.id, chart]));
    expect(charts.get('update-clipping')?.series.map((series) => series.name)).toEqual([
      'clipped',
      'truncated',
    ]);
    expect(charts.get('update-clipping')?.series[0]?.points).toEqual([
      [1, 0.1],
      [2, undefined],
      [3, 0.3],
    ]);
    expect(charts.get('update-gradient')?.series[0]?.points).toEqual([
      [1, 0.6],
      [2, undefined],
      [3, 0.8],
    ]);
  });

  it("charts the size of proposals beside the limit of a mini run's curriculum", () => {
    const sized = events.map((event) =>
      event.type === 'step-end'
        ? { ...event, groups: event.groups.map((group) => ({ ...group, meanDifficulty: 1 })) }
        : event,
    );
    const mini = {
      ...data,
      events: sized,
      config: { tasks: { kind: 'mini', curriculum: { startOperators: 0, stepsPerOperator: 2 } } },
    };
    const size = buildCharts(mini).find((chart) => chart.id === 'program-size');
    expect(size?.series.map((series) => series.name)).toEqual([
      'deduction',
      'abduction',
      'induction',
      'curriculum limit',
    ]);
    expect(size?.series[3]?.points).toEqual([
      [1, 0],
      [2, 0],
      [3, 1],
    ]);
    // Without a curriculum, the sizes alone.
    const free = { ...mini, config: { tasks: { kind: 'mini', curriculum: false } } };
    expect(buildCharts(free).find((chart) => chart.id === 'program-size')?.series).toHaveLength(3);
  });

  it("charts a mini run's held-out accuracy at each evaluation, from the untrained model on", () => {
    const accuracy = (deduction: number, induction: number) => ({
      deduction: { tasks: 60, passAtK: { 1: deduction } },
      induction: { tasks: 45, passAtK: { 1: induction } },
    });
    const evaluated = {
      ...data,
      heldOut: [
        { step: 0, modes: accuracy(0.1, 0) },
        { step: 2, modes: accuracy(0.2, 0) },
        { step: 3, modes: accuracy(0.4, 0.1) },
        { step: 2, modes: accuracy(0.3, 0.05) }, // a step evaluated again after a resume: the later one wins
      ],
    };
    const chart = buildCharts(evaluated).find((each) => each.id === 'held-out');
    expect(chart?.series.map((series) => series.name)).toEqual(['deduction', 'induction']);
    expect(chart?.series[0]?.points).toEqual([
      [0, 0.1],
      [2, 0.3],
      [3, 0.4],
    ]);
    expect(renderReport(evaluated)).toContain('id="held-out"');
    // A run without held-out evaluations has no such chart.
    expect(buildCharts(data).some((each) => each.id === 'held-out')).toBe(false);
  });

  it('reports the modes its metrics name, in the order they first appear, a custom mode included', () => {
    const custom = {
      ...data,
      events: [
        events[0] as TrainerEvent,
        stepEnd(1, 0.5, ['sorting', 'deduction']),
        stepEnd(2, 0.25, ['deduction', 'sorting', 'string-reversal']),
      ],
      samples: [{ ...proposal(2, 'function f(a) { return a.sort(); }'), mode: 'sorting' }],
    };
    expect(reportedModes(custom.events)).toEqual(['sorting', 'deduction', 'string-reversal']);
    const charts = new Map(buildCharts(custom).map((chart) => [chart.id, chart]));
    const solveRate = charts.get('solve-rate')?.series;
    expect(solveRate?.map((series) => series.name)).toEqual(['sorting', 'deduction', 'string-reversal']);
    expect(solveRate?.[2]?.points).toEqual([
      [1, undefined],
      [2, 0.25],
    ]);
    expect(charts.get('reward')?.series.map((series) => series.name)).toEqual([
      'sorting propose',
      'deduction propose',
      'string-reversal propose',
      'sorting solve',
      'deduction solve',
      'string-reversal solve',
    ]);
    expect(charts.get('program-length')?.series.map((series) => series.name)).toEqual([
      'sorting',
      'deduction',
      'string-reversal',
    ]);
    expect(charts.get('program-length')?.series[0]?.points).toEqual([
      [1, undefined],
      [2, 34],
    ]);
    const html = renderReport(custom);
    expect(html).toContain(
      '<select id="filter-mode"><option value="">all</option><option>sorting</option><option>deduction</option><option>string-reversal</option></select>',
    );
    expect(html).toContain('data-mode="sorting"');
    expect(html).toContain('data-series="string-reversal"');
    // Modes the run did not train are not charted.
    expect(html).not.toContain('data-series="abduction"');
    expect(html).not.toContain('<option>induction</option>');
  });

  it('lists the built-in modes of a default run in the sample filter, as they come', () => {
    expect(renderReport(data)).toContain(
      '<option value="">all</option><option>deduction</option><option>abduction</option><option>induction</option></select>',
    );
  });

  it('smooths a rate over a trailing window, skipping steps with no value', () => {
    const [line] = smoothSeries(
      [
        {
          name: 'rate',
          points: [
            [1, 0],
            [2, 1],
            [3, undefined],
            [4, 0.5],
            [5, undefined],
            [6, undefined],
          ],
        },
      ],
      2,
    );
    expect(line?.points).toEqual([
      [1, 0],
      [2, 0.5],
      [3, 1],
      [4, 0.5],
      [5, 0.5],
      [6, undefined],
    ]);
    expect(smoothSeries([{ name: 'rate', points: [[1, 0.3]] }], 1)[0]?.points).toEqual([[1, 0.3]]);
  });

  it('escapes model text, and shows the evaluation', () => {
    const html = renderReport(data);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<td>deduction</td><td>4</td><td>50.0%</td>');
    expect(html.match(/<script>/g)).toHaveLength(1);
  });
});

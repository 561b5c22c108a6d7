import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type MiniCurriculum,
  ModelFormatError,
  type MonitorFlagEvent,
  miniOperatorLimit,
  type StepEndEvent,
  type TrainerEvent,
} from '@azr/core';
import { type HeldOutRecord, RUN_FILES, type SampleRecord } from '../train/run-directory.js';
import { type ChartSeries, escapeHtml, type LineChart, renderLineChart } from './charts.js';

const MODES = ['deduction', 'abduction', 'induction'] as const;
/** Samples listed in the page at most (the newest ones); the full list stays in samples.jsonl. */
const MAX_LISTED_SAMPLES = 1500;

async function readJsonl<T>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const records: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      // A line cut short by a kill; the rest of the file is still worth showing.
    }
  }
  return records;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Everything a report shows, read from a run directory. */
export interface RunData {
  readonly directory: string;
  readonly config: unknown;
  readonly events: readonly TrainerEvent[];
  readonly samples: readonly SampleRecord[];
  readonly flagged: readonly MonitorFlagEvent[];
  readonly evaluation: unknown;
  /** The evaluation of the model before training, where the run made one. */
  readonly initialEvaluation?: unknown;
  /** A mini run's held-out accuracy during training (`heldout.jsonl`), step 0 the untrained model. */
  readonly heldOut?: readonly HeldOutRecord[];
}

/** Reads a run directory. Throws `ModelFormatError` when it has no metrics at all. */
export async function readRunData(directory: string): Promise<RunData> {
  const events = await readJsonl<TrainerEvent>(join(directory, RUN_FILES.metrics));
  if (events.length === 0)
    throw new ModelFormatError(`${directory} has no ${RUN_FILES.metrics}: is it an azr run directory?`, {
      path: directory,
    });
  return {
    directory,
    config: await readJson(join(directory, RUN_FILES.config)),
    events,
    samples: await readJsonl<SampleRecord>(join(directory, RUN_FILES.samples)),
    flagged: await readJsonl<MonitorFlagEvent>(join(directory, RUN_FILES.flagged)),
    evaluation: await readJson(join(directory, RUN_FILES.evaluation)),
    initialEvaluation: await readJson(join(directory, RUN_FILES.initialEvaluation)),
    heldOut: await readJsonl<HeldOutRecord>(join(directory, RUN_FILES.heldOut)),
  };
}

/** The last step-end event of each step (a resumed run may have recorded a step twice before truncation). */
function stepEvents(events: readonly TrainerEvent[]): StepEndEvent[] {
  const byStep = new Map<number, StepEndEvent>();
  for (const event of events) if (event.type === 'step-end') byStep.set(event.step, event);
  return [...byStep.values()].sort((left, right) => left.step - right.step);
}

function groupSeries(
  steps: readonly StepEndEvent[],
  role: 'propose' | 'solve',
  pick: (group: StepEndEvent['groups'][number]) => number | undefined,
): ChartSeries[] {
  return MODES.map((mode) => ({
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

/** Builds the charts of a run. */
export function buildCharts(data: RunData): LineChart[] {
  const steps = stepEvents(data.events);
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
        groupSeries(steps, 'solve', (group) => group.solveRate),
        window,
      ),
      yRange: [0, 1],
      yFormat: percent,
    },
    {
      id: 'valid-rate',
      title: `Valid-proposal rate per mode (proposer role)${smoothed}`,
      series: smoothSeries(
        groupSeries(steps, 'propose', (group) => group.validRate),
        window,
      ),
      yRange: [0, 1],
      yFormat: percent,
    },
    {
      id: 'reward',
      title: 'Mean reward per mode and role',
      series: (['propose', 'solve'] as const).flatMap((role) =>
        groupSeries(steps, role, (group) => group.meanReward).map((series) => ({
          ...series,
          name: `${series.name} ${role}`,
        })),
      ),
    },
    {
      id: 'difficulty',
      title: `Task difficulty: solve rate the learnability rollouts measured on valid proposals (lower is harder)${smoothed}`,
      series: smoothSeries(
        groupSeries(steps, 'propose', (group) => group.solveRate),
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
                groupSeries(steps, 'propose', (group) => group.meanDifficulty),
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
      series: MODES.map((mode) => ({ name: mode, points: meanProgramLength(mode) })),
    },
    {
      id: 'diversity',
      title: 'Distinct valid programs proposed so far',
      series: [{ name: 'distinct programs', points: distinct }],
    },
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

type EvaluationRecord = {
  suite?: string;
  model?: string;
  modes?: Record<string, { tasks?: number; passAtK?: Record<string, number> }>;
};

function renderEvaluation(evaluation: unknown, initial?: unknown): string {
  if (evaluation === undefined && initial !== undefined) evaluation = initial;
  if (evaluation === undefined)
    return `<p class="empty">No evaluation yet: <code>azr eval --model ${RUN_FILES.checkpoints}/... --suite suite.jsonl --out ${RUN_FILES.evaluation}</code> writes one here.</p>`;
  const record = evaluation as EvaluationRecord;
  const before = initial === undefined || initial === evaluation ? undefined : (initial as EvaluationRecord);
  const format = (value: number | undefined) => (value === undefined ? '' : `${(100 * value).toFixed(1)}%`);
  const onlyInitial = evaluation === initial && initial !== undefined;
  const rows = Object.entries(record.modes ?? {})
    .map(([mode, result]) => {
      const accuracy = result.passAtK?.['1'];
      const untrained = before?.modes?.[mode]?.passAtK?.['1'];
      return `<tr><td>${escapeHtml(mode)}</td><td>${result.tasks ?? ''}</td>${before === undefined ? '' : `<td>${format(untrained)}</td>`}<td>${format(accuracy)}</td></tr>`;
    })
    .join('');
  const beforeHeader = before === undefined ? '' : '<th>before training</th>';
  return `<p>${escapeHtml(record.model ?? '')} on ${escapeHtml(record.suite ?? '')}${onlyInitial ? ' (the untrained model: the run has not finished)' : ''}</p><table><thead><tr><th>mode</th><th>tasks</th>${beforeHeader}<th>accuracy (pass@1)</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderTask(task: unknown): string {
  if (task === null || typeof task !== 'object') return '';
  const fields = task as Record<string, unknown>;
  const lines: string[] = [];
  if (typeof fields.program === 'string')
    lines.push(`<pre class="program">${escapeHtml(fields.program)}</pre>`);
  for (const key of ['input', 'output', 'inputs', 'outputs', 'message'])
    if (fields[key] !== undefined)
      lines.push(`<div><b>${key}</b> <code>${escapeHtml(JSON.stringify(fields[key]))}</code></div>`);
  return lines.join('');
}

function renderSamples(samples: readonly SampleRecord[]): string {
  const listed = samples.slice(-MAX_LISTED_SAMPLES);
  const items = listed
    .map(
      (
        sample,
      ) => `<details class="sample" data-mode="${sample.mode}" data-role="${sample.role}" data-verdict="${escapeHtml(sample.verdict)}">
<summary>step ${sample.step} · ${sample.mode} · ${sample.role} · <span class="verdict ${escapeHtml(sample.verdict)}">${escapeHtml(sample.verdict)}</span> · reward ${sample.reward.toFixed(2)}${sample.solveRate === undefined ? '' : ` · learnability ${(100 * sample.solveRate).toFixed(0)}%`}</summary>
${renderTask(sample.task)}${sample.reason ? `<div class="reason"><b>executor / parser</b> ${escapeHtml(sample.reason)}</div>` : ''}
<div><b>model output</b> (${sample.tokens} tokens)</div><pre class="completion">${escapeHtml(sample.completion)}</pre>
</details>`,
    )
    .join('\n');
  const note =
    samples.length > listed.length
      ? `<p>The newest ${listed.length} of ${samples.length} samples; all are in <code>${RUN_FILES.samples}</code>.</p>`
      : '';
  return `${note}<div class="filters">
<label>mode <select id="filter-mode"><option value="">all</option>${MODES.map((mode) => `<option>${mode}</option>`).join('')}</select></label>
<label>role <select id="filter-role"><option value="">all</option><option>propose</option><option>solve</option></select></label>
<label>verdict <select id="filter-verdict"><option value="">all</option>${['valid', 'invalid', 'malformed', 'excluded', 'correct', 'wrong'].map((verdict) => `<option>${verdict}</option>`).join('')}</select></label>
<span id="sample-count"></span></div>
<div id="samples">${items || '<p class="empty">No samples recorded.</p>'}</div>`;
}

function renderFlagged(flagged: readonly MonitorFlagEvent[]): string {
  if (flagged.length === 0) return '<p class="empty">Nothing flagged.</p>';
  return `<ul class="flagged">${flagged
    .map(
      (event) =>
        `<li>step ${event.step} · ${event.mode} · ${event.role} · <b>${escapeHtml(event.flag.monitorId)}</b> <pre>${escapeHtml(event.flag.excerpt)}</pre></li>`,
    )
    .join('')}</ul>`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}
.chart{margin:0;border:1px solid #e4e4e4;border-radius:6px;padding:8px}.chart figcaption{font-weight:600;margin-bottom:4px}
.chart svg{width:100%;height:auto}.grid{stroke:#eee}.axis{stroke:#999}.tick,.label{font-size:11px;fill:#666}
.legend{font-size:12px}.key{margin-right:12px;white-space:nowrap}.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.empty{color:#888}pre{background:#f7f7f7;padding:6px 8px;overflow-x:auto;white-space:pre-wrap;margin:4px 0}
.sample{border-bottom:1px solid #eee;padding:4px 0}.verdict.valid,.verdict.correct{color:#217a21}.verdict.invalid,.verdict.wrong,.verdict.malformed{color:#b02a2a}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 10px;text-align:left}.filters{margin:8px 0}.filters label{margin-right:12px}
dl.config{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dl.config dt{font-weight:600}`;

const SCRIPT = `(() => {
  const pick = (id) => document.getElementById(id);
  const apply = () => {
    const [mode, role, verdict] = ['filter-mode', 'filter-role', 'filter-verdict'].map((id) => pick(id).value);
    let shown = 0;
    for (const item of document.querySelectorAll('#samples .sample')) {
      const visible = (!mode || item.dataset.mode === mode) && (!role || item.dataset.role === role) && (!verdict || item.dataset.verdict === verdict);
      item.hidden = !visible;
      if (visible) shown += 1;
    }
    pick('sample-count').textContent = shown + ' shown';
  };
  for (const id of ['filter-mode', 'filter-role', 'filter-verdict']) pick(id).addEventListener('change', apply);
  apply();
})();`;

/** Renders the report of a run as one self-contained HTML page (inline CSS, SVG and script; no network). */
export function renderReport(data: RunData): string {
  const steps = stepEvents(data.events);
  const start = data.events.find((event) => event.type === 'run-start');
  const last = steps.at(-1);
  const config = (data.config ?? {}) as Record<string, unknown>;
  const summary = [
    ['run', start?.type === 'run-start' ? start.runId : '?'],
    ['steps completed', String(last?.step ?? 0)],
    ['model', JSON.stringify(config.model ?? '?')],
    ['engine', String(config.engine ?? '?')],
    ['language', String(config.language ?? '?')],
    ['seed', String(config.seed ?? '?')],
    [
      'total time',
      `${(steps.reduce((total, event) => total + event.durationMs, 0) / 60_000).toFixed(1)} min over ${steps.length} steps`,
    ],
  ]
    .map(([term, value]) => `<dt>${escapeHtml(term as string)}</dt><dd>${escapeHtml(value as string)}</dd>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>azr run report: ${escapeHtml(data.directory)}</title><style>${STYLE}</style></head>
<body>
<h1>Absolute Zero run: ${escapeHtml(data.directory)}</h1>
<dl class="config">${summary}</dl>
<h2>Learning curves</h2>
<div class="charts">${buildCharts(data).map(renderLineChart).join('\n')}</div>
<h2>Evaluation</h2>
${renderEvaluation(data.evaluation, data.initialEvaluation)}
<h2>Flagged outputs</h2>
${renderFlagged(data.flagged)}
<h2>Proposed tasks and solutions</h2>
${renderSamples(data.samples)}
<script>${SCRIPT}</script>
</body></html>
`;
}

/** Writes `report.html` into a run directory and returns its path. */
export async function writeReport(directory: string): Promise<string> {
  const path = join(directory, RUN_FILES.report);
  await writeFile(path, renderReport(await readRunData(directory)));
  return path;
}

import type { MonitorFlagEvent } from '@azr/core';
import { RUN_FILES, type SampleRecord } from '../train/run-directory.js';
import { escapeHtml, renderLineChart } from './charts.js';
import type { RunData } from './run-data.js';
import { buildCharts, reportedModes, stepEvents } from './series.js';

/** Samples listed in the page at most (the newest ones); the full list stays in samples.jsonl. */
const MAX_LISTED_SAMPLES = 1500;

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

function renderSamples(samples: readonly SampleRecord[], modes: readonly string[]): string {
  const listed = samples.slice(-MAX_LISTED_SAMPLES);
  const items = listed
    .map(
      (
        sample,
      ) => `<details class="sample" data-mode="${escapeHtml(sample.mode)}" data-role="${sample.role}" data-verdict="${escapeHtml(sample.verdict)}">
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
<label>mode <select id="filter-mode"><option value="">all</option>${modes.map((mode) => `<option>${escapeHtml(mode)}</option>`).join('')}</select></label>
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
  // The modes of the metrics, then any that only samples name, so that every listed sample can be filtered to.
  const modes = [...new Set([...reportedModes(data.events), ...data.samples.map((sample) => sample.mode)])];
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
${renderSamples(data.samples, modes)}
<script>${SCRIPT}</script>
</body></html>
`;
}

#!/usr/bin/env node
// Executor throughput benchmark: validated programs per second on all CPUs, for each isolation level of the
// JavaScript executor, with the naive design (a new isolate per program) measured in the same run as the peer.
// Usage: npm run bench -w @azr/executor  (writes the results into BENCHMARKS.md at the repository root)
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJavaScriptExecutor, createPythonExecutor } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = join(here, '../../..');
const programsOf = {
  javascript: JSON.parse(
    readFileSync(join(here, '../src/javascript/testdata/benchmark-programs.json'), 'utf8'),
  ),
  python: JSON.parse(readFileSync(join(here, '../src/python/testdata/benchmark-programs.json'), 'utf8')),
};
const workers = availableParallelism();
const REPEATS = 5;
const IN_FLIGHT = 64;
const COUNTS = { isolate: 300, context: 3000, reused: 20000, python: 1500 };

function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}
function median(values) {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** Validates `count` distinct programs (each made unique, as self-play proposals are) with IN_FLIGHT in flight. */
async function measure(executor, count, offset, language) {
  const programs = programsOf[language];
  const latencies = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  async function lane() {
    while (next < count) {
      const index = next++;
      const program = programs[index % programs.length];
      const code = `${program.code}\n${language === 'python' ? '#' : '//'} proposal ${offset + index}`;
      const submitted = performance.now();
      const result = await executor.validateProgram({ code, argsList: [program.args] });
      latencies.push(performance.now() - submitted);
      if (!result.ok || result.outputs[0] !== program.output) failures += 1;
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: count / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failures,
  };
}

const results = {};
const levels = [
  [
    'isolate',
    'javascript',
    () => createJavaScriptExecutor({ isolation: 'isolate', workers, timeoutMs: 1000 }),
  ],
  [
    'context',
    'javascript',
    () => createJavaScriptExecutor({ isolation: 'context', workers, timeoutMs: 1000 }),
  ],
  ['reused', 'javascript', () => createJavaScriptExecutor({ isolation: 'reused', workers, timeoutMs: 1000 })],
  ['python', 'python', () => createPythonExecutor({ workers, timeoutMs: 1000 })],
];
for (const [level, language, create] of levels) {
  const executor = create();
  await measure(executor, Math.min(COUNTS[level], 200), 1e9, language); // warm-up: workers started, code compiled
  const runs = [];
  for (let repeat = 0; repeat < REPEATS; repeat += 1) {
    runs.push(await measure(executor, COUNTS[level], repeat * 1e6, language));
  }
  await executor.close();
  const failures = runs.reduce((total, run) => total + run.failures, 0);
  if (failures > 0) throw new Error(`${level}: ${failures} validations gave a wrong result`);
  results[level] = {
    perSecond: median(runs.map((run) => run.perSecond)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
  };
  console.log(level, results[level]);
}

const format = (value, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const naive = results.isolate.perSecond;
const rows = [
  ['`isolate` (naive: a new isolate per program, the peer)', results.isolate],
  ['`context` (default: a fresh context per program)', results.context],
  ['`reused` (one hardened, frozen context per worker)', results.reused],
].map(
  ([label, r]) =>
    `| ${label} | ${format(r.perSecond)} | ${format(r.perSecond / naive, 1)}x | ${format(r.p50, 2)} | ${format(r.p99, 2)} |`,
);

const pythonRow = `| Python on Pyodide (one interpreter per worker) | ${format(results.python.perSecond)} | | ${format(results.python.p50, 2)} | ${format(results.python.p99, 2)} |`;

const section = `<!-- executor:start -->
## @azr/executor: validated programs per second

Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${workers} CPUs, Node ${process.versions.node}. Measured ${new Date().toISOString().slice(0, 10)}.
Command: \`npm run bench -w @azr/executor\` (after \`npm run build\`).

Each validation is what a proposal costs: the program loaded into fresh state, run twice on its input there,
and the two canonical results compared (for Python, also the restoration of every module the program could
have changed). Programs are the ${programsOf.javascript.length} HumanEval and CRUXEval style functions of
\`src/*/testdata/benchmark-programs.json\` in each language, each made unique (so no compilation cache
helps), ${IN_FLIGHT} validations in flight, ${workers} worker processes. Medians of ${REPEATS} runs; latency is from
submission to result under that load. The naive design (a new isolate per program) is measured in the same run
as the peer of the JavaScript levels.

| JavaScript isolation level | validated programs/s | vs naive | p50 latency (ms) | p99 latency (ms) |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}
${pythonRow}
<!-- executor:end -->`;

const benchmarksPath = join(repositoryRoot, 'BENCHMARKS.md');
let document;
try {
  document = readFileSync(benchmarksPath, 'utf8');
} catch {
  document =
    '# Benchmarks\n\nSpeed and memory figures of the SDK, each with the machine and the command that produced it.\n';
}
document = document.includes('<!-- executor:start -->')
  ? document.replace(/<!-- executor:start -->[\s\S]*<!-- executor:end -->/, section)
  : `${document.trimEnd()}\n\n${section}\n`;
writeFileSync(benchmarksPath, document);
console.log(`wrote ${benchmarksPath}`);

#!/usr/bin/env node
// Executor throughput benchmark: validated programs per second on all CPUs, for each isolation level of the
// JavaScript executor, with two peers measured in the same run: the naive design (a new isolate per program),
// and the unsafe design of the reference implementation (a Python process pool running `exec`,
// exec_pool_peer.py). The default level and that peer are measured in alternating rounds, and the script
// checks whether the default level validates at least MIN_RATIO times the peer's programs per second: it
// reports the check (met or not met) in its output and in the text it writes, and exits 0 either way, so that
// the root `npm run bench` runs every package's benchmark; with --check it exits 1 when the target is not met.
// Usage: npm run bench -w @azr/executor [-- --out FILE] [-- --check] [-- --without-python]
//   (after `npm run build`; writes the results into BENCHMARKS.md at the repository root unless --out is given;
//   the peer runs on `python3`, or on $PYTHON)
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createJavaScriptExecutor, createPythonExecutor } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = join(here, '../../..');
const { values: options } = parseArgs({
  options: {
    out: { type: 'string', default: join(repositoryRoot, 'BENCHMARKS.md') },
    check: { type: 'boolean', default: false },
    'without-python': { type: 'boolean', default: false },
  },
});
const programPaths = {
  javascript: join(here, '../src/javascript/testdata/benchmark-programs.json'),
  python: join(here, '../src/python/testdata/benchmark-programs.json'),
};
const programsOf = {
  javascript: JSON.parse(readFileSync(programPaths.javascript, 'utf8')),
  python: JSON.parse(readFileSync(programPaths.python, 'utf8')),
};
const workers = availableParallelism();
const REPEATS = 5;
/** Alternating rounds of the default level and the unsafe peer; the check uses the median of their ratios. */
const PAIRED_ROUNDS = 15;
const MIN_RATIO = 3;
/** Validations in flight when each level is measured alone (for its latencies). */
const IN_FLIGHT = 64;
/** Programs per task of the chunked peer: the JavaScript executor's default batch size. */
const PEER_CHUNK = 64;
const TIMEOUT_MS = 1000;
const COUNTS = { isolate: 300, context: 3000, reused: 20000, python: 1500, paired: 8000, peer: 4000 };

function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}
function median(values) {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/**
 * Validates `count` distinct programs (each made unique, as self-play proposals are) with `inFlight` in flight
 * (all of them by default: submitted at once, as the trainer submits a step's proposals).
 */
async function measure(executor, count, offset, language, inFlight = count) {
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
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: count / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failures,
  };
}

/** The unsafe peer: a Python process pool that `exec`s each program (exec_pool_peer.py), driven line by line. */
async function startPeer() {
  const python = process.env.PYTHON ?? 'python3';
  const child = spawn(
    python,
    [join(here, 'exec_pool_peer.py'), programPaths.python, String(workers), String(TIMEOUT_MS / 1000)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const failed = new Promise((_, reject) => {
    child.on('error', (error) =>
      reject(
        new Error(`the unsafe peer needs Python 3: ${python} did not start (${error.message}); set PYTHON`),
      ),
    );
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const read = async () => {
    const { value, done } = await Promise.race([lines.next(), failed]);
    if (done) throw new Error(`the peer (${python} exec_pool_peer.py) stopped`);
    return JSON.parse(value);
  };
  await read(); // {"ready": true}
  return {
    async measure(count, offset, chunk) {
      child.stdin.write(`${JSON.stringify({ count, offset, chunk })}\n`);
      const result = await read();
      if (result.failures > 0) throw new Error(`the peer failed ${result.failures} validations`);
      return result.perSecond;
    },
    close() {
      child.stdin.end();
    },
  };
}

async function measureLevel(create, count, language) {
  const executor = create();
  await measure(executor, Math.min(count, 200), 1e9, language, IN_FLIGHT); // warm-up: workers started, code compiled
  const runs = [];
  for (let repeat = 0; repeat < REPEATS; repeat += 1) {
    runs.push(await measure(executor, count, repeat * 1e6, language, IN_FLIGHT));
  }
  await executor.close();
  const failures = runs.reduce((total, run) => total + run.failures, 0);
  if (failures > 0) throw new Error(`${failures} validations gave a wrong result`);
  return {
    perSecond: median(runs.map((run) => run.perSecond)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
  };
}

const javascript = (isolation) => () =>
  createJavaScriptExecutor({ ...(isolation ? { isolation } : {}), workers, timeoutMs: TIMEOUT_MS });

// 1. The default level against the unsafe peer, in alternating rounds: both see the same machine load.
const peer = await startPeer();
const defaultExecutor = javascript(undefined)();
await measure(defaultExecutor, 500, 1e9, 'javascript');
const paired = [];
for (let round = 0; round < PAIRED_ROUNDS; round += 1) {
  const ours = await measure(defaultExecutor, COUNTS.paired, (round + 100) * 1e6, 'javascript');
  if (ours.failures > 0) throw new Error(`default level: ${ours.failures} validations gave a wrong result`);
  const pooled = await peer.measure(COUNTS.peer, round * 1e6, 1);
  const chunked = await peer.measure(COUNTS.peer, (round + 50) * 1e6, PEER_CHUNK);
  paired.push({ ours: ours.perSecond, pooled, chunked, ratio: ours.perSecond / pooled });
  console.log(`round ${round}`, paired.at(-1));
}
await defaultExecutor.close();
peer.close();
const pairedMedians = {
  ours: median(paired.map((round) => round.ours)),
  pooled: median(paired.map((round) => round.pooled)),
  chunked: median(paired.map((round) => round.chunked)),
  ratio: median(paired.map((round) => round.ratio)),
  chunkedRatio: median(paired.map((round) => round.ours / round.chunked)),
  lowestRatio: Math.min(...paired.map((round) => round.ratio)),
  highestRatio: Math.max(...paired.map((round) => round.ratio)),
};
console.log('default level against the unsafe peer', pairedMedians);

// 2. Every level, one after the other, with latencies.
const results = {};
for (const [level, language, create] of [
  ['isolate', 'javascript', javascript('isolate')],
  ['context', 'javascript', javascript('context')],
  ['reused', 'javascript', javascript('reused')],
  ...(options['without-python']
    ? []
    : [['python', 'python', () => createPythonExecutor({ workers, timeoutMs: TIMEOUT_MS })]]),
]) {
  results[level] = await measureLevel(create, COUNTS[level], language);
  console.log(level, results[level]);
}

const format = (value, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const naive = results.isolate.perSecond;
const rows = [
  ['`isolate` (naive: a new isolate per program)', results.isolate],
  ['`context` (a fresh context per program)', results.context],
  ['`reused` (default: one frozen realm per worker)', results.reused],
].map(
  ([label, r]) =>
    `| ${label} | ${format(r.perSecond)} | ${format(r.perSecond / naive, 1)}x | ${format(r.p50, 2)} | ${format(r.p99, 2)} |`,
);
const pythonRow = results.python
  ? `| Python on Pyodide (one interpreter per worker) | ${format(results.python.perSecond)} | | ${format(results.python.p50, 2)} | ${format(results.python.p99, 2)} |`
  : '| Python on Pyodide | not measured (--without-python) | | | |';
const passed = pairedMedians.ratio >= MIN_RATIO;

const section = `<!-- executor:start -->
## @azr/executor: validated programs per second

Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${workers} CPUs, Node ${process.versions.node}. Measured ${new Date().toISOString().slice(0, 10)}.
Command: \`npm run bench -w @azr/executor\` (after \`npm run build\`).

Each validation is what a proposal costs: the program loaded, run twice on its input, and the two canonical
results compared (for Python on Pyodide, also the restoration of what the program could have changed).
Programs are the ${programsOf.javascript.length} HumanEval and CRUXEval style functions of
\`src/*/testdata/benchmark-programs.json\` in each language, each made unique (so no compilation cache
helps), ${workers} worker processes.

**Against the unsafe peer.** The peer is the reference implementation's design (\`bench/exec_pool_peer.py\`): a
Python \`multiprocessing\` pool of ${workers} processes that \`exec\`s each program with no sandbox, calls \`f\` twice
under SIGALRM timers and compares with \`!=\`, on the Python versions of the same programs, one program per
task as the reference's \`pool.map\` sends them (and, for comparison, ${PEER_CHUNK} per task, the executor's default
batch size). Each side gets a round's validations at once: the peer's \`imap\` queues every task, and the
executor is handed every validation before the first answer comes back, as the trainer hands it a step's
proposals. The default level and the peer ran in ${PAIRED_ROUNDS} alternating rounds (${format(COUNTS.paired)} and
${format(COUNTS.peer)} validations each); medians, and the median of the per-round ratios:

| | validated programs/s |
| --- | ---: |
| default JavaScript level (\`reused\`) | ${format(pairedMedians.ours)} |
| unsafe peer, one program per task | ${format(pairedMedians.pooled)} |
| unsafe peer, ${PEER_CHUNK} programs per task | ${format(pairedMedians.chunked)} |
| ratio to the peer (target ${MIN_RATIO}x) | ${format(pairedMedians.ratio, 2)}x (rounds ${format(pairedMedians.lowestRatio, 2)}-${format(pairedMedians.highestRatio, 2)}x); to the chunked peer ${format(pairedMedians.chunkedRatio, 2)}x |

Check: the default level at least ${MIN_RATIO}x the unsafe peer (median of the per-round ratios): **${passed ? 'met' : 'not met'}**
(${format(pairedMedians.ratio, 2)}x). The script reports this and exits 0; \`--check\` makes it exit 1 when the target is not met.

**Every level.** Medians of ${REPEATS} runs each, one level after the other, ${IN_FLIGHT} validations in flight;
latency is from submission to result under that load. The naive design (a new isolate per program) is the reference of the "vs naive" column.

| JavaScript isolation level | validated programs/s | vs naive | p50 latency (ms) | p99 latency (ms) |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}
${pythonRow}
<!-- executor:end -->`;

let document;
try {
  document = readFileSync(options.out, 'utf8');
} catch {
  document =
    '# Benchmarks\n\nSpeed and memory figures of the SDK, each with the machine and the command that produced it.\n';
}
document = document.includes('<!-- executor:start -->')
  ? document.replace(/<!-- executor:start -->[\s\S]*<!-- executor:end -->/, section)
  : `${document.trimEnd()}\n\n${section}\n`;
writeFileSync(options.out, document);
console.log(`wrote ${options.out}`);
const verdict = `the default JavaScript level validated ${format(pairedMedians.ratio, 2)}x the unsafe peer's programs per second (median of ${PAIRED_ROUNDS} rounds); the target is ${MIN_RATIO}x: ${passed ? 'met' : 'not met'}`;
console.log(verdict);
if (!passed && options.check) {
  console.error('--check: the target is not met');
  process.exitCode = 1;
}

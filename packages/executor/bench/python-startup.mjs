#!/usr/bin/env node
// Python sandbox start-up and state costs: a worker's first answer (a fresh Pyodide), the replacement of an
// interpreter (restored from its memory snapshot) after a program that swallows its interrupt, the first
// validation, and validations per second of the benchmark programs on one worker. Medians of REPEATS runs,
// printed as JSON.
// With --throughput, instead: validations and runs per second on all CPUs, measured as the Python row of
// throughput.mjs measures them (one worker per CPU, 64 in flight, distinct programs, a warm-up first), without
// the JavaScript rows, so that two builds can be compared in alternating runs (--dist DIR picks the build).
// Usage: node bench/python-startup.mjs [--throughput] [--count 1500] [--repeats 5] [--dist DIR] (after a build)
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: options } = parseArgs({
  options: {
    throughput: { type: 'boolean', default: false },
    count: { type: 'string', default: '1500' },
    repeats: { type: 'string', default: '5' },
    dist: { type: 'string', default: join(here, '../dist') },
  },
});
const { createPythonExecutor } = await import(pathToFileURL(join(resolve(options.dist), 'index.js')).href);
const programs = JSON.parse(
  readFileSync(join(here, '../src/python/testdata/benchmark-programs.json'), 'utf8'),
);
const SWALLOW =
  'def f():\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** `count` distinct benchmark programs (validated or run) with `inFlight` in flight; per second. */
async function rate(executor, kind, count, offset, inFlight) {
  let next = 0;
  let failures = 0;
  const started = performance.now();
  async function lane() {
    while (next < count) {
      const index = next++;
      const program = programs[index % programs.length];
      const code = `${program.code}\n# proposal ${offset + index}`;
      if (kind === 'validate') {
        const result = await executor.validateProgram({ code, argsList: [program.args] });
        if (!result.ok || result.outputs[0] !== program.output) failures += 1;
      } else {
        const result = await executor.run({ code, args: program.args });
        if (!result.ok || result.value !== program.output) failures += 1;
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  if (failures > 0) throw new Error(`${failures} of ${count} calls (${kind}) gave a wrong result`);
  return count / ((performance.now() - started) / 1000);
}

if (options.throughput) {
  const workers = availableParallelism();
  const count = Number(options.count);
  const repeats = Number(options.repeats);
  const executor = createPythonExecutor({ workers, timeoutMs: 1000 });
  {
    const started = performance.now();
    await rate(executor, 'validate', Math.min(count, 200), 1e9, 64); // warm-up: workers and shadows started
    console.error(`warm-up ${Math.round(performance.now() - started)} ms`);
  }
  const rows = { validationsPerSecond: [], runsPerSecond: [] };
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    rows.validationsPerSecond.push(await rate(executor, 'validate', count, repeat * 1e6, 64));
    rows.runsPerSecond.push(await rate(executor, 'run', count, (repeat + 100) * 1e6, 64));
  }
  await executor.close();
  console.log(
    JSON.stringify({
      dist: options.dist,
      workers,
      count,
      repeats,
      ...Object.fromEntries(Object.entries(rows).map(([key, values]) => [key, Math.round(median(values))])),
      all: Object.fromEntries(Object.entries(rows).map(([key, values]) => [key, values.map(Math.round)])),
    }),
  );
} else {
  const REPEATS = 3;
  const rows = {
    firstRunMs: [],
    replaceMs: [],
    firstValidationMs: [],
    validationsPerSecond: [],
    runsPerSecond: [],
  };
  for (let repeat = 0; repeat < REPEATS; repeat += 1) {
    const executor = createPythonExecutor({ workers: 1, timeoutMs: 200, interruptGraceMs: 100 });
    let started = performance.now();
    await executor.run({ code: 'def f():\n    return 1', args: '' });
    rows.firstRunMs.push(performance.now() - started);
    await executor.run({ code: SWALLOW, args: '' });
    started = performance.now();
    await executor.run({ code: 'def f():\n    return 1', args: '' });
    rows.replaceMs.push(performance.now() - started);
    started = performance.now();
    await executor.validateProgram({ code: 'def f():\n    return 1', argsList: [''] });
    rows.firstValidationMs.push(performance.now() - started);
    rows.validationsPerSecond.push(await rate(executor, 'validate', 300, 0, 300));
    rows.runsPerSecond.push(await rate(executor, 'run', 300, 1e6, 300));
    await executor.close();
  }
  console.log(
    JSON.stringify(
      Object.fromEntries(Object.entries(rows).map(([key, values]) => [key, Math.round(median(values))])),
    ),
  );
}

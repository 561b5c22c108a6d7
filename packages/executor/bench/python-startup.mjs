#!/usr/bin/env node
// Python sandbox start-up and state costs: a worker's first answer (a fresh Pyodide), the replacement of an
// interpreter (restored from its memory snapshot) after a program that swallows its interrupt, the first
// validation (which starts the shadow interpreter), and validations per second of the benchmark programs on
// one worker. Medians of REPEATS runs, printed as JSON. Usage: node bench/python-startup.mjs (after a build).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPythonExecutor } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const programs = JSON.parse(readFileSync(join(here, '../src/python/testdata/benchmark-programs.json'), 'utf8'));
const REPEATS = 3;
const SWALLOW = 'def f():\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rows = { firstRunMs: [], replaceMs: [], firstValidationMs: [], validationsPerSecond: [], runsPerSecond: [] };
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
  for (const [key, call] of [
    ['validationsPerSecond', (program, index) => executor.validateProgram({ code: `${program.code}\n# ${index}`, argsList: [program.args] })],
    ['runsPerSecond', (program, index) => executor.run({ code: `${program.code}\n# ${index}`, args: program.args })],
  ]) {
    const count = 300;
    started = performance.now();
    await Promise.all(Array.from({ length: count }, (_, index) => call(programs[index % programs.length], index)));
    rows[key].push(count / ((performance.now() - started) / 1000));
  }
  await executor.close();
}
console.log(JSON.stringify(Object.fromEntries(Object.entries(rows).map(([key, values]) => [key, Math.round(median(values))]))));

import { afterAll, describe, expect, it } from 'vitest';
import { createJavaScriptExecutor, type JavaScriptExecutor } from './executor.js';

const PROGRAMS = [
  'function f(t) {\n  const d = new Date(t);\n  return [d.getHours(), d.getDate(), d.toISOString(), d.getTimezoneOffset()];\n}',
  'function f(words) {\n  return [...words].sort((a, b) => a.localeCompare(b)).map((w) => w.toLocaleUpperCase());\n}',
  'function f(n) {\n  return [n.toLocaleString(), [1.5, 2].toLocaleString()];\n}',
  'function f(s) {\n  const counts = {};\n  for (const c of s) counts[c] = (counts[c] || 0) + 1;\n  return new Map(Object.entries(counts));\n}',
];
const ARGS = ['86400000 * 3.5', '["b", "é", "a", "B"]', '1234567.891', '"mississippi"'];

const executors: JavaScriptExecutor[] = [];
afterAll(async () => {
  await Promise.all(executors.map((executor) => executor.close()));
});

async function outputs(executor: JavaScriptExecutor): Promise<string[]> {
  return Promise.all(
    PROGRAMS.map(async (code, index) => {
      const result = await executor.run({ code, args: ARGS[index] as string });
      if (!result.ok) throw new Error(`${code}: ${JSON.stringify(result.error)}`);
      return result.value;
    }),
  );
}

describe('determinism of the JavaScript executor', () => {
  it('gives the same values over many runs, many processes, both isolation levels, and any host time zone', async () => {
    const previous = process.env.TZ;
    const seen = new Set<string>();
    try {
      for (const timeZone of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
        process.env.TZ = timeZone;
        for (const isolation of ['context', 'reused'] as const) {
          // A generous limit: the test is about values, not time, and the 100 ms default fails on a loaded
          // machine.
          const executor = createJavaScriptExecutor({ isolation, workers: 2, timeoutMs: 10_000 });
          executors.push(executor);
          for (let round = 0; round < 3; round += 1) {
            seen.add(JSON.stringify(await outputs(executor)));
          }
        }
      }
    } finally {
      process.env.TZ = previous;
    }
    expect(seen.size).toBe(1);
    const [values] = [...seen].map((text) => JSON.parse(text) as string[]);
    expect(values?.[0]).toBe('[12,4,"1970-01-04T12:00:00.000Z",0]');
    expect(values?.[1]).toBe('["B","A","B","É"]');
  });
});

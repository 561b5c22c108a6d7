import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createJavaScriptExecutor } from './javascript/executor.js';
import { createPythonExecutor } from './python/executor.js';

/**
 * The two languages share one canonical encoding: the same value, written as a JavaScript literal and as a
 * Python literal, must encode to the same string in both sandboxes (strings with any code unit, every double,
 * big integers, lists, sets and string-keyed maps/dicts).
 */
type Value =
  | { kind: 'null' }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'integer'; value: bigint }
  | { kind: 'double'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'list'; items: Value[] }
  | { kind: 'set'; items: Value[] }
  | { kind: 'map'; entries: [string, Value][] };

const primitive: fc.Arbitrary<Value> = fc.oneof(
  fc.constant<Value>({ kind: 'null' }),
  fc.boolean().map<Value>((value) => ({ kind: 'boolean', value })),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map<Value>((value) => ({ kind: 'integer', value })),
  fc.double().map<Value>((value) => ({ kind: 'double', value })),
  fc.string({ unit: 'binary', maxLength: 8 }).map<Value>((value) => ({ kind: 'string', value })),
);

const value: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    primitive,
    fc.array(tie('value'), { maxLength: 4 }).map<Value>((items) => ({ kind: 'list', items })),
    fc.array(primitive, { maxLength: 4 }).map<Value>((items) => ({ kind: 'set', items })),
    fc
      .uniqueArray(fc.tuple(fc.string({ maxLength: 4 }), tie('value')), {
        maxLength: 3,
        selector: ([key]) => key,
      })
      .map<Value>((entries) => ({ kind: 'map', entries })),
  ),
})).value;

function javascript(v: Value): string {
  switch (v.kind) {
    case 'null':
      return 'null';
    case 'boolean':
      return String(v.value);
    case 'integer':
      return `${v.value}n`;
    case 'double':
      return Object.is(v.value, -0) ? '-0' : String(v.value);
    case 'string':
      return JSON.stringify(v.value);
    case 'list':
      return `[${v.items.map(javascript).join(', ')}]`;
    case 'set':
      return `new Set([${v.items.map(javascript).join(', ')}])`;
    case 'map':
      return `new Map([${v.entries.map(([key, item]) => `[${JSON.stringify(key)}, ${javascript(item)}]`).join(', ')}])`;
  }
}

function python(v: Value): string {
  switch (v.kind) {
    case 'null':
      return 'None';
    case 'boolean':
      return v.value ? 'True' : 'False';
    case 'integer':
      return `${v.value}`;
    case 'double':
      if (Number.isNaN(v.value)) return "float('nan')";
      if (!Number.isFinite(v.value)) return v.value > 0 ? "float('inf')" : "-float('inf')";
      if (Object.is(v.value, -0)) return '-0.0';
      // A float literal, also for integral doubles: 1e17 written as 100000000000000000 would be an exact int.
      return /[.e]/.test(String(v.value)) ? String(v.value) : `${v.value}.0`;
    case 'string':
      return JSON.stringify(v.value);
    case 'list':
      return `[${v.items.map(python).join(', ')}]`;
    case 'set':
      return v.items.length === 0 ? 'set()' : `{${v.items.map(python).join(', ')}}`;
    case 'map':
      return `{${v.entries.map(([key, item]) => `${JSON.stringify(key)}: ${python(item)}`).join(', ')}}`;
  }
}

// Generous limits: the test is about the encoding, not about time, and the 100 ms default fails on a loaded
// machine (CI runs test files in parallel on two cores).
const javascriptExecutor = createJavaScriptExecutor({ workers: 1, timeoutMs: 10_000 });
const pythonExecutor = createPythonExecutor({ workers: 1, timeoutMs: 10_000 });
afterAll(() => Promise.all([javascriptExecutor.close(), pythonExecutor.close()]));

describe('one canonical encoding for both languages', () => {
  it('encodes the same value the same way from a JavaScript literal and a Python literal', async () => {
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const [fromJavaScript, fromPython] = await Promise.all([
          javascriptExecutor.evaluateLiteral(javascript(v)),
          pythonExecutor.evaluateLiteral(python(v)),
        ]);
        expect(fromJavaScript.ok, JSON.stringify(fromJavaScript)).toBe(true);
        expect(fromPython).toEqual(fromJavaScript);
      }),
      { numRuns: 300, seed: 7 },
    );
  }, 120_000);
});

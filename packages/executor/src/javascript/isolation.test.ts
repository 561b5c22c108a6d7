import { afterAll, describe, expect, it } from 'vitest';
import { createJavaScriptExecutor, type JavaScriptExecutor, type JavaScriptIsolation } from './executor.js';

/** Each writer tries to leave state behind; its reader, run next in the same worker, must not see it. */
const LEAKS: readonly { readonly name: string; readonly writer: string; readonly reader: string }[] = [
  { name: 'a global property', writer: 'globalThis.leak = 1;', reader: 'return typeof globalThis.leak;' },
  { name: 'an implicit global', writer: 'try { leak = 1; } catch (e) {}', reader: 'return typeof leak;' },
  {
    name: 'a property on Object.prototype',
    writer: 'Object.prototype.leak = 1;',
    reader: 'return typeof ({}).leak;',
  },
  {
    name: 'a replaced Array method',
    writer: 'Array.prototype.map = function () { return ["leaked"]; };',
    reader: 'return typeof [1].map((x) => x)[0];',
  },
  {
    name: 'a property on an iterator prototype',
    writer: 'Object.getPrototypeOf([][Symbol.iterator]()).leak = 1;',
    reader: 'return typeof Object.getPrototypeOf([][Symbol.iterator]()).leak;',
  },
  {
    name: 'a replaced JSON.stringify',
    writer: 'JSON.stringify = () => "leaked";',
    reader: 'return typeof JSON.stringify({});',
  },
  {
    name: 'the legacy RegExp statics',
    writer: '/(secret)/.exec("secret");',
    reader: 'return typeof RegExp.$1;',
  },
  {
    name: 'Error.stackTraceLimit',
    writer: 'Error.stackTraceLimit = 0;',
    reader:
      'return typeof Error.stackTraceLimit === "number" ? (Error.stackTraceLimit === 0 ? "leaked" : "number") : "undefined";',
  },
];

const EXPECTED: Record<string, string> = {
  'a global property': '"undefined"',
  'an implicit global': '"undefined"',
  'a property on Object.prototype': '"undefined"',
  'a replaced Array method': '"number"',
  'a property on an iterator prototype': '"undefined"',
  'a replaced JSON.stringify': '"string"',
  'the legacy RegExp statics': '"undefined"',
  'Error.stackTraceLimit': '"number"',
};

const executors: JavaScriptExecutor[] = [];
afterAll(async () => {
  await Promise.all(executors.map((executor) => executor.close()));
});

for (const isolation of ['context', 'reused'] as JavaScriptIsolation[]) {
  describe(`no state carries from one program to the next (${isolation})`, () => {
    // One worker, so that writer and reader certainly share it.
    const executor = createJavaScriptExecutor({ isolation, workers: 1 });
    executors.push(executor);

    it.each(LEAKS)('through $name', async ({ name, writer, reader }) => {
      await executor.run({ code: `${writer}\nfunction f() { return 0; }`, args: '' });
      const result = await executor.run({ code: `function f() {\n${reader}\n}`, args: '' });
      expect(result).toEqual({ ok: true, value: EXPECTED[name] });
    });

    it('through the same program run twice', async () => {
      const code =
        'var calls = (globalThis.calls || 0) + 1;\ntry { globalThis.calls = calls; } catch (e) {}\nfunction f() { return calls; }';
      expect(await executor.run({ code, args: '' })).toEqual({ ok: true, value: '1' });
      expect(await executor.run({ code, args: '' })).toEqual({ ok: true, value: '1' });
    });
  });
}

describe('the reused context', () => {
  it('runs ordinary programs that declare their own top-level state', async () => {
    const executor = createJavaScriptExecutor({ isolation: 'reused', workers: 1 });
    try {
      const code =
        'const memo = new Map();\nlet hits = 0;\nfunction f(n) {\n  if (n < 2) return n;\n  if (memo.has(n)) { hits++; return memo.get(n); }\n  const v = f(n - 1) + f(n - 2);\n  memo.set(n, v);\n  return v;\n}';
      expect(await executor.run({ code, args: '50' })).toEqual({ ok: true, value: '12586269025' });
      expect(await executor.validateProgram({ code, argsList: ['10', '20'] })).toEqual({
        ok: true,
        outputs: ['55', '6765'],
      });
    } finally {
      await executor.close();
    }
  });
});

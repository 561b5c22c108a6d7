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

/**
 * Programs that only touch their own objects behave in the reused context as in a fresh one, including those
 * that override built-in properties on their own objects (which a frozen prototype would refuse: the "override
 * mistake") and sloppy ones that assign to names they never declared.
 */
const SAME_IN_BOTH: readonly { readonly code: string; readonly args: string }[] = [
  { code: 'function f(n) { for (i = 0; i < n; i++) {} return i; }', args: '3' },
  { code: 'function f(n) { total = 0; total += n; [a, b] = [n, 2 * n]; return [total, a, b]; }', args: '3' },
  { code: 'function f(s) { for (c of s) last = c; count++; return last; }\nvar count = 0;', args: '"abc"' },
  { code: 'function g() { helper = 5; }\nfunction f() { g(); return helper * 2; }', args: '' },
  { code: '"use strict";\nfunction f(n) { for (i = 0; i < n; i++) {} return i; }', args: '3' },
  { code: 'function f() { "use strict"; undeclared = 1; return undeclared; }', args: '' },
  { code: 'class C { m() { later = 1; return later; } }\nfunction f() { return new C().m(); }', args: '' },
  { code: 'function f() { return neverAssigned + 1; }', args: '' },
  {
    code: 'class E extends Error { constructor(m) { super(m); this.name = "E"; } }\nfunction f() { try { throw new E("x"); } catch (e) { return [e.name, e.message, String(e)]; } }',
    args: '',
  },
  {
    code: 'function P() {}\nP.prototype.toString = function () { return "P!"; };\nP.prototype.valueOf = function () { return 7; };\nfunction f() { return [String(new P()), new P() + 1]; }',
    args: '',
  },
  {
    code: '"use strict";\nfunction f() { const o = {}; o.toString = () => "o"; o.hasOwnProperty = () => true; o.constructor = null; return [String(o), o.hasOwnProperty("x"), o.constructor]; }',
    args: '',
  },
  {
    code: 'function f() { const e = new RangeError(); e.message = "set later"; e.name = "Custom"; return String(e); }',
    args: '',
  },
  { code: 'function f() { const fn = () => 1; fn.toString = () => "fn"; return String(fn); }', args: '' },
  { code: 'function f() { return Object.prototype.toString.call([]) + String({}) + [1, [2]]; }', args: '' },
  {
    code: 'function f() { return [new TypeError("x"), new Error(), new RangeError("r"), Promise.resolve(1), new Date(0), new Uint8Array([1]), new Map([[1, new Set([2])]]), Object(1), Object("s"), /a/g, Symbol("s"), 10n]; }',
    args: '',
  },
  {
    code: 'class Point { constructor(x) { this.x = x; } toString() { return "P" + this.x; } }\nclass Sub extends Array {}\nfunction f() { const e = new Error("m"); e.constructor = Point; return [new Point(1), String(new Point(2)), Sub.from([1]), e]; }',
    args: '',
  },
  {
    code: 'function f() { return [(() => 1) instanceof Function, Function.prototype === Object.getPrototypeOf(f)]; }',
    args: '',
  },
];

describe('programs that only touch their own objects', () => {
  it('give the same result in the reused context as in a fresh one', async () => {
    // Not a test of time: none of these programs loops, and the default 100 ms limit, a wall-clock one, was
    // once exceeded on a loaded 2-core CI machine.
    const reused = createJavaScriptExecutor({ isolation: 'reused', workers: 1, timeoutMs: 5000 });
    const fresh = createJavaScriptExecutor({ isolation: 'context', workers: 1, timeoutMs: 5000 });
    try {
      for (const { code, args } of SAME_IN_BOTH) {
        const expected = await fresh.run({ code, args });
        expect(await reused.run({ code, args }), code).toEqual(expected);
        expect(await reused.validateProgram({ code, argsList: [args] }), code).toEqual(
          await fresh.validateProgram({ code, argsList: [args] }),
        );
      }
      // The sloppy ones succeed, the strict ones fail, in both; functions are functions.
      expect(await reused.run(SAME_IN_BOTH[0] as { code: string; args: string })).toEqual({
        ok: true,
        value: '3',
      });
      expect((await reused.run(SAME_IN_BOTH[4] as { code: string; args: string })).ok).toBe(false);
      expect(await reused.run(SAME_IN_BOTH.at(-1) as { code: string; args: string })).toEqual({
        ok: true,
        value: '[true,true]',
      });
    } finally {
      await Promise.all([reused.close(), fresh.close()]);
    }
  });
});

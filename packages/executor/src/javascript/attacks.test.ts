import type { ExecutionErrorKind, ExecutionResult } from '@azr/core/spec';
import { afterAll, describe, expect, it } from 'vitest';
import { createJavaScriptExecutor, type JavaScriptExecutor, type JavaScriptIsolation } from './executor.js';

/**
 * Programs that try to escape, hang or crash the host, from public advisories of vm2 and isolated-vm and from
 * the executor's own failure modes. Each must end within its deadline with a typed failure (or a harmless
 * value), and the executor must serve a normal call right after.
 */
interface Attack {
  readonly name: string;
  readonly code: string;
  readonly args?: string;
  /** Acceptable outcomes: failure kinds, or `value:<canonical>` for a harmless result. */
  readonly outcomes: readonly (ExecutionErrorKind | `value:${string}`)[];
  readonly timeoutMs?: number;
}

const ATTACKS: readonly Attack[] = [
  {
    // An answer to an abduction task is an argument list: closing the call early made any program return it.
    name: 'arguments that close the call and return their own value',
    code: 'function f(x) { return x + 1; }',
    args: '0), ("anything"',
    outcomes: ['syntax'],
  },
  {
    name: "arguments that rebind one of the program's functions before the call",
    code: 'function g(x) { return x * 2; }\nfunction f(x) { return g(x); }',
    args: '(g = () => 42, 1)',
    outcomes: ['syntax'],
  },
  {
    name: 'host Function through a constructor chain',
    code: 'function f() { return this.constructor.constructor("return process")(); }',
    outcomes: ['policy', 'runtime'],
  },
  {
    name: 'host Function through an object literal',
    code: 'function f() { return ({}).constructor.constructor("return globalThis.process")(); }',
    outcomes: ['policy', 'runtime'],
  },
  {
    name: 'Function.prototype.constructor called indirectly',
    code: 'function f() { const F = Object.getPrototypeOf(function () {}).constructor; return F.call(null, "return 1")(); }',
    outcomes: ['policy', 'runtime'],
  },
  {
    name: 'async function constructor',
    code: 'function f() { return Object.getPrototypeOf(async function () {}).constructor("return 1"); }',
    outcomes: ['policy', 'runtime'],
  },
  {
    name: 'generator function constructor',
    code: 'function f() { const G = Object.getPrototypeOf(function* () {}).constructor; return G("yield 1")().next().value; }',
    outcomes: ['policy', 'runtime'],
  },
  {
    name: 'indirect eval',
    code: 'function f() { const e = globalThis["ev" + "al"]; return e("1 + 1"); }',
    outcomes: ['policy', 'runtime'],
  },
  {
    name: 'require by name',
    code: 'function f() { return require("fs").readFileSync("/etc/passwd", "utf8"); }',
    outcomes: ['policy'],
  },
  { name: 'process by name', code: 'function f() { return process.env; }', outcomes: ['policy'] },
  { name: 'dynamic import', code: 'function f() { return import("fs"); }', outcomes: ['policy'] },
  {
    name: 'dynamic import in the arguments',
    code: 'function f(a) { return a; }',
    args: 'import("fs")',
    outcomes: ['policy'],
  },
  {
    name: 'require through a computed name',
    code: 'function f() { const r = globalThis["requ" + "ire"]; return typeof r === "function" ? r("fs") : "no require"; }',
    outcomes: ['value:"no require"'],
  },
  {
    name: 'process through the global object',
    code: 'function f() { return Object.getOwnPropertyNames(globalThis).filter((name) => /^(process|require|module|Buffer|setTimeout)$/.test(name)); }',
    outcomes: ['value:[]'],
  },
  {
    name: 'prepareStackTrace hijack',
    code: 'function f() { try { Error.prepareStackTrace = (error, frames) => frames.map((frame) => frame.getThis()); } catch (e) { return "locked"; } return typeof new Error().stack; }',
    outcomes: ['value:"locked"', 'value:"string"', 'value:"undefined"'],
  },
  {
    name: 'thrown object with a looping getter',
    code: 'function f() { throw { get message() { while (true) {} } }; }',
    outcomes: ['runtime', 'timeout'],
  },
  {
    name: 'thrown Proxy that loops on every trap',
    code: 'function f() { const p = new Proxy({}, { get() { while (true) {} }, getOwnPropertyDescriptor() { while (true) {} }, getPrototypeOf() { while (true) {} } }); throw p; }',
    outcomes: ['runtime', 'timeout'],
  },
  {
    name: 'returned object with a looping getter',
    code: 'function f() { return { get a() { while (true) {} } }; }',
    outcomes: ['timeout'],
  },
  {
    name: 'returned Proxy that loops on ownKeys',
    code: 'function f() { return new Proxy({}, { ownKeys() { while (true) {} } }); }',
    outcomes: ['timeout'],
  },
  {
    name: 'microtask loop that outlives the call',
    code: 'function f() { Promise.resolve().then(function loop() { Promise.resolve().then(loop); }); return 1; }',
    outcomes: ['timeout'],
  },
  {
    name: 'microtask that hangs after the call returns',
    code: 'function f() { Promise.resolve().then(() => { while (true) {} }); return 1; }',
    outcomes: ['timeout'],
  },
  { name: 'endless loop', code: 'function f() { for (;;) {} }', outcomes: ['timeout'] },
  {
    name: 'ReDoS',
    code: 'function f(s) { return /^(a+)+$/.test(s); }',
    args: '"a".repeat(40) + "b"',
    outcomes: ['timeout'],
  },
  {
    name: 'deep recursion',
    code: 'function f(n) { return f(n + 1) + 1; }',
    args: '0',
    outcomes: ['runtime'],
  },
  {
    name: 'one huge ArrayBuffer',
    code: 'function f() { return new ArrayBuffer(2 ** 31).byteLength; }',
    outcomes: ['runtime', 'memory'],
  },
  {
    name: 'one huge array',
    code: 'function f() { return new Array(1e9).fill(0).length; }',
    outcomes: ['runtime', 'memory', 'timeout'],
    timeoutMs: 3000,
  },
  {
    name: 'one huge string',
    code: 'function f() { return "x".repeat(2 ** 30).length; }',
    outcomes: ['runtime', 'memory'],
  },
  {
    name: 'growing heap',
    code: 'function f() { const all = []; for (;;) all.push(new Array(1e5).fill({ a: 1 })); }',
    outcomes: ['memory', 'timeout'],
    timeoutMs: 5000,
  },
  {
    name: 'string doubling',
    code: 'function f() { let s = "ab"; for (;;) s += s; }',
    outcomes: ['runtime', 'memory'],
    timeoutMs: 5000,
  },
  {
    name: '100 MB output',
    code: 'function f() { return "a".repeat(1e8); }',
    outcomes: ['output-too-large'],
    timeoutMs: 2000,
  },
  {
    name: 'deeply nested output',
    code: 'function f() { let v = []; for (let i = 0; i < 1e5; i++) v = [v]; return v; }',
    outcomes: ['output-too-large'],
  },
  {
    name: 'wide output',
    code: 'function f() { return Array.from({ length: 1e6 }, (_, i) => i); }',
    outcomes: ['output-too-large'],
    timeoutMs: 2000,
  },
  {
    name: 'closing the wrapper from the program',
    code: '}); globalThis.leak = 1; (function () {\nfunction f() { return 1; }',
    outcomes: ['syntax'],
  },
  {
    name: 'closing the call from the arguments',
    code: 'function f(a) { return a; }',
    args: '1)); globalThis.leak = 1; ((2',
    outcomes: ['syntax'],
  },
  {
    name: 'statements smuggled into the arguments',
    code: 'function f(a) { return a; }',
    args: '1); globalThis.leak = 1; (2',
    outcomes: ['syntax'],
  },
  {
    name: 'SharedArrayBuffer and Atomics.wait',
    code: 'function f() { const b = new SharedArrayBuffer(4); Atomics.wait(new Int32Array(b), 0, 0); }',
    outcomes: ['policy', 'runtime'],
  },
  {
    name: 'WebAssembly',
    code: 'function f() { return typeof WebAssembly; }',
    outcomes: ['value:"undefined"'],
  },
  { name: 'the clock', code: 'function f() { return new Date().getTime(); }', outcomes: ['policy'] },
  {
    name: 'the clock through the Date function',
    code: 'function f() { const D = globalThis.Date; return D(); }',
    outcomes: ['policy'],
  },
  {
    name: 'randomness through a computed name',
    code: 'function f() { return Math["ran" + "dom"](); }',
    outcomes: ['policy'],
  },
  {
    name: 'timers',
    code: 'function f() { return [typeof setTimeout, typeof setInterval, typeof setImmediate]; }',
    outcomes: ['value:["undefined","undefined","undefined"]'],
  },
];

function outcomeOf(result: ExecutionResult): string {
  return result.ok ? `value:${result.value}` : result.error.kind;
}

const executors: JavaScriptExecutor[] = [];
afterAll(async () => {
  await Promise.all(executors.map((executor) => executor.close()));
});

for (const isolation of ['context', 'reused'] as JavaScriptIsolation[]) {
  describe(`attacks on the JavaScript executor (${isolation})`, () => {
    const executor = createJavaScriptExecutor({
      isolation,
      workers: 1,
      timeoutMs: 300,
      deadlineSlackMs: 3000,
    });
    executors.push(executor);

    it.each(ATTACKS)('$name', async (attack) => {
      const started = performance.now();
      const result = await executor.run({
        code: attack.code,
        args: attack.args ?? '',
        timeoutMs: attack.timeoutMs ?? 300,
      });
      const elapsed = performance.now() - started;
      expect(attack.outcomes, JSON.stringify(result)).toContain(outcomeOf(result));
      // Within its deadline: its own limit plus the worker replacement slack.
      expect(elapsed).toBeLessThan((attack.timeoutMs ?? 300) + 5000);
      const next = await executor.run({ code: 'function f(a) { return a + 1; }', args: '41' });
      expect(next).toEqual({ ok: true, value: '42' });
    });

    it('replaced every worker process an attack killed, and only memory bombs killed one', () => {
      // A single huge allocation is a fatal out-of-memory error in V8 that takes the worker process down
      // (isolated-vm cannot catch it); the supervisor answers "memory" and starts a new worker.
      const { workersStarted, workersLost } = executor.statistics();
      expect(workersStarted).toBe(1 + workersLost);
      expect(workersLost).toBeLessThanOrEqual(
        ATTACKS.filter((attack) => /huge|heap|doubling/.test(attack.name)).length,
      );
    });
  });
}

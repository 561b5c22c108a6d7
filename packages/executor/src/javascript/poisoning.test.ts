import { createRequire } from 'node:module';
import { DEFAULT_CANONICAL_LIMITS, type ExecutionResult } from '@azr/core/spec';
import { afterAll, describe, expect, it } from 'vitest';
import type { JavaScriptWorkerSettings } from '../protocol.js';
import { createJavaScriptExecutor, type JavaScriptExecutor, type JavaScriptIsolation } from './executor.js';
import { IsolateRunner } from './isolate-runner.js';
import KNOWN_PROGRAMS from './testdata/benchmark-programs.json' with { type: 'json' };

/**
 * State poisoning: programs that try to change what every later program on the same worker sees (built-ins,
 * the global object, prototypes, the stack-trace hooks, the constructors reachable from functions), programs
 * that try to survive their time limit, and programs that walk the stack. Each is judged, and then the next
 * programs on the same worker (a fingerprint of the realm, and every benchmark program validated) must be
 * judged exactly as on a worker that never saw the attack.
 *
 * The probes are checked against a deliberately unsafe configuration too (a reused context left unfrozen, run
 * in this process), where every realm poisoning below must show in the fingerprint: a test that could not
 * fail would prove nothing.
 */

/** Sees the realm as a program does: the behaviour of common built-ins and the shape of the intrinsics. */
const FINGERPRINT = `function f() {
  const out = [];
  const probe = (label, read) => {
    let value;
    try { value = read(); } catch (error) { value = 'threw ' + (error && error.name); }
    out.push(label + '=' + String(value));
  };
  probe('map', () => [1, 2].map((x) => x * 2).join());
  probe('push', () => { const a = []; a.push(1, 2); return a.length; });
  probe('hole', () => typeof [, 1][0]);
  probe('spread', () => [...[1, 2]].join());
  probe('forIn', () => { const keys = []; for (const key in {}) keys.push(key); return keys.join(); });
  probe('then', () => typeof ({}).then + typeof [].polluted);
  probe('toJSON', () => JSON.stringify({ a: [1, 'x'] }) + JSON.parse('[1, 2]').length);
  probe('math', () => [Math.max(1, 2), Math.abs(-3), Math.floor(2.5)].join());
  probe('symbolFor', () => String(Symbol.for('azr') === Symbol.for('azr')) + Symbol.keyFor(Symbol.for('azr')));
  probe('globals', () => Object.getOwnPropertyNames(globalThis).sort().join());
  probe('parseInt', () => parseInt('42') + Array(3).length);
  probe('stackHooks', () => typeof Error.prepareStackTrace + ':' + typeof Error.captureStackTrace + ':' + Error.stackTraceLimit);
  probe('errors', () => String(new TypeError('t')) + new RangeError('r').name + new Error('m').message);
  probe('functions', () => String(function g() { return 1; }).length + Math.max.call(null, 1, 5) + Math.max.apply(null, [1, 6]));
  probe('bind', () => ((a, b) => a + b).bind(null, 1)(2));
  probe('functionConstructor', () => typeof (function () {}).constructor('return 1'));
  probe('asyncConstructor', () => typeof Object.getPrototypeOf(async function () {}).constructor('return 1'));
  probe('strings', () => 'a,b'.split(',').length + 'abc'.replace('b', 'x') + /a/.test('a') + 'x'.padStart(3, '-'));
  probe('dates', () => new Date(5).getTime() + new Date(0).toISOString());
  probe('numbers', () => (1.5).toFixed(2) + Number('7') + Object.keys({ a: 1 }).join());
  probe('sort', () => [3, 1, 2].sort().join());
  probe('legacyRegExp', () => typeof RegExp.$1);
  const shape = [];
  const intrinsics = { Object, 'Object.prototype': Object.prototype, 'Array.prototype': Array.prototype,
    'Function.prototype': Function.prototype, 'String.prototype': String.prototype, JSON, Math, Symbol, Reflect,
    'Promise.prototype': Promise.prototype, 'RegExp.prototype': RegExp.prototype, 'Map.prototype': Map.prototype,
    'Error.prototype': Error.prototype, Error, 'ArrayIterator': Object.getPrototypeOf([][Symbol.iterator]()),
    'Number.prototype': Number.prototype, 'Date.prototype': Date.prototype };
  for (const name of Object.keys(intrinsics)) {
    const object = intrinsics[name];
    for (const key of Reflect.ownKeys(object)) {
      const d = Object.getOwnPropertyDescriptor(object, key);
      const kind = 'value' in d ? typeof d.value + (typeof d.value === 'function' ? ':' + d.value.name : '') : 'accessor:' + (d.get && d.get.name) + ':' + (d.set && d.set.name);
      shape.push(name + '.' + String(key) + '=' + kind + (d.writable ? 'w' : '') + (d.configurable ? 'c' : ''));
    }
    shape.push(name + ' proto ' + String(Object.getPrototypeOf(object) === null ? null : typeof Object.getPrototypeOf(object)));
  }
  out.push(shape.sort().join('|'));
  return out;
}`;

interface Poison {
  readonly name: string;
  /** Statements run inside f, each attempt guarded, so that every level answers "done". */
  readonly attempts: readonly string[];
  /** False for poisonings that only a hardened context offers a route to (nothing to see when unfrozen). */
  readonly showsWhenUnhardened?: boolean;
}

const POISONS: readonly Poison[] = [
  {
    name: 'Array.prototype methods',
    attempts: [
      'Array.prototype.map = function () { return ["poisoned"]; };',
      'Array.prototype.push = function () { return -1; };',
      'Array.prototype.sort = function () { return this; };',
    ],
  },
  {
    name: 'a getter for index 0 on Array.prototype',
    attempts: [
      'Object.defineProperty(Array.prototype, 0, { get() { return "poisoned"; }, configurable: true });',
    ],
  },
  {
    name: 'the array iterator',
    attempts: [
      'Array.prototype[Symbol.iterator] = function* () { yield "poisoned"; };',
      'Object.getPrototypeOf([][Symbol.iterator]()).next = function () { return { done: true }; };',
    ],
  },
  {
    name: 'Object.prototype pollution',
    attempts: [
      'Object.prototype.polluted = "yes";',
      'Object.defineProperty(Object.prototype, "then", { get() { return "poisoned"; }, configurable: true });',
      'Object.defineProperty(Object.prototype, "toJSON", { value: () => "poisoned", writable: true, configurable: true });',
    ],
  },
  {
    name: 'the prototype of Array.prototype',
    attempts: ['Object.setPrototypeOf(Array.prototype, { polluted: "yes" });'],
  },
  {
    name: 'JSON',
    attempts: ['JSON.stringify = () => "poisoned";', 'JSON.parse = () => [];'],
  },
  {
    name: 'Math',
    attempts: ['Math.max = () => -1;', 'Math.abs = (x) => x;'],
  },
  {
    name: 'the Symbol registry',
    attempts: ['Symbol.for = (key) => Symbol(key);', 'Symbol.keyFor = () => "poisoned";'],
  },
  {
    name: 'global properties',
    attempts: [
      'globalThis.leak = "poisoned";',
      'globalThis.parseInt = () => 0;',
      'globalThis.Array = function () { return ["poisoned"]; };',
      'Object.defineProperty(globalThis, "leakGetter", { get() { return 1; }, configurable: true });',
    ],
  },
  {
    name: 'stack-trace hooks',
    attempts: [
      'Error.prepareStackTrace = () => "poisoned";',
      'Object.defineProperty(Error, "prepareStackTrace", { value: () => "poisoned" });',
      'Error.stackTraceLimit = 0;',
      'Error.captureStackTrace = () => {};',
    ],
  },
  {
    name: 'Error prototypes',
    attempts: [
      'Error.prototype.toString = () => "poisoned";',
      'RangeError.prototype.name = "poisoned";',
      'Error.prototype.message = "poisoned";',
    ],
  },
  {
    name: 'Function.prototype methods',
    attempts: [
      'Function.prototype.call = () => "poisoned";',
      'Function.prototype.apply = () => "poisoned";',
      'Function.prototype.bind = () => () => "poisoned";',
      'Function.prototype.toString = () => "poisoned";',
    ],
  },
  {
    name: 'the Function constructor routes',
    attempts: [
      'Function.prototype.constructor = function () { return () => "poisoned"; };',
      'Object.getPrototypeOf(async function () {}).constructor = function () { return () => "poisoned"; };',
      'Object.defineProperty(Function.prototype, "constructor", { value: () => () => "poisoned" });',
    ],
  },
  {
    name: 'String, RegExp, Date and Number methods',
    attempts: [
      'String.prototype.split = () => [];',
      'RegExp.prototype.test = () => false;',
      'Date.prototype.getTime = () => 0;',
      'Number.prototype.toFixed = () => "poisoned";',
      'Object.keys = () => [];',
      'Promise.prototype.then = () => "poisoned";',
    ],
  },
  {
    name: 'the setters of the tamed built-in properties, aimed at shared objects',
    attempts: [
      'Object.getOwnPropertyDescriptor(Object.prototype, "toString").set.call(globalThis, () => "poisoned");',
      'Object.getOwnPropertyDescriptor(Object.prototype, "toString").set.call(Array.prototype, () => "poisoned");',
      'Object.getOwnPropertyDescriptor(Object.prototype, "valueOf").set.call(JSON, () => "poisoned");',
      'Object.getOwnPropertyDescriptor(Error.prototype, "name").set.call(RangeError.prototype, "poisoned");',
      'Object.prototype.toString = () => "poisoned";',
    ],
    showsWhenUnhardened: false,
  },
];

function poisonProgram(poison: Poison): string {
  const attempts = poison.attempts.map((attempt) => `  try { ${attempt} } catch (error) {}`).join('\n');
  return `function f() {\n${attempts}\n  return "done";\n}`;
}

const LEVELS: readonly JavaScriptIsolation[] = ['reused', 'context'];
const executors: JavaScriptExecutor[] = [];
afterAll(async () => {
  await Promise.all(executors.map((executor) => executor.close()));
});

function outcome(result: ExecutionResult): string {
  return result.ok ? `value:${result.value}` : result.error.kind;
}

/** Everything the tests compare between a worker after an attack and one that never saw it. */
async function judgeNext(executor: JavaScriptExecutor): Promise<unknown> {
  const fingerprint = await executor.run({ code: FINGERPRINT, args: '' });
  const validations = await Promise.all(
    KNOWN_PROGRAMS.map(({ code, args }) => executor.validateProgram({ code, argsList: [args] })),
  );
  return { fingerprint, validations };
}

for (const isolation of LEVELS) {
  describe(`state poisoning (${isolation})`, () => {
    // One worker each, so that an attack and the programs after it certainly share it.
    const attacked = createJavaScriptExecutor({
      isolation,
      workers: 1,
      timeoutMs: 300,
      deadlineSlackMs: 3000,
    });
    const fresh = createJavaScriptExecutor({ isolation, workers: 1, timeoutMs: 300 });
    executors.push(attacked, fresh);
    let baseline: unknown;

    it('the fingerprint reads the realm without failing', async () => {
      baseline = await judgeNext(fresh);
      const { fingerprint } = baseline as { fingerprint: ExecutionResult };
      expect(fingerprint.ok, JSON.stringify(fingerprint)).toBe(true);
      expect(outcome(fingerprint)).toContain('map=2,4');
      expect(outcome(fingerprint)).toContain('functionConstructor=threw');
    });

    it.each(POISONS)(
      '$name: answered "done", and the next programs are judged as on a fresh worker',
      async (poison) => {
        const result = await attacked.run({ code: poisonProgram(poison), args: '' });
        expect(result).toEqual({ ok: true, value: '"done"' });
        expect(await judgeNext(attacked)).toEqual(baseline);
      },
    );

    it('programs that count their own runs through every shared slot they can find count as on a fresh worker, every time', async () => {
      const code = `function f() {
  const slots = [globalThis, Object.prototype, Array.prototype, Math, JSON, Symbol, Function.prototype, Error];
  let runs = 0;
  for (const slot of slots) {
    try { slot.azrRuns = (slot.azrRuns || 0) + 1; } catch (error) {}
    try { slot[Symbol.for('azr.runs')] = (slot[Symbol.for('azr.runs')] || 0) + 1; } catch (error) {}
    runs = Math.max(runs, slot.azrRuns || 0, slot[Symbol.for('azr.runs')] || 0);
  }
  try { counter = (typeof counter === 'number' ? counter : 0) + 1; runs = Math.max(runs, counter); } catch (error) {}
  return runs;
}`;
      // A fresh context lets the writes through, so the program sees what its own first call left and its
      // validation is "nondeterministic"; a reused one refuses them (0 every time). Either way a worker after
      // the attack judges it as a fresh worker does, every time.
      const validatedFresh = await fresh.validateProgram({ code, argsList: [''] });
      const ranFresh = await fresh.run({ code, args: '' });
      if (isolation === 'reused') {
        expect(validatedFresh).toEqual({ ok: true, outputs: ['0'] });
      } else {
        expect(validatedFresh.ok ? 'ok' : validatedFresh.error.kind).toBe('nondeterministic');
      }
      for (let round = 0; round < 3; round += 1) {
        expect(await attacked.validateProgram({ code, argsList: [''] })).toEqual(validatedFresh);
        expect(await attacked.run({ code, args: '' })).toEqual(ranFresh);
      }
    });

    it('a program that swallows interrupts is stopped as "timeout", and the next programs are judged as on a fresh worker', async () => {
      const swallowers = [
        'function f() { for (;;) { try { for (;;) {} } catch (error) {} } }',
        'function f() { try { for (;;) {} } finally { for (;;) {} } }',
        'function f() { for (;;) { try { throw 1; } catch (error) { continue; } } }',
        'function f() { const deeper = () => { try { deeper(); } catch (error) { for (;;) {} } }; deeper(); }',
        'async function f() { for (;;) { try { await null; } catch (error) {} } }',
        'function f() { Promise.resolve().then(function again() { try { for (;;) {} } catch (error) { again(); } }); return 1; }',
      ];
      for (const code of swallowers) {
        expect(outcome(await attacked.run({ code, args: '', timeoutMs: 100 })), code).toBe('timeout');
        const validation = await attacked.validateProgram({ code, argsList: [''], timeoutMs: 100 });
        expect(validation.ok ? 'ok' : validation.error.kind, code).toBe('timeout');
        expect(await judgeNext(attacked)).toEqual(baseline);
      }
    });

    it('a program that walks the stack finds nothing of the harness, and the same on every worker', async () => {
      // The caller chain stops at the program's own wrapper (the harness above it is strict code, which
      // \`.caller\` does not reveal); a stack trace names harness frames as text, the same text on every worker,
      // and no host path.
      const walkers: readonly [string, RegExp][] = [
        [
          'function f() { const names = []; let current = f; for (let i = 0; i < 8 && current; i++) { names.push(current.name); try { current = current.caller; } catch (error) { names.push("threw"); break; } } return names; }',
          /__azr|guarded|withImplicitGlobals|compile/,
        ],
        [
          'function f() { const wrapper = arguments.callee.caller; return [typeof wrapper, wrapper && wrapper.caller, wrapper && wrapper.arguments && wrapper.arguments.length]; }',
          /__azr|guarded|withImplicitGlobals|compile/,
        ],
        [
          'function f() { return String(new Error("where").stack).split("\\n").length; }',
          /\/work|node:|file:/,
        ],
        [
          'function f() { try { Error.prepareStackTrace = (error, frames) => frames.map((frame) => typeof frame.getThis()); } catch (error) { return "locked"; } return new Error("x").stack; }',
          /\/work|node:|file:|object|function/,
        ],
      ];
      for (const [code, mustNotShow] of walkers) {
        const seen = await attacked.run({ code, args: '' });
        expect(seen, code).toEqual(await fresh.run({ code, args: '' }));
        expect(seen.ok, code).toBe(true);
        expect(outcome(seen), code).not.toMatch(mustNotShow);
        expect(await attacked.validateProgram({ code, argsList: [''] }), code).toEqual(
          await fresh.validateProgram({ code, argsList: [''] }),
        );
      }
      expect(await judgeNext(attacked)).toEqual(baseline);
    });
  });
}

describe('what a program can reach in the reused context', () => {
  it('is frozen, every object of it, from the global object and from everything syntax can make', async () => {
    const executor = createJavaScriptExecutor({ isolation: 'reused', workers: 1 });
    executors.push(executor);
    // Fresh objects of every kind a program can create without naming a global lead to the intrinsics it
    // cannot name (iterator, generator and async prototypes, %ThrowTypeError%, %TypedArray%): their prototypes
    // are walked, not the fresh objects themselves.
    const code = `function f() {
  const roots = [['globalThis', globalThis]];
  const fresh = { arrow: () => 1, plain: function () {}, method: { m() {} }.m, klass: class {}, generator: function* () {},
    asyncFunction: async function () {}, asyncGenerator: async function* () {}, generated: (function* () {})(),
    asyncGenerated: (async function* () {})(), arrayIterator: [][Symbol.iterator](), mapIterator: new Map().entries(),
    setIterator: new Set().values(), stringIterator: ''[Symbol.iterator](), matchAll: 'a'.matchAll(/a/g),
    promise: Promise.resolve(), args: (function () { return arguments; })(),
    strictArgs: (function () { 'use strict'; return arguments; })(), error: new Error('e'), regexp: /a/,
    typed: new Uint8Array(1), template: ((strings) => strings)\`t\`, object: {}, array: [] };
  for (const name of Object.keys(fresh)) roots.push([name + ' prototype', Object.getPrototypeOf(fresh[name])]);
  // A generator object's prototype is its own function's fresh .prototype; the shared one is above it.
  for (const name of ['generated', 'asyncGenerated']) roots.push([name + ' prototype prototype', Object.getPrototypeOf(Object.getPrototypeOf(fresh[name]))]);
  roots.push(['callee accessor', Object.getOwnPropertyDescriptor(fresh.strictArgs, 'callee').get]);
  const seen = new Set([Object.getPrototypeOf(fresh.generated), Object.getPrototypeOf(fresh.asyncGenerated)]);
  const open = [];
  const pending = roots.slice();
  while (pending.length > 0) {
    const [path, object] = pending.pop();
    if (object === null || (typeof object !== 'object' && typeof object !== 'function') || seen.has(object)) continue;
    seen.add(object);
    if (!Object.isFrozen(object)) open.push(path);
    pending.push([path + '.[[Prototype]]', Object.getPrototypeOf(object)]);
    for (const key of Reflect.ownKeys(object)) {
      const d = Object.getOwnPropertyDescriptor(object, key);
      if ('value' in d) pending.push([path + '.' + String(key), d.value]);
      if (d.get) pending.push([path + '.' + String(key) + '.get', d.get]);
      if (d.set) pending.push([path + '.' + String(key) + '.set', d.set]);
    }
  }
  return [seen.size, open];
}`;
    const result = await executor.run({ code, args: '' });
    expect(result.ok, JSON.stringify(result)).toBe(true);
    const [objects, open] = JSON.parse(result.ok ? result.value : '[]') as [number, string[]];
    expect(open).toEqual([]);
    expect(objects).toBeGreaterThan(500);
  });
});

describe('state poisoning of the isolate itself (reused)', () => {
  it('strings kept alive in the Symbol registry do not leave the next program short of memory', async () => {
    const executor = createJavaScriptExecutor({ isolation: 'reused', workers: 1, timeoutMs: 3000 });
    executors.push(executor);
    // About 90 MB of registered keys: no program can read them back, but they stay in the isolate's heap, and
    // a second program that needs as much is then stopped at the memory limit on a worker that kept them.
    const hoarding = (prefix: string) =>
      `function f() { for (let i = 0; i < 90; i++) Symbol.for("${prefix}" + String(i).padEnd(1 << 20, "x")); return "kept"; }`;
    for (const prefix of ['first', 'second', 'third']) {
      expect(await executor.run({ code: hoarding(prefix), args: '', timeoutMs: 5000 }), prefix).toEqual({
        ok: true,
        value: '"kept"',
      });
    }
  });
});

describe('the probes can fail: an unhardened reused context (in this process) shows every realm poisoning', () => {
  const settings: JavaScriptWorkerSettings = {
    isolation: 'reused',
    memoryLimitMb: 128,
    limits: DEFAULT_CANONICAL_LIMITS,
  };
  const isolatedVm = createRequire(import.meta.url)('isolated-vm');
  const fingerprintOf = (runner: IsolateRunner) =>
    runner.execute({ id: 0, type: 'run', code: FINGERPRINT, entry: 'f', args: '', timeoutMs: 1000 });

  it.each(POISONS.filter((poison) => poison.showsWhenUnhardened !== false))('$name', (poison) => {
    const unsafe = new IsolateRunner(isolatedVm, settings, { hardened: false });
    const hardened = new IsolateRunner(isolatedVm, settings);
    try {
      const before = fingerprintOf(unsafe);
      const run = (runner: IsolateRunner) =>
        runner.execute({
          id: 1,
          type: 'run',
          code: poisonProgram(poison),
          entry: 'f',
          args: '',
          timeoutMs: 1000,
        });
      expect(run(unsafe)).toEqual({ ok: true, value: '"done"' });
      expect(fingerprintOf(unsafe)).not.toEqual(before);
      // The same runner class, hardened, is unchanged by the same attack.
      const hardenedBefore = fingerprintOf(hardened);
      expect(run(hardened)).toEqual({ ok: true, value: '"done"' });
      expect(fingerprintOf(hardened)).toEqual(hardenedBefore);
    } finally {
      unsafe.dispose();
      hardened.dispose();
    }
  });
});

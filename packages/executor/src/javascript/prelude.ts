import { type CanonicalLimits, createCanonicalEncoder } from '@azr/core/spec';
import { STATUS } from '../status.js';

/** Names of the functions the prelude installs; programs cannot see or replace them. */
export const HOOKS = {
  run: '__azrRun',
  validate: '__azrValidate',
  literal: '__azrLiteral',
} as const;

/**
 * Prefix of the status a hook answers when a program failed on an assignment to an undeclared name in the reused
 * context: the name, U+0000, and the status the failure has if it stands. Only the runner sees it.
 */
export const UNDECLARED_STATUS = '\u0001';

/** Globals the prelude removes; a program that uses one gets a policy failure naming it. */
export const REMOVED_GLOBALS = [
  'performance',
  'Intl',
  'WeakRef',
  'FinalizationRegistry',
  'SharedArrayBuffer',
  'Atomics',
  'WebAssembly',
  'queueMicrotask',
  'escape',
  'unescape',
] as const;

/** Host globals that never exist in the sandbox; using one is reported as a policy violation too. */
const HOST_GLOBALS = [
  'require',
  'process',
  'module',
  'exports',
  'Buffer',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'fetch',
];

/**
 * The source evaluated in every sandbox context before any program: it captures what the hooks need, then
 * removes or replaces everything that makes results differ between runs or reaches outside the program.
 *
 * With `freeze`, it also freezes every object reachable from the global object (the hardened reused context):
 * a program then cannot leave state behind for the next one.
 *
 * One long template on purpose: it is the source of one script that the sandbox evaluates before any program,
 * and its parts must run in this order in one scope, capturing built-ins before removing them.
 */
export function buildPrelude(limits: CanonicalLimits, options: { readonly freeze: boolean }): string {
  return `(() => {
'use strict';
const encode = (${createCanonicalEncoder.toString()})();
const limits = Object.freeze(${JSON.stringify(limits)});
const defineProperty = Object.defineProperty;
const getOwnPropertyNames = Object.getOwnPropertyNames;
const getOwnPropertySymbols = Object.getOwnPropertySymbols;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const getPrototypeOf = Object.getPrototypeOf;
const freeze = Object.freeze;
const isFrozen = Object.isFrozen;
const apply = Reflect.apply;
const stringify = JSON.stringify;
const toStringValue = String;
const errorPrototype = Error.prototype;
const global = globalThis;
// Captured before the prelude replaces it: the hooks compile each program as a function body with it, which
// V8 parses on its own, so a program cannot reach outside its function whatever its text.
const compileFunction = Function;
const regExpExec = RegExp.prototype.exec;
const referenceErrorPrototype = ReferenceError.prototype;
const hasOwn = Object.prototype.hasOwnProperty;
const mapGet = Map.prototype.get;
const mapSet = Map.prototype.set;
// Getter -> value of the built-in properties that the reused context turns into accessors (see tame).
const tamedValues = new Map();
const unavailable = new Set(${JSON.stringify([...REMOVED_GLOBALS, ...HOST_GLOBALS])});
const notDefined = /^([A-Za-z_$][A-Za-z0-9_$]*) is not defined$/;

class PolicyViolation {
  constructor(message) { this.message = message; }
}
function forbidden(what) {
  return function () { throw new PolicyViolation(what + ' is not available in the sandbox'); };
}

function describe(error) {
  try {
    if (error instanceof PolicyViolation) return '${STATUS.policy}' + error.message;
    if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
      const nameDescriptor = getOwnPropertyDescriptor(error, 'name');
      let name = nameDescriptor && 'value' in nameDescriptor ? nameDescriptor.value : undefined;
      if (typeof name !== 'string') {
        let prototype = getPrototypeOf(error);
        for (let guard = 0; prototype !== null && guard < 100 && typeof name !== 'string'; guard += 1) {
          const inherited = getOwnPropertyDescriptor(prototype, 'name');
          name = inherited === undefined ? undefined : 'value' in inherited ? inherited.value : apply(mapGet, tamedValues, [inherited.get]);
          prototype = getPrototypeOf(prototype);
        }
      }
      const messageDescriptor = getOwnPropertyDescriptor(error, 'message');
      const message = messageDescriptor && 'value' in messageDescriptor ? messageDescriptor.value : undefined;
      const label = typeof name === 'string' ? name : 'Error';
      if (label === 'ReferenceError' && typeof message === 'string') {
        const match = apply(RegExp.prototype.exec, notDefined, [message]);
        if (match !== null && unavailable.has(match[1])) {
          return '${STATUS.policy}' + match[1] + ' is not available in the sandbox';
        }
      }
      return '${STATUS.threw}' + (typeof message === 'string' ? label + ': ' + message.slice(0, 1000) : label);
    }
    return '${STATUS.threw}thrown value: ' + (typeof error === 'string' ? error.slice(0, 1000) : typeof error);
  } catch {
    return '${STATUS.threw}an exception that could not be described';
  }
}

function encodeResult(value) {
  const result = encode(value, limits);
  return result.ok ? '${STATUS.ok}' + result.value : '${STATUS.refused}' + result.message;
}

function guarded(body) {
  try {
    try {
      return body();
    } catch (error) {
      return describe(error);
    }
  } catch {
    return '${STATUS.threw}the program exhausted the stack while failing';
  }
}

// Determinism: no randomness, no clock, no locale, no weak references, no shared memory, no code from strings.
Math.random = forbidden('Math.random');
const NativeDate = Date;
function SandboxDate(...args) {
  if (!new.target) throw new PolicyViolation('Date() (the current time) is not available in the sandbox');
  if (args.length === 0) throw new PolicyViolation('new Date() (the current time) is not available in the sandbox');
  return Reflect.construct(NativeDate, args, new.target);
}
SandboxDate.prototype = NativeDate.prototype;
SandboxDate.UTC = NativeDate.UTC;
SandboxDate.parse = NativeDate.parse;
SandboxDate.now = forbidden('Date.now');
defineProperty(NativeDate.prototype, 'constructor', { value: SandboxDate, writable: true, configurable: true });
global.Date = SandboxDate;
for (const name of ${JSON.stringify(REMOVED_GLOBALS)}) {
  Reflect.deleteProperty(global, name);
}
const localeFree = {
  localeCompare(that) { const a = toStringValue(this), b = toStringValue(that); return a < b ? -1 : a > b ? 1 : 0; },
  toLocaleUpperCase() { return apply(String.prototype.toUpperCase, this, []); },
  toLocaleLowerCase() { return apply(String.prototype.toLowerCase, this, []); },
};
for (const name of ['localeCompare', 'toLocaleUpperCase', 'toLocaleLowerCase']) {
  defineProperty(String.prototype, name, { value: localeFree[name], writable: true, configurable: true });
}
for (const prototype of [Number.prototype, BigInt.prototype, Array.prototype, Object.prototype, Date.prototype]) {
  for (const name of ['toLocaleString', 'toLocaleDateString', 'toLocaleTimeString']) {
    if (getOwnPropertyDescriptor(prototype, name)) {
      defineProperty(prototype, name, { value: function () { return apply(prototype === Date.prototype ? NativeDate.prototype.toISOString : prototype.toString, this, []); }, writable: true, configurable: true });
    }
  }
}
for (const name of ['input', '$_', 'lastMatch', '$&', 'lastParen', '$+', 'leftContext', '$\`', 'rightContext', "$'", '$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9']) {
  Reflect.deleteProperty(RegExp, name);
}
global.eval = forbidden('eval');
const forbiddenFunction = forbidden('The Function constructor');
// As for the real one, \`Function.prototype\` is the prototype of every function (so \`instanceof Function\`
// holds, and what a program reaches as \`Function.prototype\` is the object every function inherits from).
defineProperty(forbiddenFunction, 'prototype', { value: getPrototypeOf(function () {}), writable: false });
for (const sample of [function () {}, function* () {}, async function () {}, async function* () {}]) {
  const prototype = getPrototypeOf(sample);
  const original = prototype.constructor;
  defineProperty(prototype, 'constructor', { value: forbiddenFunction, writable: true, configurable: true });
  if (original === Function) global.Function = forbiddenFunction;
}
defineProperty(Error, 'prepareStackTrace', { value: undefined, writable: false, configurable: false });
Reflect.deleteProperty(Error, 'captureStackTrace');

function compile(code, entry, args) {
  try {
    return new compileFunction(code + '\\n;return function () { return ' + entry + '(\\n' + args + '\\n); };');
  } catch (error) {
    return '${STATUS.syntax}' + describe(error).slice(1);
  }
}

// A sloppy program may assign to a variable it never declared (\`for (i = 0; ...)\`), which creates a global in
// a fresh context. The global object of a reused context is frozen, so there the assignment throws a
// ReferenceError instead. The hooks then answer the undeclared status with the name and the failure as it stands;
// the runner decides from the syntax tree whether sloppy code assigns to that name (in strict code a fresh
// context throws too), and if so calls again with the name declared at the top of the program's own scope
// (on its first line, so line numbers hold): the program then behaves as in a fresh context, and the name
// still leaves nothing behind.
function undeclaredName(error) {
  if (error === null || typeof error !== 'object' || getPrototypeOf(error) !== referenceErrorPrototype) return undefined;
  const descriptor = getOwnPropertyDescriptor(error, 'message');
  const message = descriptor && 'value' in descriptor ? descriptor.value : undefined;
  if (typeof message !== 'string') return undefined;
  const match = apply(regExpExec, notDefined, [message]);
  if (match === null || unavailable.has(match[1]) || apply(hasOwn, global, [match[1]])) return undefined;
  return match[1];
}
function withDeclarations(code, entry, args, declarations, use) {
  const setup = compile(declarations + code, entry, args);
  if (typeof setup === 'string') return setup;
  try {
    return use(setup);
  } catch (error) {
    const name = undeclaredName(error);
    if (name === undefined) throw error;
    return '${UNDECLARED_STATUS}' + name + '\\u0000' + describe(error);
  }
}

const hooks = {
  ${HOOKS.run}(code, entry, args, declarations) {
    return guarded(() => withDeclarations(code, entry, args, declarations, (setup) => encodeResult(setup()())));
  },
  ${HOOKS.validate}(code, entry, args, declarations) {
    return guarded(() => withDeclarations(code, entry, args, declarations, (setup) => {
      const call = setup();
      const first = encodeResult(call());
      if (first[0] !== '${STATUS.ok}') return first;
      const second = encodeResult(call());
      if (second === first) return first;
      if (second[0] !== '${STATUS.ok}') return second;
      return '${STATUS.nondeterministic}' + first.slice(1) + '\\u0000' + second.slice(1);
    }));
  },
  ${HOOKS.literal}(source) {
    return guarded(() => {
      let read;
      try {
        read = new compileFunction('return (\\n' + source + '\\n);');
      } catch (error) {
        return '${STATUS.syntax}' + describe(error).slice(1);
      }
      return encodeResult(read());
    });
  },
};
for (const name of getOwnPropertyNames(hooks)) {
  defineProperty(global, name, { value: hooks[name], writable: false, configurable: false, enumerable: false });
}

${
  options.freeze
    ? `// Hardened reused context. First the override mistake: once a prototype is frozen, assigning an own
// property of the same name on an object that inherits from it fails (\`this.name = ...\` in an Error subclass,
// \`Foo.prototype.toString = ...\`, \`obj.valueOf = ...\`), silently in sloppy code and with a TypeError in
// strict code, where a fresh context would accept it. The properties programs commonly override become
// accessors whose getter returns the original and whose setter defines the property on the object assigned
// to, as it would have been; assigning on the prototype itself still fails.
function tame(object, key) {
  const descriptor = getOwnPropertyDescriptor(object, key);
  if (descriptor === undefined || !('value' in descriptor) || !descriptor.writable || !descriptor.configurable) return;
  const value = descriptor.value;
  const getter = { [key]() { return value; } }[key];
  apply(mapSet, tamedValues, [getter, value]);
  defineProperty(object, key, {
    get: getter,
    set: { [key](replacement) {
      if (this === object) throw new TypeError('Cannot assign to read only property of a built-in prototype');
      if (this === null || (typeof this !== 'object' && typeof this !== 'function')) return;
      defineProperty(this, key, { value: replacement, writable: true, enumerable: true, configurable: true });
    } }[key],
    enumerable: descriptor.enumerable,
    configurable: false,
  });
}
// \`constructor\` stays a data property on the prototypes of built-in classes: the canonical encoder names an
// object (an error, a promise) by reading it as one. Plain objects and functions are not named that way.
for (const key of getOwnPropertyNames(Object.prototype)) tame(Object.prototype, key);
for (const key of getOwnPropertyNames(Function.prototype)) tame(Function.prototype, key);
for (const ErrorType of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError]) {
  for (const key of ['name', 'message', 'toString']) tame(ErrorType.prototype, key);
}
for (const value of [Array, ArrayBuffer, BigInt, Boolean, DataView, Date, Map, Number, Promise, RegExp, Set, String,
  Symbol, WeakMap, WeakSet, getPrototypeOf(Uint8Array)]) {
  const prototype = value.prototype;
  for (const key of ['toString', 'toLocaleString', 'valueOf', 'toJSON']) tame(prototype, key);
}

// Then freeze everything reachable from the global object, the global included.
const seen = new Set();
// Intrinsics that no global property leads to: iterator, generator and async function prototypes.
const pending = [global, [].values(), new Map().entries(), new Set().values(), ''[Symbol.iterator](),
  /a/[Symbol.matchAll]('a'), (function* () {})(), (async function* () {})(), function* () {},
  async function () {}, async function* () {}, Promise.resolve()];
while (pending.length > 0) {
  const object = pending.pop();
  if (object === null || (typeof object !== 'object' && typeof object !== 'function') || seen.has(object)) continue;
  seen.add(object);
  const prototype = getPrototypeOf(object);
  if (prototype !== null) pending.push(prototype);
  for (const key of [...getOwnPropertyNames(object), ...getOwnPropertySymbols(object)]) {
    const descriptor = getOwnPropertyDescriptor(object, key);
    if (descriptor === undefined) continue;
    if ('value' in descriptor) pending.push(descriptor.value);
    if (descriptor.get) pending.push(descriptor.get);
    if (descriptor.set) pending.push(descriptor.set);
  }
  // A typed array with elements cannot be frozen; the prelude creates none.
  if (!isFrozen(object)) freeze(object);
}`
    : ''
}
void errorPrototype;
})();`;
}

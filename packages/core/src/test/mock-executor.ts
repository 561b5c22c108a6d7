import { createContext, Script } from 'node:vm';
import {
  type CanonicalLimits,
  createCanonicalEncoder,
  DEFAULT_CANONICAL_LIMITS,
} from '../canonical/encoder.js';
import { ResourceClosedError } from '../errors/errors.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import type {
  ExecutionResult,
  ExecutorV1,
  RunRequest,
  ValidateProgramRequest,
  ValidationResult,
} from '../spec/executor.js';

/** Scripted answers: return a result to answer a call, or `undefined` to let the mock execute it. */
export interface MockExecutorHandlers {
  readonly run?: (request: RunRequest) => ExecutionResult | undefined;
  readonly evaluateLiteral?: (source: string) => ExecutionResult | undefined;
  readonly validateProgram?: (request: ValidateProgramRequest) => ValidationResult | undefined;
}

/** Settings of {@link MockExecutor}. */
export interface MockExecutorSettings {
  /** Time limit of one call, in milliseconds. Default `1000`. */
  readonly timeoutMs?: number;
  /** Caps of the canonical encoding. Default {@link DEFAULT_CANONICAL_LIMITS}. */
  readonly limits?: CanonicalLimits;
  /** Scripted answers that take precedence over execution. */
  readonly handlers?: MockExecutorHandlers;
}

/** One recorded call. */
export type MockExecutorCall =
  | { readonly method: 'run'; readonly request: RunRequest }
  | { readonly method: 'evaluateLiteral'; readonly source: string }
  | { readonly method: 'validateProgram'; readonly request: ValidateProgramRequest };

// Installed before the program runs, as a non-writable global, so the program can neither see nor replace
// the built-ins it captured. The result leaves the context as one string: `o<canonical>` or `e<message>`.
const ENCODER_SOURCE = `Object.defineProperty(globalThis, '__azrEncode', { value: ((encode) => (value, limits) => {
  const result = encode(value, limits);
  return result.ok ? 'o' + result.value : 'e' + result.message;
})((${createCanonicalEncoder.toString()})()), writable: false, configurable: false, enumerable: false });`;

/**
 * A test double for {@link ExecutorV1} that runs JavaScript in a fresh `node:vm` context per call, in the test's
 * own process. **It is not a sandbox**: `node:vm` does not protect the host from hostile code, has no memory
 * limit, and a program can block the process past its timeout with asynchronous work. Use it to isolate units
 * (task modes, trainer phases) in tests; train with `@azr/executor`.
 *
 * It keeps the contract's observable behaviour, which the executor conformance suite checks: canonical values
 * encoded inside the context, typed failure kinds, timeouts, determinism checks by running twice. Every call
 * is recorded in {@link MockExecutor.calls}, and {@link MockExecutorSettings.handlers} can script answers.
 */
export class MockExecutor implements ExecutorV1 {
  readonly specificationVersion = 'v1' as const;
  readonly executorId = 'mock';
  readonly language = 'javascript' as const;
  /** Every call made to the executor, in order. */
  readonly calls: MockExecutorCall[] = [];
  readonly #timeoutMs: number;
  readonly #limits: CanonicalLimits;
  readonly #handlers: MockExecutorHandlers;
  #closed = false;

  constructor(settings: MockExecutorSettings = {}) {
    this.#timeoutMs = settings.timeoutMs ?? 1000;
    this.#limits = settings.limits ?? DEFAULT_CANONICAL_LIMITS;
    this.#handlers = settings.handlers ?? {};
  }

  async run(request: RunRequest): Promise<ExecutionResult> {
    this.#assertOpen();
    this.calls.push({ method: 'run', request });
    const scripted = this.#handlers.run?.(request);
    if (scripted !== undefined) {
      return scripted;
    }
    return this.#execute(request.code, request.entry ?? 'f', request.args, request.timeoutMs);
  }

  async evaluateLiteral(source: string): Promise<ExecutionResult> {
    this.#assertOpen();
    this.calls.push({ method: 'evaluateLiteral', source });
    const scripted = this.#handlers.evaluateLiteral?.(source);
    if (scripted !== undefined) {
      return scripted;
    }
    const compiled = compile(`(\n${source}\n)`);
    if (!compiled.ok) {
      return compiled;
    }
    return this.#evaluate('', `__azrEncode((\n${source}\n), __azrLimits)`, this.#timeoutMs);
  }

  async validateProgram(request: ValidateProgramRequest): Promise<ValidationResult> {
    this.#assertOpen();
    this.calls.push({ method: 'validateProgram', request });
    const scripted = this.#handlers.validateProgram?.(request);
    if (scripted !== undefined) {
      return scripted;
    }
    const compiled = compile(request.code);
    if (!compiled.ok) {
      return { ok: false, error: compiled.error, argsIndex: undefined };
    }
    const outputs: CanonicalValue[] = [];
    for (const [argsIndex, args] of request.argsList.entries()) {
      const result = this.#execute(request.code, request.entry ?? 'f', args, request.timeoutMs, 2);
      if (!result.ok) {
        return { ok: false, error: result.error, argsIndex };
      }
      outputs.push(result.value);
    }
    return { ok: true, outputs };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new ResourceClosedError({ resource: 'MockExecutor' });
    }
  }

  /** Loads the program into a fresh context and calls `entry` once, or twice to compare the results. */
  #execute(
    code: string,
    entry: string,
    args: string,
    timeoutMs: number | undefined,
    calls: 1 | 2 = 1,
  ): ExecutionResult {
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(entry)) {
      return { ok: false, error: { kind: 'syntax', message: `"${entry}" is not a function name` } };
    }
    const compiledArgs = compile(`[\n${args}\n]`);
    if (!compiledArgs.ok) {
      return compiledArgs;
    }
    const compiledCode = compile(code);
    if (!compiledCode.ok) {
      return compiledCode;
    }
    const call = `__azrEncode(${entry}(\n${args}\n), __azrLimits)`;
    const expression =
      calls === 1
        ? call
        : `(() => { const first = ${call}; if (first[0] !== 'o') return first; const second = ${call}; ` +
          `return first === second ? first : 'n' + first.slice(1) + ' and ' + second.slice(1); })()`;
    return this.#evaluate(code, expression, (timeoutMs ?? this.#timeoutMs) * calls);
  }

  /** Runs `statements`, then `expression`, whose value (the script's completion value) is the status string. */
  #evaluate(statements: string, expression: string, timeoutMs: number): ExecutionResult {
    const context = createContext(Object.create(null), {
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate',
    });
    new Script(ENCODER_SOURCE).runInContext(context);
    new Script(
      `Object.defineProperty(globalThis, '__azrLimits', { value: Object.freeze(${JSON.stringify(this.#limits)}) });`,
    ).runInContext(context);
    let script: Script;
    try {
      script = new Script(`${statements}\n;${expression};`);
    } catch (error) {
      return { ok: false, error: { kind: 'syntax', message: describe(error) } };
    }
    let encoded: unknown;
    try {
      encoded = script.runInContext(context, { timeout: timeoutMs });
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        return {
          ok: false,
          error: { kind: 'timeout', message: `the call did not finish within ${timeoutMs} ms` },
        };
      }
      return { ok: false, error: { kind: 'runtime', message: describe(error) } };
    }
    if (typeof encoded !== 'string') {
      return {
        ok: false,
        error: { kind: 'runtime', message: 'the program did not return through the encoder' },
      };
    }
    if (encoded.startsWith('o')) {
      return { ok: true, value: encoded.slice(1) as CanonicalValue };
    }
    if (encoded.startsWith('n')) {
      return {
        ok: false,
        error: { kind: 'nondeterministic', message: `two calls returned ${encoded.slice(1)}` },
      };
    }
    return { ok: false, error: { kind: 'output-too-large', message: encoded.slice(1) } };
  }
}

function compile(source: string): ExecutionResult | { readonly ok: true } {
  try {
    new Script(source);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: { kind: 'syntax', message: describe(error) } };
  }
}

function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const name = (error as { name?: unknown }).name;
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') {
      return typeof name === 'string' ? `${name}: ${message}` : message;
    }
  }
  return `thrown value: ${String(error)}`;
}

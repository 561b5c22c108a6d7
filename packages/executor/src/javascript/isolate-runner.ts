import type { CanonicalValue, ExecutionFailure, ValidationResult } from '@azr/core/spec';
import type ivm from 'isolated-vm';
import type { JavaScriptWorkerSettings, Job, JobResult } from '../protocol.js';
import { statusToResult } from '../status.js';
import { buildPrelude, HOOKS, UNDECLARED_STATUS } from './prelude.js';
import {
  assignsInSloppyCode,
  checkArguments,
  checkEntry,
  checkLiteral,
  programParses,
  usesDynamicImport,
} from './static-check.js';

type IsolatedVm = typeof ivm;

/**
 * Runs jobs in isolated-vm, inside a worker process: a fresh context per call (`context`), one frozen context
 * shared by every call (`reused`), or a new isolate per call (`isolate`). After a timeout or a memory error the
 * isolate is thrown away and a new one made, so nothing a program scheduled can outlive its call.
 */
export class IsolateRunner {
  readonly #ivm: IsolatedVm;
  readonly #settings: JavaScriptWorkerSettings;
  readonly #prelude: string;
  #isolate: ivm.Isolate;
  #shared: Hooks | undefined;
  #callsOnIsolate = 0;
  #compiledPrelude: ivm.Script | undefined;
  #compiledPreludeIsolate: ivm.Isolate | undefined;

  /**
   * `options.hardened: false` leaves the reused context unfrozen. It exists only so that the poisoning tests can
   * show that their probes see what an attack leaves behind when nothing stops it; no executor setting reaches it.
   */
  constructor(
    isolatedVm: IsolatedVm,
    settings: JavaScriptWorkerSettings,
    options: { readonly hardened?: boolean } = {},
  ) {
    this.#ivm = isolatedVm;
    this.#settings = settings;
    this.#prelude = buildPrelude(settings.limits, {
      freeze: settings.isolation === 'reused' && options.hardened !== false,
    });
    this.#isolate = this.#createIsolate();
  }

  execute(job: Job): JobResult {
    switch (job.type) {
      case 'run': {
        const check = firstFailure(
          checkEntry(job.entry),
          checkArguments(job.args),
          checkNoDynamicImport(job.code, job.args),
        );
        if (check !== undefined) return { ok: false, error: check };
        return statusToResult(this.#callProgram('run', job.code, job.entry, job.args, job.timeoutMs));
      }
      case 'literal': {
        const check = firstFailure(checkLiteral(job.source));
        if (check !== undefined) return { ok: false, error: check };
        return statusToResult(this.#call('literal', [job.source], job.timeoutMs));
      }
      case 'validate':
        return this.#validate(job);
    }
  }

  dispose(): void {
    if (!this.#isolate.isDisposed) {
      this.#isolate.dispose();
    }
  }

  #validate(job: Extract<Job, { type: 'validate' }>): ValidationResult {
    const entryCheck = firstFailure(checkEntry(job.entry), checkNoDynamicImport(job.code, ...job.argsList));
    if (entryCheck !== undefined) {
      return { ok: false, error: entryCheck, argsIndex: undefined };
    }
    for (const [argsIndex, args] of job.argsList.entries()) {
      const argumentsCheck = checkArguments(args);
      if (!argumentsCheck.ok) return { ok: false, error: argumentsCheck.error, argsIndex };
    }
    if (job.argsList.length === 0) {
      return { ok: false, error: { kind: 'syntax', message: 'argsList is empty' }, argsIndex: undefined };
    }
    const outputs: CanonicalValue[] = [];
    for (const [argsIndex, args] of job.argsList.entries()) {
      const status = this.#callProgram('validate', job.code, job.entry, args, 2 * job.timeoutMs);
      const result = statusToResult(status);
      if (!result.ok) {
        // A program that does not parse fails for every argument list: no index to blame.
        const programFault = result.error.kind === 'syntax' && !programParses(job.code);
        return { ok: false, error: result.error, argsIndex: programFault ? undefined : argsIndex };
      }
      outputs.push(result.value);
    }
    return { ok: true, outputs };
  }

  /**
   * Calls the run or validate hook on a program. In the reused context a sloppy assignment to an undeclared name
   * fails (the global object is frozen) where a fresh context would create a global: when the syntax tree shows
   * sloppy code assigning to the name, the program is called again with the name declared in its own scope,
   * up to {@link MAX_DECLARED_NAMES} names, each attempt with the full time limit.
   */
  #callProgram(
    hook: 'run' | 'validate',
    code: string,
    entry: string,
    args: string,
    timeoutMs: number,
  ): string | ExecutionFailure {
    let declarations = '';
    for (let attempt = 0; ; attempt += 1) {
      const status = this.#call(hook, [code, entry, args, declarations], timeoutMs);
      if (typeof status !== 'string' || !status.startsWith(UNDECLARED_STATUS)) return status;
      const separator = status.indexOf('\u0000');
      const name = status.slice(UNDECLARED_STATUS.length, separator);
      if (attempt >= MAX_DECLARED_NAMES || !assignsInSloppyCode(code, name))
        return status.slice(separator + 1);
      declarations += `var ${name};`;
    }
  }

  /**
   * Calls a hook of the prelude with string arguments (the only values that go in) and returns the status
   * string it built inside the sandbox, or a failure of the runner itself.
   */
  #call(hook: Hook, parameters: readonly string[], timeoutMs: number): string | ExecutionFailure {
    if (this.#settings.isolation === 'isolate') {
      // The strongest and slowest level: a new isolate for every call.
      this.dispose();
      this.#isolate = this.#createIsolate();
    }
    const reused = this.#settings.isolation === 'reused';
    let context: ivm.Context | undefined;
    let fresh: ivm.Reference<HookFunction> | undefined;
    try {
      let target: ivm.Reference<HookFunction>;
      if (reused) {
        target = (this.#shared ?? this.#sharedHooks())[hook];
      } else {
        context = this.#newContext();
        fresh = context.global.getSync(HOOKS[hook], { reference: true });
        target = fresh;
      }
      // A reference to the hook, called with copies of the strings: no source to compile for the call itself.
      const status: unknown = target.applySync(undefined, [...parameters], { timeout: timeoutMs });
      if (typeof status !== 'string') {
        return { kind: 'crashed', message: 'the sandbox returned no status' };
      }
      if (reused) this.#checkReusedState();
      return status;
    } catch (error) {
      return this.#recover(error, timeoutMs);
    } finally {
      // A reference held on the host keeps its context alive: both go once the call is over.
      if (!this.#isolate.isDisposed) {
        fresh?.release();
        context?.release();
      }
    }
  }

  /**
   * The reused context's realm is frozen, so no program can leave a value behind in it; what remains shared is
   * the isolate: its heap (strings kept alive by the \`Symbol.for\` registry, for one, which no program can read
   * back but which would leave the next program less memory than a fresh worker gives it) and V8's internal
   * caches. After every call, a heap that holds more than a quarter of the memory limit is dropped, and so is
   * every isolate after {@link RECYCLE_AFTER_CALLS} calls: the next call starts from a new one.
   */
  #checkReusedState(): void {
    this.#callsOnIsolate += 1;
    const heap = this.#isolate.getHeapStatisticsSync();
    const heapBytes = heap.used_heap_size + heap.externally_allocated_size;
    if (
      heapBytes > (this.#settings.memoryLimitMb * 1024 * 1024) / 4 ||
      this.#callsOnIsolate >= RECYCLE_AFTER_CALLS
    ) {
      this.dispose();
      this.#isolate = this.#createIsolate();
    }
  }

  #recover(error: unknown, timeoutMs: number): ExecutionFailure {
    const message = error instanceof Error ? error.message : String(error);
    let failure: ExecutionFailure;
    if (this.#isolate.isDisposed || /memory limit/i.test(message)) {
      failure = {
        kind: 'memory',
        message: `the program exceeded the ${this.#settings.memoryLimitMb} MB memory limit`,
      };
    } else if (/timed out/i.test(message)) {
      failure = { kind: 'timeout', message: `the call did not finish within ${timeoutMs} ms` };
    } else if (error instanceof Error && error.name === 'SyntaxError') {
      return { kind: 'syntax', message: `SyntaxError: ${message}` };
    } else {
      failure = { kind: 'crashed', message: `the sandbox failed: ${message}` };
    }
    // Whatever the program left queued (microtasks, a half-built heap) goes with the old isolate.
    this.dispose();
    this.#isolate = this.#createIsolate();
    return failure;
  }

  #createIsolate(): ivm.Isolate {
    this.#shared = undefined;
    this.#callsOnIsolate = 0;
    return new this.#ivm.Isolate({ memoryLimit: this.#settings.memoryLimitMb });
  }

  #newContext(): ivm.Context {
    const context = this.#isolate.createContextSync();
    this.#preludeScript(context);
    return context;
  }

  /** Runs the prelude in a context, compiled once per isolate. */
  #preludeScript(context: ivm.Context): void {
    if (this.#compiledPrelude === undefined || this.#compiledPreludeIsolate !== this.#isolate) {
      this.#compiledPrelude = this.#isolate.compileScriptSync(this.#prelude);
      this.#compiledPreludeIsolate = this.#isolate;
    }
    this.#compiledPrelude.runSync(context);
  }

  #sharedHooks(): Hooks {
    const context = this.#newContext();
    const hook = (name: string): ivm.Reference<HookFunction> =>
      context.global.getSync(name, { reference: true });
    this.#shared = { run: hook(HOOKS.run), validate: hook(HOOKS.validate), literal: hook(HOOKS.literal) };
    return this.#shared;
  }
}

/** Most undeclared names a program is given in the reused context (see #callProgram). */
const MAX_DECLARED_NAMES = 8;

/** Calls on one isolate of a reused worker before it is replaced anyway, so that nothing drifts for long. */
const RECYCLE_AFTER_CALLS = 20_000;

type Hook = keyof typeof HOOKS;
type HookFunction = (...parameters: string[]) => string;
type Hooks = Record<Hook, ivm.Reference<HookFunction>>;

function checkNoDynamicImport(
  ...sources: readonly string[]
): { ok: true } | { ok: false; error: ExecutionFailure } {
  return sources.some(usesDynamicImport)
    ? { ok: false, error: { kind: 'policy', message: 'dynamic import() is not available in the sandbox' } }
    : { ok: true };
}

function firstFailure(
  ...checks: readonly ({ ok: true } | { ok: false; error: ExecutionFailure })[]
): ExecutionFailure | undefined {
  for (const check of checks) {
    if (!check.ok) return check.error;
  }
  return undefined;
}

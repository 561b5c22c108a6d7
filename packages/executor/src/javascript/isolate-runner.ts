import type { CanonicalValue, ExecutionFailure, ValidationResult } from '@azr/core/spec';
import type ivm from 'isolated-vm';
import type { JavaScriptWorkerSettings, Job, JobResult } from '../protocol.js';
import { statusToResult } from '../status.js';
import { buildPrelude, HOOKS } from './prelude.js';
import { checkEntry, checkLiteral, programParses, usesDynamicImport } from './static-check.js';

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
  #shared: ivm.Context | undefined;

  constructor(isolatedVm: IsolatedVm, settings: JavaScriptWorkerSettings) {
    this.#ivm = isolatedVm;
    this.#settings = settings;
    this.#prelude = buildPrelude(settings.limits, { freeze: settings.isolation === 'reused' });
    this.#isolate = this.#createIsolate();
  }

  execute(job: Job): JobResult {
    switch (job.type) {
      case 'run': {
        const check = firstFailure(checkEntry(job.entry), checkNoDynamicImport(job.code, job.args));
        if (check !== undefined) return { ok: false, error: check };
        return statusToResult(this.#call(HOOKS.run, [job.code, job.entry, job.args], job.timeoutMs));
      }
      case 'literal': {
        const check = firstFailure(checkLiteral(job.source));
        if (check !== undefined) return { ok: false, error: check };
        return statusToResult(this.#call(HOOKS.literal, [job.source], job.timeoutMs));
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
    if (job.argsList.length === 0) {
      return { ok: false, error: { kind: 'syntax', message: 'argsList is empty' }, argsIndex: undefined };
    }
    const outputs: CanonicalValue[] = [];
    for (const [argsIndex, args] of job.argsList.entries()) {
      const status = this.#call(HOOKS.validate, [job.code, job.entry, args], 2 * job.timeoutMs);
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
   * Calls a hook of the prelude with string arguments (the only values that go in) and returns the status
   * string it built inside the sandbox, or a failure of the runner itself.
   */
  #call(hook: string, parameters: readonly string[], timeoutMs: number): string | ExecutionFailure {
    const source = `return ${hook}(${parameters.map((_, index) => `$${index}`).join(', ')});`;
    if (this.#settings.isolation === 'isolate') {
      // The strongest and slowest level: a new isolate for every call.
      this.dispose();
      this.#isolate = this.#createIsolate();
    }
    let context: ivm.Context | undefined;
    const fresh = this.#settings.isolation !== 'reused';
    try {
      context = fresh ? this.#newContext() : this.#sharedContext();
      const status: unknown = context.evalClosureSync(source, [...parameters], { timeout: timeoutMs });
      if (typeof status !== 'string') {
        return { kind: 'crashed', message: 'the sandbox returned no status' };
      }
      return status;
    } catch (error) {
      return this.#recover(error, timeoutMs);
    } finally {
      if (fresh && context !== undefined && !this.#isolate.isDisposed) {
        context.release();
      }
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
    return new this.#ivm.Isolate({ memoryLimit: this.#settings.memoryLimitMb });
  }

  #newContext(): ivm.Context {
    const context = this.#isolate.createContextSync();
    context.evalSync(this.#prelude);
    return context;
  }

  #sharedContext(): ivm.Context {
    if (this.#shared === undefined) {
      this.#shared = this.#newContext();
    }
    return this.#shared;
  }
}

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

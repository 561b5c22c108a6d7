import type { CanonicalValue, ExecutionFailure, ExecutionResult } from '@azr/core/spec';

/**
 * Prefixes of the one status string a sandbox call returns (JavaScript prelude and Python sandbox alike):
 * `o` + canonical value; `n` + first + `\u0000` + second (nondeterministic); `r` refused by the encoder; `x`
 * the program raised; `p` policy; `s` syntax; `t` interrupted at its time limit; `m` out of memory.
 */
export const STATUS = {
  ok: 'o',
  nondeterministic: 'n',
  refused: 'r',
  threw: 'x',
  policy: 'p',
  syntax: 's',
  interrupted: 't',
  memory: 'm',
} as const;

/** Turns a status string (or a failure of the runner itself) into an {@link ExecutionResult}. */
export function statusToResult(status: string | ExecutionFailure): ExecutionResult {
  if (typeof status !== 'string') {
    return { ok: false, error: status };
  }
  const body = status.slice(1);
  switch (status[0]) {
    case STATUS.ok:
      return { ok: true, value: body as CanonicalValue };
    case STATUS.threw:
      return { ok: false, error: { kind: 'runtime', message: body } };
    case STATUS.policy:
      return { ok: false, error: { kind: 'policy', message: body } };
    case STATUS.syntax:
      return { ok: false, error: { kind: 'syntax', message: body } };
    case STATUS.refused:
      return { ok: false, error: { kind: 'output-too-large', message: body } };
    case STATUS.interrupted:
      return { ok: false, error: { kind: 'timeout', message: body } };
    case STATUS.memory:
      return { ok: false, error: { kind: 'memory', message: body } };
    case STATUS.nondeterministic: {
      const [first, second] = body.split('\u0000');
      return {
        ok: false,
        error: { kind: 'nondeterministic', message: `two calls returned ${clip(first)} and ${clip(second)}` },
      };
    }
    default:
      return { ok: false, error: { kind: 'crashed', message: 'the sandbox returned an unknown status' } };
  }
}

function clip(text: string | undefined): string {
  const value = text ?? '';
  return value.length > 200 ? `${value.slice(0, 200)}...` : value;
}

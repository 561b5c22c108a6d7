import { afterAll, describe, expect, it } from 'vitest';
import { createPythonExecutor } from './executor.js';
import KNOWN_PROGRAMS from './testdata/benchmark-programs.json' with { type: 'json' };

/**
 * Small functions of the kind code-reasoning benchmarks use (HumanEval and CRUXEval style), in Python, with
 * outputs known from running them in CPython. The executor benchmark runs the same programs.
 */
const executor = createPythonExecutor({ workers: 1, timeoutMs: 1000 });
afterAll(() => executor.close());

describe('benchmark-style Python programs run correctly', () => {
  it.each(KNOWN_PROGRAMS)('$name', async ({ code, args, output }) => {
    expect(await executor.run({ code, args })).toEqual({ ok: true, value: output });
  });

  it('reads an argument list as a call reads it: a trailing comma and *iterable; keywords refused', async () => {
    // CRUXEval's sample_452 writes its one argument with a trailing comma: f('l000*',).
    const code = 'def f(*values):\n    return list(values)';
    expect(await executor.run({ code, args: "'l000*'," })).toEqual({ ok: true, value: '["l000*"]' });
    expect(await executor.run({ code, args: '*[1, 2], 3,\n' })).toEqual({ ok: true, value: '[1,2,3]' });
    expect(await executor.run({ code, args: '' })).toEqual({ ok: true, value: '[]' });
    // An assignment expression would rebind one of the program's names before the call.
    const usesLen = 'def f(s):\n    return len(s)';
    expect(await executor.run({ code: usesLen, args: "(len := lambda s: 5) and 0 or 'abc'" })).toMatchObject({
      ok: false,
      error: { kind: 'syntax' },
    });
    expect(await executor.run({ code: usesLen, args: "[len := 7 for _ in 'a'] and 'abc'" })).toMatchObject({
      ok: false,
      error: { kind: 'syntax' },
    });
    expect(await executor.run({ code: usesLen, args: "'abc'" })).toEqual({ ok: true, value: '3' });
    for (const args of ['x=1', '1) or (2', '1), (2', ',']) {
      expect(await executor.run({ code, args })).toMatchObject({ ok: false, error: { kind: 'syntax' } });
    }
  });

  it('validates all of them in one concurrent burst', async () => {
    const results = await Promise.all(
      KNOWN_PROGRAMS.map(({ code, args }) => executor.validateProgram({ code, argsList: [args] })),
    );
    expect(results.map((result) => (result.ok ? result.outputs[0] : result.error.message))).toEqual(
      KNOWN_PROGRAMS.map((program) => program.output),
    );
  });
}, 120_000);

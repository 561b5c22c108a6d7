import { encodeCanonical } from '@azr/core/spec';
import { afterAll, describe, expect, it } from 'vitest';
import { createJavaScriptExecutor } from './executor.js';
import KNOWN_PROGRAMS from './testdata/benchmark-programs.json' with { type: 'json' };

const executor = createJavaScriptExecutor({ workers: 2 });
afterAll(() => executor.close());

/**
 * Small functions of the kind code-reasoning benchmarks use (HumanEval and CRUXEval style: string and list
 * manipulation, arithmetic, dictionaries), translated to JavaScript, each with an input and its known output.
 * The executor benchmark runs the same programs.
 */
describe('benchmark-style programs run correctly', () => {
  it.each(KNOWN_PROGRAMS)('$name', async ({ code, args, output }) => {
    expect(await executor.run({ code, args })).toEqual({ ok: true, value: output });
    // The same program run directly by Node agrees, so the sandbox changes no result.
    const direct = new Function(`${code}\nreturn f(${args});`)() as unknown;
    expect(encodeCanonical(direct)).toEqual({ ok: true, value: output });
  });

  it('validates all of them in one concurrent burst', async () => {
    const results = await Promise.all(
      KNOWN_PROGRAMS.map(({ code, args }) => executor.validateProgram({ code, argsList: [args] })),
    );
    expect(results.map((result) => (result.ok ? result.outputs[0] : result.error.kind))).toEqual(
      KNOWN_PROGRAMS.map((program) => program.output),
    );
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { createPythonExecutor } from './executor.js';

/**
 * A Python worker starts its shadow interpreter (a second Pyodide: about 3 s on an idle machine, 20 s and more
 * on a loaded one) when a validation first needs it, and that start is not counted against the validation's
 * budget: the worker tells the pool, which stops the batch's deadline meanwhile. Here the pool has no deadline
 * slack and a validation's budget (two calls of 0.75 s) is below a Pyodide start, so a start counted against it
 * would get the worker killed and the validation answered `timeout`.
 */
describe('the shadow interpreter of a Python worker', () => {
  const executor = createPythonExecutor({ workers: 1, timeoutMs: 750, deadlineSlackMs: 0 });
  afterAll(() => executor.close());

  it('starts on the first validation that needs it, outside the validation time limit, and runs every validation', async () => {
    // Runs are answered by the primary alone.
    expect(await executor.run({ code: 'def f(a):\n    return a', args: '1' })).toEqual({
      ok: true,
      value: '1',
    });
    expect(
      await executor.validateProgram({ code: 'def f(n):\n    return n * n', argsList: ['3'] }),
    ).toMatchObject({ ok: true, outputs: ['9'] });
    // The second interpreter state (another hash seed) ran: a string hash differs between the two.
    const hashed = await executor.validateProgram({
      code: 'def f():\n    return hash("shadow") % 1000',
      argsList: [''],
    });
    expect(hashed).toMatchObject({ ok: false, error: { kind: 'nondeterministic' }, argsIndex: 0 });
    expect(await executor.run({ code: 'def f(a):\n    return a + 1', args: '1' })).toEqual({
      ok: true,
      value: '2',
    });
  }, 180_000);
});

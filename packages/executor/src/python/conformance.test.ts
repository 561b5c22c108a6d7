import { describeExecutorConformance } from '@azr/core/test';
import { createPythonExecutor } from './executor.js';

// One executor for the checks that do not close it (a Pyodide start is a few seconds, 20 s and more on a loaded
// machine); the check of close() gets its own. The factory waits for the start, so that the checks' own
// deadlines (an endless loop answered within 10 s) time the calls, not the start. The default limit has room
// for a loaded machine (CI runs test files in parallel on two cores): the check of the limit sets its own.
describeExecutorConformance(
  'Python executor',
  async () => {
    const executor = createPythonExecutor({ workers: 1, timeoutMs: 5000 });
    await executor.run({ code: 'def f():\n    return 1', args: '' });
    return executor;
  },
  { testTimeoutMs: 120_000, shareExecutor: true },
);

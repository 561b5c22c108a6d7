import { describeExecutorConformance } from '@azr/core/test';
import { createPythonExecutor } from './executor.js';

// Each check gets its own executor, so each starts its own Pyodide (a few seconds, 20 s and more on a loaded
// machine). The factory waits for that start, so that the checks' own deadlines (an endless loop answered
// within 10 s) time the calls, not the start. The default limit has room for a loaded machine (CI runs test
// files in parallel on two cores): the check of the limit sets its own.
describeExecutorConformance(
  'Python executor',
  async () => {
    const executor = createPythonExecutor({ workers: 1, timeoutMs: 5000 });
    await executor.run({ code: 'def f():\n    return 1', args: '' });
    return executor;
  },
  { testTimeoutMs: 120_000 },
);

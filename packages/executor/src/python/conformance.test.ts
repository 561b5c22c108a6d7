import { describeExecutorConformance } from '@azr/core/test';
import { createPythonExecutor } from './executor.js';

// Each check gets its own executor, so each starts its own Pyodide (a few seconds). The default limit has room
// for a loaded machine (CI runs test files in parallel on two cores): the check of the limit sets its own.
describeExecutorConformance('Python executor', () => createPythonExecutor({ workers: 1, timeoutMs: 5000 }), {
  testTimeoutMs: 120_000,
});

import { describeExecutorConformance } from '@azr/core/test';
import { createPythonExecutor } from './executor.js';

// Each check gets its own executor, so each starts its own Pyodide (a few seconds).
describeExecutorConformance('Python executor', () => createPythonExecutor({ workers: 1, timeoutMs: 300 }), {
  testTimeoutMs: 120_000,
});

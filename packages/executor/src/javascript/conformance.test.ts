import { describeExecutorConformance } from '@azr/core/test';
import { createJavaScriptExecutor, JAVASCRIPT_ISOLATIONS } from './executor.js';

for (const isolation of JAVASCRIPT_ISOLATIONS) {
  describeExecutorConformance(`JavaScript executor (${isolation})`, () =>
    createJavaScriptExecutor({ isolation, workers: 2, timeoutMs: 200 }),
  );
}

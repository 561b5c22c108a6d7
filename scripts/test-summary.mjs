#!/usr/bin/env node
// Prints the plain summary line CI reads ("N passed, N failed, N skipped") from vitest's JSON report.
// Exits non-zero when the report is missing, so a run that never reached the tests cannot look green.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'reports/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch (error) {
  console.log(`tests: no report at ${path} (${error.message})`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
let failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
if (failed === 0 && (report.success === false || (report.numFailedTestSuites ?? 0) > 0)) {
  // Vitest failed the run without a failed test: an unhandled error, or a file that did not load.
  console.log('tests: the run failed outside any single test (see the errors above); counted as 1 failure');
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

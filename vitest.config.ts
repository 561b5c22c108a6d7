import { defineConfig } from 'vitest/config';

// One run over every package, the cross-package tests and the examples. The JSON report feeds the plain
// "N passed, N failed" summary that CI prints (scripts/test-summary.mjs).
export default defineConfig({
  test: {
    projects: ['packages/*', 'tests'],
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
    pool: 'forks',
    maxWorkers: 2,
  },
});

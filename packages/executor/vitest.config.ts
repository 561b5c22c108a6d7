import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'executor',
    include: ['src/**/*.test.ts'],
    // Attacks run up to a few seconds each by design (memory bombs under their own limits).
    testTimeout: 60_000,
  },
});

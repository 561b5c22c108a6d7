import type { ConformanceCheck } from './executor-conformance.js';

/** The outcome of one conformance check. */
export interface ConformanceOutcome {
  readonly name: string;
  readonly passed: boolean;
  /** The assertion or error that failed the check. */
  readonly error?: unknown;
}

/**
 * Runs conformance checks outside any test runner: each check gets a fresh subject from `create`, which
 * `release` disposes of afterwards (errors from `release` are ignored: a check may have closed it already).
 */
export async function runConformanceChecks<TSubject>(
  checks: readonly ConformanceCheck<TSubject>[],
  create: () => TSubject | Promise<TSubject>,
  release: (subject: TSubject) => unknown,
): Promise<ConformanceOutcome[]> {
  const outcomes: ConformanceOutcome[] = [];
  for (const check of checks) {
    const subject = await create();
    try {
      await check.run(subject);
      outcomes.push({ name: check.name, passed: true });
    } catch (error) {
      outcomes.push({ name: check.name, passed: false, error });
    } finally {
      try {
        await release(subject);
      } catch {
        // Already released by the check.
      }
    }
  }
  return outcomes;
}

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared fixtures folder (`../shared/fixtures` beside the repository, or `AZR_FIXTURES`), or `undefined`
 * when it is absent, in which case the tests that need it are skipped with a message saying so.
 */
export function fixturesDirectory(): string | undefined {
  const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
  const directory = process.env.AZR_FIXTURES ?? resolve(repositoryRoot, '../shared/fixtures');
  if (existsSync(directory)) {
    return directory;
  }
  console.warn(`Shared fixtures not found at ${directory}: the tests that need them are skipped.`);
  return undefined;
}

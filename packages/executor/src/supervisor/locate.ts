import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AzrError } from '@azr/core/spec';

let packageRoot: string | undefined;

function findPackageRoot(): string {
  if (packageRoot !== undefined) return packageRoot;
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === '@azr/executor'
    ) {
      packageRoot = directory;
      return directory;
    }
    const parent = dirname(directory);
    if (parent === directory) {
      throw new AzrError('Cannot find the @azr/executor package folder to start its worker processes.');
    }
    directory = parent;
  }
}

/**
 * The built entry point of a worker process. Workers always run from `dist/`, also when the executor itself is
 * loaded from source (in this repository's tests), which is why `npm test` builds first.
 */
export function workerScript(language: 'javascript' | 'python'): string {
  const path = join(findPackageRoot(), 'dist', language, 'worker.js');
  if (!existsSync(path)) {
    throw new AzrError(
      `The ${language} worker is missing at ${path}: build @azr/executor first (npm run build).`,
    );
  }
  return path;
}

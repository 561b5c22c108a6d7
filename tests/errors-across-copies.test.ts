import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from './helpers.js';

type CoreModule = typeof import('@azr/core');

const directories: string[] = [];

/** A second, independent copy of the built @azr/core, as npm makes when two versions are installed. */
async function loadCopy(label: string): Promise<CoreModule> {
  const directory = await mkdtemp(join(tmpdir(), `azr-core-${label}-`));
  directories.push(directory);
  await cp(join(repositoryRoot, 'packages/core/dist'), join(directory, 'dist'), { recursive: true });
  await writeFile(join(directory, 'package.json'), JSON.stringify({ name: '@azr/core', type: 'module' }));
  await symlink(join(repositoryRoot, 'node_modules'), join(directory, 'node_modules'));
  return (await import(pathToFileURL(join(directory, 'dist/index.js')).href)) as CoreModule;
}

afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('errors across two copies of @azr/core', () => {
  it('are recognised by isInstance where instanceof fails', async () => {
    const first = await loadCopy('first');
    const second = await loadCopy('second');
    expect(first.ConfigError).not.toBe(second.ConfigError);
    const error = new first.ConfigError('bad', { field: 'steps' });
    expect(error instanceof second.ConfigError).toBe(false);
    expect(second.ConfigError.isInstance(error)).toBe(true);
    expect(second.AzrError.isInstance(error)).toBe(true);
    expect(second.ModelFormatError.isInstance(error)).toBe(false);
  });
});

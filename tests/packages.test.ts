import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot, runCommand } from './helpers.js';

const PACKAGES = ['@azr/core', '@azr/executor', '@azr/backends', '@azr/cli'];

interface PackReport {
  name: string;
  files: { path: string }[];
}

describe('published packages', () => {
  it.each(PACKAGES)('%s ships its build, types, README and nothing else', async (name) => {
    const { code, stdout, stderr } = await runCommand('npm', [
      'pack',
      '--dry-run',
      '--json',
      '--ignore-scripts',
      '-w',
      name,
    ]);
    expect(code, stderr).toBe(0);
    const [report] = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackReport[];
    const paths = (report as PackReport).files.map((file) => file.path);
    expect(paths).toContain('package.json');
    expect(paths).toContain('README.md');
    expect(paths).toContain('dist/index.js');
    expect(paths).toContain('dist/index.d.ts');
    // The CLI's held-out suites, which its runs exclude from training and evaluate on.
    if (name === '@azr/cli') expect(paths).toContain('suites/mini-javascript.jsonl');
    for (const path of paths) {
      expect(path).toMatch(
        /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/.+|bin\/azr\.js|suites\/(mini|cruxeval-sample)-(javascript|python)\.jsonl)$/,
      );
      expect(path).not.toMatch(/\.test\.|test-d|testing\//);
    }
  });

  it('runs the azr bin that npm links into node_modules/.bin', async () => {
    const { code, stdout } = await runCommand('node_modules/.bin/azr', ['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: azr');
    expect(stdout).toContain('info');
  });

  it('ends a bad invocation with one line on stderr and a non-zero exit', async () => {
    const { code, stderr } = await runCommand('node_modules/.bin/azr', ['train-everything']);
    expect(code).not.toBe(0);
    expect(stderr).toContain("unknown command 'train-everything'");
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

/** The TypeScript files under a package's `src`, with their text. */
async function sourceFiles(packageName: string): Promise<{ path: string; text: string }[]> {
  const root = join(repositoryRoot, 'packages', packageName, 'src');
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts'));
  return Promise.all(
    files.map(async (entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path: relative(repositoryRoot, path), text: await readFile(path, 'utf8') };
    }),
  );
}

/** The `@azr/core` specifiers a source file imports or re-exports, statically or dynamically. */
function coreSpecifiers(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](@azr\/core(?:\/[^'"]*)?)['"]/g)].map(
    (match) => match[1] as string,
  );
}

/** The names a source file imports or re-exports from exactly `@azr/core`. */
function rootCoreNames(text: string): string[] {
  return [
    ...text.matchAll(/(?:import|export)\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]@azr\/core['"]/g),
  ].flatMap((match) =>
    (match[1] as string)
      .split(',')
      .map(
        (name) =>
          name
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0] as string,
      )
      .filter((name) => name !== ''),
  );
}

/** Every name, type or value, that a built entry point's declaration file exports. */
async function declaredExports(declarationFile: string): Promise<Set<string>> {
  const text = await readFile(declarationFile, 'utf8');
  const names = new Set<string>();
  for (const [, list] of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g))
    for (const item of (list as string).split(','))
      if (item.trim() !== '')
        names.add(
          item
            .trim()
            .split(/\s+as\s+/)
            .at(-1) as string,
        );
  for (const [, name] of text.matchAll(
    /export\s+(?:declare\s+)?(?:const|function|class|type|interface)\s+(\w+)/g,
  ))
    names.add(name as string);
  return names;
}

/** The source files bundled into a built module and the chunks it imports, from their source maps. */
async function bundledSources(file: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(file)) return new Set();
  seen.add(file);
  const map = JSON.parse(await readFile(`${file}.map`, 'utf8')) as { sources: string[] };
  const sources = new Set(map.sources.map((source) => relative(repositoryRoot, join(dirname(file), source))));
  const text = await readFile(file, 'utf8');
  for (const [, specifier] of text.matchAll(/\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g))
    for (const source of await bundledSources(join(dirname(file), specifier as string), seen))
      sources.add(source);
  return sources;
}

describe('@azr/core/spec, the contracts implementations depend on', () => {
  const coreDist = join(repositoryRoot, 'packages/core/dist');

  it('bundles none of the algorithm: no trainer, task modes, buffers, rewards or evaluation', async () => {
    const sources = [...(await bundledSources(join(coreDist, 'spec.js')))];
    expect(sources).toContain('packages/core/src/errors/errors.ts');
    expect(sources).toContain('packages/core/src/canonical/encoder.ts');
    const algorithm =
      /^packages\/core\/src\/(trainer|task-modes|evaluation|buffers|rewards|advantages|format|metrics|monitors)\//;
    expect(sources.filter((source) => algorithm.test(source))).toEqual([]);
    // Imported in a fresh process, it offers the helpers and no algorithm.
    const { code, stdout, stderr } = await runCommand('node', [
      '--input-type=module',
      '-e',
      "const spec = await import('@azr/core/spec'); console.log(typeof spec.assertOneOf, 'TaskBuffer' in spec, 'createSelfPlayTrainer' in spec);",
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe('function false false');
  });

  it('exports every name that the executor and the backends take from @azr/core', async () => {
    const spec = await declaredExports(join(coreDist, 'spec.d.ts'));
    const root = await declaredExports(join(coreDist, 'index.d.ts'));
    for (const name of ['ExecutorV1', 'PolicyModelV1', 'AzrError', 'encodeCanonical', 'assertOneOf'])
      expect(spec).toContain(name);
    for (const packageName of ['executor', 'backends']) {
      for (const { path, text } of await sourceFiles(packageName)) {
        const missing = rootCoreNames(text).filter((name) => !spec.has(name));
        expect(missing, `${path} imports from @azr/core what @azr/core/spec lacks`).toEqual([]);
      }
    }
    // The root entry point still exports everything, the contracts included.
    expect([...spec].filter((name) => !root.has(name))).toEqual([]);
  });

  it.each(['executor', 'backends'])(
    'is all the %s imports of @azr/core (with @azr/core/test in its tests)',
    async (packageName) => {
      const files = await sourceFiles(packageName);
      expect(files.length).toBeGreaterThan(10);
      for (const { path, text } of files) {
        const allowed = path.endsWith('.test.ts') ? ['@azr/core/spec', '@azr/core/test'] : ['@azr/core/spec'];
        const wrong = coreSpecifiers(text).filter((specifier) => !allowed.includes(specifier));
        expect(wrong, `${path} imports @azr/core beyond ${allowed.join(' and ')}`).toEqual([]);
      }
    },
  );
});

import { describe, expect, it } from 'vitest';
import { runCommand } from './helpers.js';

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
        /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/.+|bin\/azr\.js|suites\/mini-(javascript|python)\.jsonl)$/,
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

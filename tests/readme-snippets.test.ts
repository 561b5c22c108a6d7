import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CanonicalValue, type DeductionTask, taskId } from '@azr/core';
import { createArithmeticScript, MockPolicyModel } from '@azr/core/test';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot, runCommand } from './helpers.js';

const directories: string[] = [];
afterAll(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

/** The first fenced block of a README after a heading, as written. */
async function snippet(readme: string, heading: string, language: string): Promise<string> {
  const text = await readFile(join(repositoryRoot, readme), 'utf8');
  const section = text.slice(text.indexOf(heading));
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section);
  if (match?.[1] === undefined) throw new Error(`no ${language} block after "${heading}" in ${readme}`);
  return match[1];
}

describe('README snippets', () => {
  it('the custom loop of @azr/core runs as written and trains the policy', async () => {
    const code = await snippet('packages/core/README.md', '### A custom loop from the parts', 'js');
    // Inside the repository, so that the snippet's imports resolve to the workspace packages.
    const directory = await mkdtemp(join(repositoryRoot, 'tests', '.snippet-'));
    directories.push(directory);
    const file = join(directory, 'custom-loop.mjs');
    await writeFile(file, code);
    const { trainSolver } = (await import(pathToFileURL(file).href)) as {
      trainSolver: (policy: MockPolicyModel, tasks: DeductionTask[], steps: number) => Promise<void>;
    };
    const tasks = [1, 2, 3, 4, 5, 6, 7].map((k) => {
      const content = {
        mode: 'deduction' as const,
        language: 'javascript' as const,
        program: `function f(a) {\n  return a * ${k} + 1;\n}`,
        entry: 'f',
        input: '2',
        output: String(2 * k + 1) as CanonicalValue,
      };
      return { ...content, id: taskId(content), step: 0 };
    });
    const policy = new MockPolicyModel({ seed: 4, script: createArithmeticScript() });
    const before = policy.weights();
    await trainSolver(policy, tasks, 2);
    expect(policy.calls.filter((call) => call.method === 'doTrainStep')).toHaveLength(2);
    expect(policy.weights()).not.toEqual(before);
  });

  it('the quick start of @azr/backends runs as written in plain Node, trains and saves', async () => {
    const code = await snippet('packages/backends/README.md', '## Quick start', 'js');
    const directory = await mkdtemp(join(repositoryRoot, 'tests', '.snippet-'));
    directories.push(directory);
    await writeFile(join(directory, 'quick-start.mjs'), code);
    const {
      code: exitCode,
      stdout,
      stderr,
    } = await runCommand(process.execPath, ['quick-start.mjs'], {
      cwd: directory,
    });
    expect(stderr).not.toMatch(/Error/);
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^loss -?\d+\.\d{4}; rollout weights synced in \d+\.\d ms$/m);
    const saved = await readdir(join(directory, 'runs', 'tiny-policy'));
    expect(saved).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'optimizer.safetensors']),
    );
  }, 120_000);

  it('the quick start of @azr/executor gives the results its comments say', async () => {
    const code = await snippet('packages/executor/README.md', '## Quick start', 'ts');
    // Each `await call;` followed by `// result` becomes a recorded check of that result.
    const checked = code.replace(
      /^await (.+);\n\/\/ (.+)$/gm,
      (_, call: string, expected: string) => `__check(await ${call}, ${JSON.stringify(expected)});`,
    );
    expect(checked.match(/__check\(/g)).toHaveLength(4);
    const directory = await mkdtemp(join(repositoryRoot, 'tests', '.snippet-'));
    directories.push(directory);
    const file = join(directory, 'executor-quick-start.mjs');
    await writeFile(
      file,
      `const checks = [];\nconst __check = (actual, expected) => checks.push([actual, expected]);\n${checked}\nexport { checks };\n`,
    );
    const { checks } = (await import(pathToFileURL(file).href)) as { checks: [unknown, string][] };
    for (const [actual, expected] of checks)
      expect(actual, expected).toMatchObject(new Function(`return (${expected});`)() as object);
  });
});

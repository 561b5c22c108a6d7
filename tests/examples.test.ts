import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot, runCommand, sharedFixtures } from './helpers.js';

/** Runs an example as a user would (`node index.mjs` in its folder). */
async function runExample(name: string, args: readonly string[] = []) {
  const result = await runCommand(process.execPath, ['index.mjs', ...args], {
    cwd: join(repositoryRoot, 'examples', name),
  });
  expect(result.stderr.replace(/^.*ExperimentalWarning.*$/gm, '').trim(), result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

describe('the examples', { timeout: 180_000 }, () => {
  it('custom-loop trains a real model through a loop composed by hand', async () => {
    const out = await runExample('custom-loop', ['2']);
    expect(out).toMatch(
      /^step 1: solved \d\/4, mean reward -?\d\.\d\d, loss -?\d\.\d{4}, weights synced in \d+ ms\nstep 2: /m,
    );
  });

  it("custom-task-mode runs the trainer with modes of its own next to the paper's", async () => {
    const out = await runExample('custom-task-mode', ['2']);
    // The verification mode, through the real sandbox: 3 * 3 is not 6, so "no" is right.
    expect(out).toContain('verification task: f(3) claimed 6, holds false\nanswer "no": correct');
    expect(out).toMatch(
      /^step 2: deduction\/propose: 2 sequences, .*; short-deduction\/propose: 2 sequences, .*; verification\/solve: \d+ sequences/m,
    );
    expect(out).toMatch(
      /^buffers: deduction \d+, abduction \d+, induction \d+, short-deduction \d+, verification \d+$/m,
    );
    expect(out).toMatch(/^verification buffer read back: [2-9]\d* tasks$/m);
  });

  it('executor-only checks answers with the sandbox alone', async () => {
    const out = await runExample('executor-only');
    expect(out).toContain('predicted output [4.0, 4, 4]: correct');
    expect(out).toContain('predicted output [3, 4, 4]: wrong');
    expect(out).toContain('guessed input ["abcd", "efgh", "ijkl"]: correct');
    expect(out).toContain('sandbox sees: "undefinedundefined"');
  });

  // It makes its model folder from the shared fixtures' Llama.
  it.runIf(sharedFixtures !== undefined)(
    'huggingface-model loads a model folder in both engines, which agree, and trains it',
    async () => {
      const out = await runExample('huggingface-model');
      expect(out).toContain('loaded llama: 2 layers, width 16, vocabulary 32000');
      expect(out.match(/onnx and tfjs agree/g)).toHaveLength(2);
      expect(out).toMatch(/^trained one step: loss -?\d\.\d{4}, \d+ tokens, synced in \d+ ms$/m);
    },
  );
});

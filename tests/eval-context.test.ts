import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot, runCommand, sharedFixtures } from './helpers.js';

const gpt2 = sharedFixtures && join(sharedFixtures, 'tiny-random-gpt2-fp32-onnx');
if (gpt2 === undefined)
  console.warn('Shared fixtures not found: azr eval on the GPT-2 export (512 positions) is skipped.');

/** The first two lines of a bundled suite, written into `workspace`. */
async function twoLines(workspace: string, name: string): Promise<string> {
  const bundled = await readFile(join(repositoryRoot, 'packages/cli/suites', name), 'utf8');
  const suite = join(workspace, name);
  await writeFile(suite, `${bundled.split('\n').slice(0, 2).join('\n')}\n`);
  return suite;
}

function azrEval(workspace: string, suite: string, out: string) {
  return runCommand(
    process.execPath,
    [
      join(repositoryRoot, 'packages/cli/bin/azr.js'),
      'eval',
      '--model',
      gpt2 as string,
      '--suite',
      suite,
      '--out',
      out,
    ],
    { cwd: workspace },
  );
}

// The GPT-2 export has 512 positions and evaluation asks for 512 tokens by default, so every prompt leaves less
// room than that. The suite used to be refused whole; each completion now gets what fits after its prompt.
describe.runIf(gpt2 !== undefined)(
  'azr eval on a model whose context is shorter than prompt plus maxTokens',
  () => {
    let workspace: string;
    beforeAll(async () => {
      workspace = await mkdtemp(join(tmpdir(), 'azr-eval-context-'));
    });
    afterAll(() => rm(workspace, { recursive: true, force: true }));

    it('completes, clamping maxTokens to what fits after each prompt and saying so once', async () => {
      const out = join(workspace, 'eval.json');
      const evaluated = await azrEval(workspace, await twoLines(workspace, 'mini-javascript.jsonl'), out);
      expect(evaluated.code, evaluated.stderr).toBe(0);
      expect(evaluated.stderr).not.toMatch(/exceed the model's/);
      expect(evaluated.stderr.match(/AZR_MAX_TOKENS_CLAMPED/g)).toHaveLength(1);
      expect(evaluated.stderr).toMatch(/of maxTokens 512 in .*'s 512 positions/);
      const record = JSON.parse(await readFile(out, 'utf8')) as { modes: Record<string, { tasks: number }> };
      expect(record.modes.deduction?.tasks).toBe(2);
    }, 120_000);

    it('still refuses a prompt that alone fills the context, naming its length and the model’s', async () => {
      // CRUXEval's prompts are over 600 tokens in this tokenizer: no completion can follow them.
      const evaluated = await azrEval(
        workspace,
        await twoLines(workspace, 'cruxeval-sample-javascript.jsonl'),
        join(workspace, 'refused.json'),
      );
      expect(evaluated.code).not.toBe(0);
      expect(evaluated.stderr).toMatch(
        /Prompt \d+ \(\d{3,} tokens\) leaves no room to generate in .*'s 512 positions/,
      );
    }, 120_000);
  },
);

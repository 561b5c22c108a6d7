import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeRealShapeModel } from '../scripts/write-real-shape-model.mjs';
import { repositoryRoot, runCommand, sharedFixtures } from './helpers.js';

const directories: string[] = [];
afterAll(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

const lines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

// One step of the paper's recipe on a model of real size: SmolLM2-135M's shape with random weights, the phi-2
// tokenizer. It takes about two minutes and 8 GB on 2 cores: one step, seeding and evaluations included, with
// the smallest batch and response budget.
describe.runIf(sharedFixtures !== undefined)(
  `azr train --recipe paper on a 135M model (needs ${sharedFixtures ?? '../shared/fixtures'})`,
  { timeout: 600_000 },
  () => {
    it('seeds, proposes and solves Python tasks in the three modes, updates, and evaluates in CRUXEval format', async () => {
      const workspace = await mkdtemp(join(tmpdir(), 'azr-paper-'));
      directories.push(workspace);
      const model = join(workspace, 'smollm2-135m');
      await writeRealShapeModel({ out: model, fixtures: sharedFixtures as string });
      // Two lines of the bundled CRUXEval-layout sample keep the evaluations short.
      const sample = await readFile(
        join(repositoryRoot, 'packages/cli/suites/cruxeval-sample-python.jsonl'),
        'utf8',
      );
      await writeFile(join(workspace, 'suite.jsonl'), `${sample.split('\n').slice(0, 2).join('\n')}\n`);
      await writeFile(
        join(workspace, 'azr.config.json'),
        JSON.stringify({
          trainer: { batchSize: 1, sampling: { maxTokens: 12 }, seeding: { tasks: 2, maxRounds: 1 } },
          tasks: { heldOut: 'suite.jsonl' },
        }),
      );
      const run = join(workspace, 'run');
      const result = await runCommand(
        process.execPath,
        [
          join(repositoryRoot, 'packages/cli/bin/azr.js'),
          'train',
          '--model',
          model,
          '--recipe',
          'paper',
          '--steps',
          '1',
          '--out',
          run,
        ],
        { cwd: workspace },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(
        /^held-out suite before training: deduction \d+\.\d%, abduction \d+\.\d%$/m,
      );
      expect(result.stdout).toMatch(
        /^seeding round 1: deduction \d+\/2, abduction \d+\/2, induction \d+\/2$/m,
      );
      expect(result.stdout).toMatch(/^finished at step 1;/m);

      const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'));
      expect(config).toMatchObject({
        recipe: 'paper',
        language: 'python',
        tasks: { kind: 'full', frame: 'r1' },
        trainer: { learnabilityRollouts: 8, solveFrom: 'previous-step', seeding: { tasks: 2, maxRounds: 1 } },
        optimizer: { learningRate: 1e-6 },
      });
      const events = await lines(join(run, 'metrics.jsonl'));
      expect(events.filter((event) => event.type === 'seeding')).toHaveLength(1);
      const [step] = events.filter((event) => event.type === 'step-end') as {
        groups: { mode: string; role: string; count: number }[];
      }[];
      expect(step?.groups.map((group) => `${group.mode}/${group.role}`)).toEqual([
        'deduction/propose',
        'deduction/solve',
        'abduction/propose',
        'abduction/solve',
        'induction/propose',
        'induction/solve',
      ]);
      // Every mode proposed and solved: a Python task from its buffer, in the sandbox.
      for (const group of step?.groups ?? [])
        expect(group.count, `${group.mode}/${group.role}`).toBeGreaterThan(0);
      const samples = await lines(join(run, 'samples.jsonl'));
      const solved = samples.filter((sample) => sample.role === 'solve');
      expect(solved.length).toBeGreaterThanOrEqual(3);
      expect(solved.every((sample) => (sample.task as { language: string }).language === 'python')).toBe(
        true,
      );
      expect(events.some((event) => event.type === 'checkpoint' && event.step === 1)).toBe(true);
      // Evaluated before the step and after it, output and input prediction.
      const heldOut = await lines(join(run, 'heldout.jsonl'));
      expect(heldOut.map((record) => record.step)).toEqual([0, 1]);
      for (const record of heldOut)
        expect(Object.keys(record.modes as object)).toEqual(['deduction', 'abduction']);
      await access(join(run, 'checkpoints', 'step-00000001', 'policy', 'model.safetensors'));
      await access(join(run, 'report.html'));
      // azr eval of the run gives the numbers the run recorded for its last checkpoint.
      const evaluation = join(workspace, 'eval.json');
      const evaluated = await runCommand(
        process.execPath,
        [
          join(repositoryRoot, 'packages/cli/bin/azr.js'),
          'eval',
          '--model',
          run,
          '--suite',
          join(workspace, 'suite.jsonl'),
          '--out',
          evaluation,
        ],
        { cwd: workspace },
      );
      expect(evaluated.code, evaluated.stderr).toBe(0);
      expect(JSON.parse(await readFile(evaluation, 'utf8')).modes).toEqual(heldOut[1]?.modes);
    });
  },
);

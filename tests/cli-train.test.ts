import { spawn } from 'node:child_process';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot, runCommand, sharedFixtures, writeMicroModel } from './helpers.js';

const azr = join(repositoryRoot, 'packages/cli/bin/azr.js');
const directories: string[] = [];
afterAll(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function temporaryDirectory(prefix: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  directories.push(directory);
  return directory;
}

let workspace: string;
let modelDirectory: string;

// A micro Llama-family model on the byte tokenizer, so that the end-to-end runs take seconds, and a config that
// keeps each step small. The default tiny preset is what `azr train` with no options trains.
beforeAll(async () => {
  workspace = await temporaryDirectory('azr-cli-');
  modelDirectory = join(workspace, 'micro-model');
  await writeMicroModel(modelDirectory, 1);
  await writeFile(
    join(workspace, 'azr.config.json'),
    `// a small run for the tests
{
  "model": { "directory": "micro-model" },
  "trainer": { "batchSize": 2, "learnabilityRollouts": 2, "sampling": { "maxTokens": 24 }, "checkpointEvery": 2 },
  "optimizer": { "learningRate": 0.001 },
  "executor": { "workers": 1 },
  // onnx engine settings: the runs below train with them, and a resumed run reads them from its recorded config.
  "onnx": { "recomputeActivations": true, "activationMemoryBudget": 4194304 },
}
`,
  );
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `azr` in the workspace; `onLine` may act on each line of its output (kill or interrupt it). */
function runAzr(
  args: readonly string[],
  onLine?: (line: string, child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [azr, ...args], {
      cwd: workspace,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine?.(line, child);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function stepEnds(runDirectory: string): Promise<number[]> {
  const lines = (await readFile(join(runDirectory, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  return lines
    .map((line) => JSON.parse(line) as { type: string; step: number })
    .filter((event) => event.type === 'step-end')
    .map((event) => event.step);
}

/** A config of mini tasks on the micro model, small steps, the held-out suite evaluated after every step. */
async function writeEveryStepConfig(): Promise<string> {
  const path = join(workspace, 'every-step.config.json');
  await writeFile(
    path,
    JSON.stringify({
      model: { directory: 'micro-model' },
      trainer: { batchSize: 2, learnabilityRollouts: 2, solveRollouts: 2, checkpointEvery: 2 },
      executor: { workers: 1 },
      tasks: { kind: 'mini', evaluateEvery: 1 },
      // Generation settings, which the hybrid engine's rollouts take too.
      onnx: { batchSize: 3, joinPrompts: false },
    }),
  );
  return path;
}

/** The steps of `heldout.jsonl`'s lines, in order, repeats included. */
async function heldOutSteps(runDirectory: string): Promise<number[]> {
  const lines = (await readFile(join(runDirectory, 'heldout.jsonl'), 'utf8')).trim().split('\n');
  return lines.map((line) => (JSON.parse(line) as { step: number }).step);
}

async function sampleSteps(runDirectory: string): Promise<number[]> {
  const lines = (await readFile(join(runDirectory, 'samples.jsonl'), 'utf8')).trim().split('\n');
  return [...new Set(lines.map((line) => (JSON.parse(line) as { step: number }).step))];
}

describe('azr train', { timeout: 240_000 }, () => {
  it('trains, printing progress, and leaves a complete run directory with a report', async () => {
    const run = await runAzr(['train', '--steps', '2', '--out', 'runs/first']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^step 1\/2 {2}valid d +\d+% a +\d+% i +\d+% {2}solve .* tok\/s .*s\/step {2}ETA /m,
    );
    expect(run.stdout).toMatch(/^step 2\/2 /m);
    const directory = join(workspace, 'runs/first');
    expect(await readdir(directory)).toEqual(
      expect.arrayContaining([
        'config.json',
        'metrics.jsonl',
        'samples.jsonl',
        'buffers',
        'checkpoints',
        'report.html',
      ]),
    );
    const config = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model: { directory: modelDirectory }, engine: 'onnx', steps: 2 });
    expect(config.trainer).toMatchObject({ batchSize: 2, checkpointEvery: 2 });
    expect(config.onnx).toEqual({ recomputeActivations: true, activationMemoryBudget: 4194304 });
    expect(await stepEnds(directory)).toEqual([1, 2]);
    expect(await sampleSteps(directory)).toEqual([1, 2]);
    expect((await readdir(join(directory, 'buffers'))).sort()).toEqual([
      'abduction.jsonl',
      'deduction.jsonl',
      'induction.jsonl',
    ]);
    const report = await readFile(join(directory, 'report.html'), 'utf8');
    expect(report).toContain('id="solve-rate"');
    expect(report).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
  });

  it('trains the tiny preset on mini tasks: grammar-held proposals, a held-out suite evaluated before and after', async () => {
    const config = join(workspace, 'mini.config.json');
    await writeFile(
      config,
      JSON.stringify({
        model: { preset: 'tiny' },
        trainer: { batchSize: 4, learnabilityRollouts: 2, checkpointEvery: 2 },
        executor: { workers: 1 },
        tasks: { evaluateEvery: 1 },
      }),
    );
    const run = await runAzr(['train', '--config', config, '--steps', '2', '--out', 'runs/mini']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^held-out suite before training: deduction \d+\.\d%, abduction \d+\.\d%, induction \d+\.\d%$/m,
    );
    expect(run.stdout).toMatch(/^held-out suite at step 1: deduction \d+\.\d%, abduction /m);
    expect(run.stdout).toMatch(/^held-out suite after step 2: deduction /m);
    const directory = join(workspace, 'runs/mini');
    const recorded = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8'));
    expect(recorded.tasks).toEqual({
      kind: 'mini',
      constrained: true,
      curriculum: { startOperators: 1, stepsPerOperator: 600 },
      inductionHeldOut: 'function',
      inductionReadsInput: false,
      inductionAnswersFollowCurriculum: false,
      proposalsReadInput: [],
      evaluateEvery: 1,
    });
    // The held-out curve: the untrained model, then every step (the last one after the run).
    expect(await heldOutSteps(directory)).toEqual([0, 1, 2]);
    const samples = (await readFile(join(directory, 'samples.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { role: string; completion: string; verdict: string; reason?: string },
      );
    // Every proposal is a program of the grammar: valid, or set aside as a held-out task; within the
    // curriculum's first limit, at most one operator.
    for (const sample of samples.filter((each) => each.role === 'propose')) {
      expect(
        sample.verdict === 'valid' ||
          (sample.verdict === 'excluded' && sample.reason === 'a held-out evaluation task'),
        sample.completion,
      ).toBe(true);
      if (sample.completion.includes(';'))
        expect(sample.completion.replace(/[^+*-]/g, '').length, sample.completion).toBeLessThanOrEqual(1);
    }
    for (const name of ['evaluation-initial.json', 'evaluation.json']) {
      const evaluation = JSON.parse(await readFile(join(directory, name), 'utf8'));
      expect(evaluation.suite).toMatch(/suites[\\/]mini-javascript\.jsonl$/);
      expect(evaluation.modes.deduction.tasks).toBe(60);
      expect(evaluation.modes.induction.tasks).toBe(45);
    }
    const report = await readFile(join(directory, 'report.html'), 'utf8');
    expect(report).toContain('id="program-size"');
    expect(report).toContain('id="held-out"');
    expect(report).toContain('<th>before training</th>');
  });

  it('stops at Ctrl-C with a checkpoint, and --resume continues with no step lost or repeated', async () => {
    let interrupted = false;
    const first = await runAzr(['train', '--steps', '4', '--out', 'runs/interrupted'], (line, child) => {
      if (!interrupted && line.startsWith('step 1/4')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('stopping after this step');
    expect(first.stdout).toContain('continue with: azr train --resume runs/interrupted');
    const directory = join(workspace, 'runs/interrupted');
    const stopped = await stepEnds(directory);
    expect(stopped.length).toBeGreaterThanOrEqual(1);
    expect(stopped.length).toBeLessThan(4);

    const resumed = await runAzr(['train', '--resume', 'runs/interrupted']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^resuming run interrupted at step \d, until step 4$/m);
    expect(await stepEnds(directory)).toEqual([1, 2, 3, 4]);
    expect(await sampleSteps(directory)).toEqual([1, 2, 3, 4]);
  });

  it('stopped at Ctrl-C just after an evaluation, records that evaluation once, as the last', async () => {
    const config = await writeEveryStepConfig();
    let interrupted = false;
    const run = await runAzr(
      ['train', '--config', config, '--steps', '6', '--out', 'runs/stopped-mini'],
      (line, child) => {
        if (!interrupted && line.startsWith('step 2/6')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    );
    expect(run.code).toBe(0);
    const directory = join(workspace, 'runs/stopped-mini');
    const steps = await stepEnds(directory);
    const last = steps.at(-1) as number;
    expect(last).toBeLessThan(6);
    // Step 0, then every step once; the evaluation after the run is the one of its last step.
    expect(await heldOutSteps(directory)).toEqual(Array.from({ length: last + 1 }, (_, step) => step));
    expect(run.stdout).toMatch(new RegExp(`^held-out suite after step ${last}: deduction `, 'm'));
  });

  it('resumes a killed run from its last checkpoint, dropping the records of the steps it lost', async () => {
    let killed = false;
    // The hybrid engine here (onnx generation, tfjs updates), to cover it end to end, resume included.
    // Mini tasks on the micro model, the held-out suite evaluated after every step: the lost step's evaluation
    // is dropped as well.
    const config = await writeEveryStepConfig();
    const first = await runAzr(
      ['train', '--config', config, '--steps', '4', '--engine', 'hybrid', '--out', 'runs/killed'],
      (line, child) => {
        // Checkpoints come every 2 steps: step 3 is recorded, and evaluated, but not checkpointed when the
        // kill lands.
        if (!killed && line.startsWith('held-out suite at step 3:')) {
          killed = true;
          child.kill('SIGKILL');
        }
      },
    );
    expect(first.signal).toBe('SIGKILL');
    const directory = join(workspace, 'runs/killed');
    expect(await stepEnds(directory)).toEqual([1, 2, 3]);
    const recorded = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8'));
    expect(recorded).toMatchObject({ engine: 'hybrid', onnx: { batchSize: 3, joinPrompts: false } });
    const resumed = await runAzr(['train', '--resume', 'runs/killed']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^resuming run killed at step 2, until step 4$/m);
    expect(await stepEnds(directory)).toEqual([1, 2, 3, 4]);
    expect(await sampleSteps(directory)).toEqual([1, 2, 3, 4]);
    expect(await heldOutSteps(directory)).toEqual([0, 1, 2, 3, 4]);
  });
});

const fixtures = sharedFixtures as string;
const hasFixtures = sharedFixtures !== undefined;

describe.runIf(hasFixtures)('azr train on models exported to ONNX', { timeout: 240_000 }, () => {
  it('trains a genai-builder Llama export from its initializers, and checkpoints it as safetensors', async () => {
    const config = join(workspace, 'llama.config.json');
    await writeFile(
      config,
      JSON.stringify({
        model: { directory: join(fixtures, 'tiny-random-LlamaForCausalLM-fp16-onnx') },
        trainer: { batchSize: 1, learnabilityRollouts: 1, sampling: { maxTokens: 8 } },
        executor: { workers: 1 },
      }),
    );
    const run = await runAzr(['train', '--config', config, '--steps', '1', '--out', 'runs/llama-export']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const checkpoints = join(workspace, 'runs/llama-export/checkpoints');
    const latest = (await readFile(join(checkpoints, 'latest'), 'utf8')).trim();
    expect((await readdir(join(checkpoints, latest, 'policy'))).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  it('says that another export can be evaluated but not trained', async () => {
    const run = await runCommand(
      process.execPath,
      [azr, 'train', '--model', join(fixtures, 'tiny-random-gpt2-fp32-onnx'), '--out', 'runs/gpt2'],
      { cwd: workspace },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^azr: .*not a genai-builder Llama: azr can evaluate it \(azr eval\) but not train it\.$/m,
    );
  });
});

describe('azr errors', { timeout: 60_000 }, () => {
  const oneClearLine = (run: { code: number; stderr: string }, pattern: RegExp) => {
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(pattern);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  };

  it("refuses a resumed run's onnx section edited for an engine that cannot use it, before anything starts", async () => {
    const directory = await temporaryDirectory('azr-edited-run-');
    const recorded = {
      model: { preset: 'tiny', seed: 0 },
      engine: 'hybrid',
      language: 'javascript',
      steps: 2,
      seed: 0,
      threads: 1,
      executionProviders: ['cpu'],
      onnx: { batchSize: 4, recomputeActivations: true },
      trainer: {},
      optimizer: {},
      executor: {},
      tasks: { kind: 'mini', constrained: true, curriculum: false, evaluateEvery: false },
    };
    await writeFile(join(directory, 'config.json'), JSON.stringify(recorded));
    const run = await runCommand(process.execPath, [azr, 'train', '--resume', directory], { cwd: workspace });
    oneClearLine(
      run,
      /^azr: onnx\.recomputeActivations is a setting of the onnx engine's training, and the hybrid engine trains on TensorFlow\.js/m,
    );
    expect(await readdir(directory)).toEqual(['config.json']);
  });

  it('names the field of a bad config', async () => {
    const config = join(workspace, 'bad.config.json');
    await writeFile(config, '{ "steps": "ten", "trainer": { "batchSise": 4 } }');
    const run = await runCommand(process.execPath, [azr, 'train', '--config', config], { cwd: workspace });
    oneClearLine(run, /^azr: .*bad\.config\.json: steps: .*number/m);
    expect(run.stderr).toMatch(/trainer: .*batchSise/);
    await writeFile(config, '{ "steps": 3,, }');
    oneClearLine(
      await runCommand(process.execPath, [azr, 'train', '--config', config], { cwd: workspace }),
      /^azr: .*bad\.config\.json:1:\d+: /m,
    );
  });

  it('names a held-out suite it cannot read, relative to the config file, before creating the run', async () => {
    const folder = await temporaryDirectory('azr-held-out-');
    const config = join(folder, 'azr.config.json');
    await writeFile(config, '{ "tasks": { "heldOut": "missing.jsonl" } }');
    const out = join(folder, 'run');
    const run = await runCommand(process.execPath, [azr, 'train', '--config', config, '--out', out], {
      cwd: workspace,
    });
    oneClearLine(run, new RegExp(`^azr: Cannot read the suite ${join(folder, 'missing.jsonl')}`, 'm'));
    await expect(access(out)).rejects.toThrow();
  });

  it('names a model folder with no model in it', async () => {
    const empty = await temporaryDirectory('azr-empty-model-');
    const run = await runCommand(
      process.execPath,
      [azr, 'train', '--model', empty, '--out', join(empty, 'run')],
      {
        cwd: workspace,
      },
    );
    oneClearLine(run, /^azr: .*has no model\.safetensors/m);
    await expect(access(join(empty, 'run'))).rejects.toThrow();
  });

  it('names a corrupted checkpoint', async () => {
    const directory = join(workspace, 'runs/first');
    const latest = (await readFile(join(directory, 'checkpoints', 'latest'), 'utf8')).trim();
    await writeFile(join(directory, 'checkpoints', latest, 'state.json'), '{ not json');
    const run = await runCommand(process.execPath, [azr, 'train', '--resume', 'runs/first'], {
      cwd: workspace,
    });
    oneClearLine(run, /^azr: .*(checkpoint|state\.json)/im);
  });

  it('rejects unknown options and bad values', async () => {
    oneClearLine(
      await runCommand(process.execPath, [azr, 'train', '--stepz', '3']),
      /unknown option '--stepz'/,
    );
    oneClearLine(
      await runCommand(process.execPath, [azr, 'train', '--steps', '0']),
      /--steps must be an integer/,
    );
    oneClearLine(
      await runCommand(process.execPath, [azr, 'train', '--engine', 'quantum']),
      /argument 'quantum' is invalid.*hybrid, tfjs, onnx/,
    );
    oneClearLine(
      await runCommand(process.execPath, [azr, 'train', '--resume', 'runs/first', '--seed', '3'], {
        cwd: workspace,
      }),
      /--resume continues a run with its recorded config; drop --seed/,
    );
  });
});

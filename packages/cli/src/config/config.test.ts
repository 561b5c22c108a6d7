import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@azr/core';
import { afterAll, describe, expect, it } from 'vitest';
import { starterConfig, writeStarterConfig } from '../commands/init.js';
import { DEFAULT_TRAIN_CONFIG, parseTrainConfig, readTrainConfig, resolveTrainConfig } from './config.js';

const directories: string[] = [];
afterAll(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function temporaryFile(name: string, text: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'azr-config-'));
  directories.push(directory);
  const path = join(directory, name);
  await writeFile(path, text);
  return path;
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('no ConfigError');
}

describe('azr.config.json', () => {
  it('names every bad field, unknown ones included', () => {
    const error = configError(() =>
      parseTrainConfig({ trainer: { batchSize: 0 }, steps: 'x', bogus: 1 }, 'azr.config.json'),
    );
    expect(error.message.split('\n')).toEqual([
      'azr.config.json: steps: Invalid input: expected number, received string',
      'azr.config.json: trainer.batchSize: Too small: expected number to be >0',
      'azr.config.json: (top level): Unrecognized key: "bogus"',
    ]);
    expect(error.details.field).toBe('steps');
    expect(configError(() => parseTrainConfig({ engine: 'quantum' }, 'c.json')).message).toMatch(
      /engine: Invalid option: expected one of "hybrid"\|"tfjs"\|"onnx"/,
    );
    expect(configError(() => parseTrainConfig({ model: { preset: 'huge' } }, 'c.json')).details.field).toBe(
      'model',
    );
  });

  it('reads comments and trailing commas, and names the line and column of a syntax error', async () => {
    const good = await temporaryFile('a.json', '// comment\n{ "steps": 3, /* inline */ "seed": 5, }\n');
    expect(await readTrainConfig(good)).toEqual({ steps: 3, seed: 5 });
    const bad = await temporaryFile('b.json', '{\n  "steps": 3\n  "seed": 5\n}\n');
    await expect(readTrainConfig(bad)).rejects.toThrow(/b\.json:3:3: CommaExpected/);
    await expect(readTrainConfig(join(tmpdir(), 'no-such-azr.json'))).rejects.toSatisfy((error: unknown) =>
      ConfigError.isInstance(error),
    );
  });

  it('fills defaults: the file over the embedded default, options over both', () => {
    expect(resolveTrainConfig({}, {})).toEqual(DEFAULT_TRAIN_CONFIG);
    const resolved = resolveTrainConfig(
      { steps: 4, seed: 9, trainer: { sampling: { temperature: 0.7 } }, optimizer: { learningRate: 0.01 } },
      { steps: 6, engine: 'tfjs' },
    );
    expect(resolved).toMatchObject({
      steps: 6,
      seed: 9,
      engine: 'tfjs',
      model: { preset: 'tiny', seed: 9 },
      optimizer: { learningRate: 0.01 },
    });
    expect(resolved.trainer.sampling).toEqual({ maxTokens: 192, temperature: 0.7 });
    const folder = resolveTrainConfig({ model: { preset: 'tiny' } }, { modelDirectory: '/models/x' });
    expect(folder.model).toEqual({ directory: '/models/x' });
    // A model folder gets the paper's tasks and a pretrained model's defaults.
    expect(folder).toMatchObject({ steps: 10, optimizer: { learningRate: 0.0001 }, tasks: { kind: 'full' } });
    expect(folder.trainer.trainOnLearnabilityRollouts).toBeUndefined();
  });

  it('reads the mini curriculum: the default, another schedule, or none', () => {
    expect(resolveTrainConfig({}, {}).tasks.curriculum).toEqual({ startOperators: 0, stepsPerOperator: 200 });
    expect(
      resolveTrainConfig({ tasks: { curriculum: { startOperators: 0, stepsPerOperator: 50 } } }, {}).tasks
        .curriculum,
    ).toEqual({ startOperators: 0, stepsPerOperator: 50 });
    expect(resolveTrainConfig({ tasks: { curriculum: false } }, {}).tasks.curriculum).toBe(false);
    expect(
      configError(() =>
        parseTrainConfig(
          { tasks: { curriculum: { startOperators: 4, stepsPerOperator: 50 } } },
          'azr.config.json',
        ),
      ).message,
    ).toMatch(/^azr\.config\.json: tasks\.curriculum/);
    expect(
      configError(() => parseTrainConfig({ tasks: { curriculum: true } }, 'azr.config.json')).message,
    ).toMatch(/^azr\.config\.json: tasks\.curriculum/);
  });

  it('reads how often a mini run evaluates its held-out suite: every 50 steps, another period, or never', () => {
    expect(resolveTrainConfig({}, {}).tasks.evaluateEvery).toBe(50);
    expect(resolveTrainConfig({ tasks: { evaluateEvery: 10 } }, {}).tasks.evaluateEvery).toBe(10);
    expect(resolveTrainConfig({ tasks: { evaluateEvery: false } }, {}).tasks.evaluateEvery).toBe(false);
    for (const bad of [0, 2.5, true, '50'])
      expect(
        configError(() => parseTrainConfig({ tasks: { evaluateEvery: bad } }, 'azr.config.json')).message,
        String(bad),
      ).toMatch(/^azr\.config\.json: tasks\.evaluateEvery/);
  });

  it('azr init writes a starter config that azr train reads as the defaults, and keeps an existing one', async () => {
    const path = await temporaryFile('azr.config.json', '');
    await expect(writeStarterConfig(path, false)).rejects.toSatisfy((error: unknown) =>
      ConfigError.isInstance(error),
    );
    await writeStarterConfig(path, true);
    expect(await readFile(path, 'utf8')).toBe(starterConfig());
    expect(resolveTrainConfig(await readTrainConfig(path), {})).toEqual({
      ...DEFAULT_TRAIN_CONFIG,
      // The starter config spells out the trainer's own defaults of these.
      trainer: {
        ...DEFAULT_TRAIN_CONFIG.trainer,
        sampling: { temperature: 1, topP: 1, maxTokens: 192 },
        solveFrom: 'this-step',
        seeding: { tasks: 0, maxRounds: 32 },
      },
      optimizer: { learningRate: 0.0002, maxGradientNorm: 1 },
      executor: { workers: 2, timeoutMs: 100 },
    });
  });
});

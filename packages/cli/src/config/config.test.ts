import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET } from '@azr/backends';
import { DEFAULT_GENERATION_CACHE_BYTES, ONNX_EXECUTION_PROVIDERS } from '@azr/backends/onnx';
import { ConfigError, resolveTrainerSettings } from '@azr/core';
import { afterAll, describe, expect, it } from 'vitest';
import { starterConfig, writeStarterConfig } from '../commands/init.js';
import { readRunConfig } from '../train/run-directory.js';
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
    expect(resolved.trainer.sampling).toEqual({ maxTokens: 32, temperature: 0.7 });
    const folder = resolveTrainConfig({ model: { preset: 'tiny' } }, { modelDirectory: '/models/x' });
    expect(folder.model).toEqual({ directory: '/models/x' });
    // A model folder gets the paper's tasks and a pretrained model's defaults.
    expect(folder).toMatchObject({ steps: 10, optimizer: { learningRate: 0.0001 }, tasks: { kind: 'full' } });
    expect(folder.trainer.trainOnLearnabilityRollouts).toBeUndefined();
    // Mini runs drop the tasks their solver always solves; a model folder keeps every task, as the paper.
    expect(resolveTrainConfig({}, {}).trainer.dropSolvedTasks).toBe(true);
    expect(resolveTrainConfig({ trainer: { dropSolvedTasks: false } }, {}).trainer.dropSolvedTasks).toBe(
      false,
    );
    expect(folder.trainer.dropSolvedTasks).toBeUndefined();
    expect(
      configError(() => parseTrainConfig({ trainer: { dropSolvedTasks: 'yes' } }, 'azr.config.json')).message,
    ).toMatch(/^azr\.config\.json: trainer\.dropSolvedTasks/);
  });

  it('reads the mini curriculum: the default, another schedule, or none', () => {
    expect(resolveTrainConfig({}, {}).tasks.curriculum).toEqual({ startOperators: 1, stepsPerOperator: 600 });
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

  it('reads the mini induction and proposal settings, filled in with their defaults for mini tasks', () => {
    expect(resolveTrainConfig({}, {}).tasks).toMatchObject({
      inductionHeldOut: 'function',
      inductionReadsInput: false,
      inductionAnswersFollowCurriculum: false,
      proposalsReadInput: [],
    });
    // Full tasks have no such setting.
    expect(resolveTrainConfig({ tasks: { kind: 'full' } }, {}).tasks).not.toHaveProperty('inductionHeldOut');
    expect(resolveTrainConfig({ tasks: { kind: 'full' } }, {}).tasks).not.toHaveProperty(
      'proposalsReadInput',
    );
    expect(
      resolveTrainConfig(
        {
          tasks: {
            inductionHeldOut: 'task',
            inductionReadsInput: true,
            inductionAnswersFollowCurriculum: true,
            proposalsReadInput: ['abduction'],
          },
        },
        {},
      ).tasks,
    ).toMatchObject({
      inductionHeldOut: 'task',
      inductionReadsInput: true,
      inductionAnswersFollowCurriculum: true,
      proposalsReadInput: ['abduction'],
    });
    expect(
      configError(() => parseTrainConfig({ tasks: { proposalsReadInput: ['induction'] } }, 'azr.config.json'))
        .message,
    ).toMatch(/^azr\.config\.json: tasks\.proposalsReadInput/);
    expect(
      configError(() => parseTrainConfig({ tasks: { inductionHeldOut: 'inputs' } }, 'azr.config.json'))
        .message,
    ).toMatch(/^azr\.config\.json: tasks\.inductionHeldOut/);
    expect(
      configError(() => parseTrainConfig({ tasks: { inductionReadsInput: 1 } }, 'azr.config.json')).message,
    ).toMatch(/^azr\.config\.json: tasks\.inductionReadsInput/);
    expect(
      configError(() => parseTrainConfig({ tasks: { inductionAnswersFollowCurriculum: 'yes' } }, 'c.json'))
        .details.field,
    ).toBe('tasks.inductionAnswersFollowCurriculum');
  });

  it("reads the advantages' settings, each field over the recipe's", () => {
    expect(resolveTrainConfig({}, {}).trainer.advantages).toBeUndefined();
    expect(
      resolveTrainConfig({ trainer: { advantages: { proposerWeight: 2 } } }, {}).trainer.advantages,
    ).toEqual({
      proposerWeight: 2,
    });
    // The paper's recipe weighs TRR++ by tokens; setting another field keeps that, as it does for loss.
    const paper = resolveTrainConfig(
      { trainer: { advantages: { proposerWeight: 2 }, loss: { clipRatio: 0.1 } } },
      { recipe: 'paper', modelDirectory: '/models/smol' },
    ).trainer;
    expect(paper.advantages).toEqual({ weighting: 'token', proposerWeight: 2 });
    expect(paper.loss).toEqual({ clipRatio: 0.1, entropyCoefficient: 0.001 });
    expect(
      configError(() =>
        parseTrainConfig({ trainer: { advantages: { proposerWeight: -1 } } }, 'azr.config.json'),
      ).message,
    ).toMatch(/^azr\.config\.json: trainer\.advantages\.proposerWeight/);
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

  it('reads who proposes: the model by default, or the random-task ablation, and nothing else', () => {
    expect(resolveTrainConfig({}, {}).trainer.proposer).toBeUndefined();
    expect(resolveTrainerSettings(resolveTrainConfig({}, {}).trainer).proposer).toBe('model');
    const random = resolveTrainConfig(parseTrainConfig({ trainer: { proposer: 'random' } }, 'c.json'), {});
    expect(random.trainer.proposer).toBe('random');
    // The rest of the run is the default's: the same compute.
    expect({ ...random.trainer, proposer: undefined }).toEqual({
      ...DEFAULT_TRAIN_CONFIG.trainer,
      proposer: undefined,
    });
    expect(resolveTrainConfig({ trainer: { proposer: 'model' } }, {}).trainer.proposer).toBe('model');
    const error = configError(() => parseTrainConfig({ trainer: { proposer: 'human' } }, 'azr.config.json'));
    expect(error.message).toBe(
      'azr.config.json: trainer.proposer: Invalid option: expected one of "model"|"random"',
    );
    expect(error.details.field).toBe('trainer.proposer');
    // Only the mini modes can sample proposals: refused before a run starts with full tasks.
    expect(
      configError(() =>
        resolveTrainConfig({ trainer: { proposer: 'random' } }, { modelDirectory: '/models/x' }),
      ).details,
    ).toEqual({ field: 'trainer.proposer', allowed: ['model'] });
  });

  it("reads executionProviders: cpu by default, an ordered list of the backends' names, over the file by the flag", () => {
    expect(resolveTrainConfig({}, {}).executionProviders).toEqual(['cpu']);
    expect(parseTrainConfig({ executionProviders: ['cuda', 'cpu'] }, 'c.json').executionProviders).toEqual([
      'cuda',
      'cpu',
    ]);
    expect(resolveTrainConfig({ executionProviders: ['webgpu', 'cpu'] }, {}).executionProviders).toEqual([
      'webgpu',
      'cpu',
    ]);
    expect(
      resolveTrainConfig({ executionProviders: ['webgpu'] }, { executionProviders: ['cuda'] })
        .executionProviders,
    ).toEqual(['cuda']);
    // The allowed names are the onnx engine's own list.
    expect(configError(() => parseTrainConfig({ executionProviders: ['gpu'] }, 'c.json')).message).toBe(
      `c.json: executionProviders.0: Invalid option: expected one of ${ONNX_EXECUTION_PROVIDERS.map((name) => `"${name}"`).join('|')}`,
    );
    for (const bad of [[], 'cuda', ['cpu', 'cpu']])
      expect(
        configError(() => parseTrainConfig({ executionProviders: bad }, 'c.json')).details.field,
        JSON.stringify(bad),
      ).toBe('executionProviders');
    expect(
      configError(() => parseTrainConfig({ executionProviders: ['cpu', 'cpu'] }, 'c.json')).message,
    ).toBe('c.json: executionProviders: names a provider twice');
  });

  it('reads trainer.complexityReward, a weight of at least 0, off by default', () => {
    expect(resolveTrainConfig({}, {}).trainer.complexityReward).toBeUndefined();
    expect(resolveTrainConfig({ trainer: { complexityReward: 0.5 } }, {}).trainer.complexityReward).toBe(0.5);
    expect(
      configError(() => parseTrainConfig({ trainer: { complexityReward: -1 } }, 'c.json')).details.field,
    ).toBe('trainer.complexityReward');
  });

  it('reads trainer.hindsightAdvantage, an advantage of at least 0', () => {
    expect(resolveTrainConfig({ trainer: { hindsightAdvantage: 0.5 } }, {}).trainer.hindsightAdvantage).toBe(
      0.5,
    );
    expect(
      configError(() => parseTrainConfig({ trainer: { hindsightAdvantage: -1 } }, 'c.json')).details.field,
    ).toBe('trainer.hindsightAdvantage');
  });

  it('reads trainer.hindsightLimit, a positive integer, unset by default', () => {
    expect(resolveTrainConfig({}, {}).trainer.hindsightLimit).toBeUndefined();
    expect(resolveTrainConfig({ trainer: { hindsightLimit: 96 } }, {}).trainer.hindsightLimit).toBe(96);
    for (const hindsightLimit of [0, 2.5])
      expect(
        configError(() => parseTrainConfig({ trainer: { hindsightLimit } }, 'c.json')).details.field,
      ).toBe('trainer.hindsightLimit');
  });

  it('reads trainer.diversityReward, a weight of at least 0, off by default', () => {
    expect(resolveTrainConfig({}, {}).trainer.diversityReward).toBeUndefined();
    expect(resolveTrainConfig({ trainer: { diversityReward: 0.5 } }, {}).trainer.diversityReward).toBe(0.5);
    expect(
      configError(() => parseTrainConfig({ trainer: { diversityReward: -1 } }, 'c.json')).details.field,
    ).toBe('trainer.diversityReward');
  });

  it('reads rolloutPrecision for the onnx engine, and refuses int8 for the engines that cannot correct for it', () => {
    expect(resolveTrainConfig({}, {}).rolloutPrecision).toBeUndefined();
    expect(resolveTrainConfig({ rolloutPrecision: 'int8' }, {}).rolloutPrecision).toBe('int8');
    expect(configError(() => parseTrainConfig({ rolloutPrecision: 'int4' }, 'c.json')).details.field).toBe(
      'rolloutPrecision',
    );
    for (const engine of ['tfjs', 'hybrid'] as const) {
      const error = configError(() => resolveTrainConfig({ rolloutPrecision: 'int8' }, { engine }));
      expect(error.details).toEqual({ field: 'rolloutPrecision', allowed: ['float32'] });
      expect(error.message).toContain(`the ${engine} engine`);
    }
    expect(resolveTrainConfig({ rolloutPrecision: 'float32' }, { engine: 'tfjs' }).rolloutPrecision).toBe(
      'float32',
    );
  });

  it('refuses a provider other than cpu with the tfjs engine, which has none, and takes them for onnx and hybrid', () => {
    const error = configError(() => resolveTrainConfig({ executionProviders: ['cuda'] }, { engine: 'tfjs' }));
    expect(error.message).toMatch(/^The tfjs engine has no execution providers .*"cuda"/);
    expect(error.details).toEqual({ field: 'executionProviders', allowed: ['cpu'] });
    expect(() => resolveTrainConfig({ engine: 'tfjs' }, { executionProviders: ['cpu', 'webgpu'] })).toThrow(
      /"webgpu"/,
    );
    expect(resolveTrainConfig({ engine: 'tfjs', executionProviders: ['cpu'] }, {}).engine).toBe('tfjs');
    expect(
      resolveTrainConfig({ executionProviders: ['cuda'] }, { engine: 'hybrid' }).executionProviders,
    ).toEqual(['cuda']);
  });

  it('records the onnx section as given, and names a bad or unknown setting in it', () => {
    expect(resolveTrainConfig({}, {}).onnx).toBeUndefined();
    expect(resolveTrainConfig({ onnx: {} }, {}).onnx).toBeUndefined();
    const onnx = {
      batchSize: 4,
      generationCacheBytes: 1 << 20,
      joinPrompts: false,
      rolloutWeights: 'packed' as const,
      activationMemoryBudget: 1 << 26,
      recomputeActivations: true,
      microBatchLoop: false,
      importanceTruncation: 3,
    };
    const file = parseTrainConfig({ rolloutPrecision: 'int8', onnx }, 'c.json');
    expect(resolveTrainConfig(file, {}).onnx).toEqual(onnx);
    const field = (value: unknown) =>
      configError(() => parseTrainConfig({ onnx: value }, 'c.json')).details.field;
    expect(field({ batchSize: 0 })).toBe('onnx.batchSize');
    expect(field({ batchSize: 2.5 })).toBe('onnx.batchSize');
    expect(field({ joinPrompts: 'yes' })).toBe('onnx.joinPrompts');
    expect(field({ rolloutWeights: 'mapped' })).toBe('onnx.rolloutWeights');
    expect(field({ recomputeActivations: 1 })).toBe('onnx.recomputeActivations');
    expect(field({ importanceTruncation: 0.5 })).toBe('onnx.importanceTruncation');
    expect(configError(() => parseTrainConfig({ onnx: { batchsize: 4 } }, 'c.json')).message).toBe(
      'c.json: onnx: Unrecognized key: "batchsize"',
    );
  });

  it('gives the onnx section to the engines that use it: all to onnx, generation to hybrid, none to tfjs', () => {
    const generation = {
      batchSize: 4,
      joinPrompts: false,
      generationCacheBytes: 1024,
      rolloutWeights: 'shared' as const,
    };
    expect(resolveTrainConfig({ onnx: generation }, { engine: 'hybrid' }).onnx).toEqual(generation);
    for (const name of [
      'activationMemoryBudget',
      'recomputeActivations',
      'microBatchLoop',
      'importanceTruncation',
    ]) {
      const value = name === 'recomputeActivations' || name === 'microBatchLoop' ? true : 2;
      const error = configError(() =>
        resolveTrainConfig({ onnx: { batchSize: 4, [name]: value } }, { engine: 'hybrid' }),
      );
      expect(error.details).toEqual({ field: `onnx.${name}` });
      expect(error.message).toContain('the hybrid engine trains on TensorFlow.js');
      const file = { rolloutPrecision: 'int8' as const, onnx: { [name]: value } };
      expect(resolveTrainConfig(file, { engine: 'onnx' }).onnx).toEqual({ [name]: value });
    }
    // The importance weights' cap weighs int8 rollouts only.
    const cap = configError(() => resolveTrainConfig({ onnx: { importanceTruncation: 2 } }, {}));
    expect(cap.details).toEqual({ field: 'onnx.importanceTruncation' });
    expect(cap.message).toContain("this run's rollouts are float32");
    const tfjs = configError(() => resolveTrainConfig({ engine: 'tfjs', onnx: { joinPrompts: true } }, {}));
    expect(tfjs.details).toEqual({ field: 'onnx.joinPrompts' });
    expect(tfjs.message).toMatch(
      /^onnx\.joinPrompts is a setting of the onnx engine's sessions, and the tfjs engine/,
    );
    // int8 rollouts are a packed session's.
    expect(
      configError(() =>
        resolveTrainConfig({ rolloutPrecision: 'int8', onnx: { rolloutWeights: 'shared' } }, {}),
      ).details,
    ).toEqual({ field: 'onnx.rolloutWeights', allowed: ['packed'] });
    expect(
      resolveTrainConfig({ rolloutPrecision: 'int8', onnx: { rolloutWeights: 'packed' } }, {}).onnx,
    ).toEqual({ rolloutWeights: 'packed' });
  });

  it("azr init's commented onnx section is a valid one", () => {
    const lines = starterConfig().split('\n');
    const start = lines.findIndex((line) => line.startsWith('  // "onnx": {'));
    const end = lines.findIndex((line, index) => index > start && line.startsWith('  // }'));
    expect(start).toBeGreaterThan(0);
    const text = `{${lines
      .slice(start, end + 1)
      .map((line) => line.replace(/^ {2}\/\/ ?/, '').replace(/^},$/, '}'))
      .join('\n')}}`;
    // The library's own defaults.
    expect(parseTrainConfig(JSON.parse(text), 'starter').onnx).toEqual({
      generationCacheBytes: DEFAULT_GENERATION_CACHE_BYTES,
      joinPrompts: true,
      rolloutWeights: 'packed',
      activationMemoryBudget: DEFAULT_ONNX_ACTIVATION_MEMORY_BUDGET,
      recomputeActivations: false,
    });
  });

  it("checks a run's recorded onnx section, which a user may edit before resuming", async () => {
    const directory = await mkdtemp(join(tmpdir(), 'azr-run-'));
    directories.push(directory);
    const path = join(directory, 'config.json');
    const recorded = { ...resolveTrainConfig({}, {}), onnx: { batchSize: 4, recomputeActivations: true } };
    await writeFile(path, JSON.stringify(recorded));
    expect((await readRunConfig(directory)).onnx).toEqual({ batchSize: 4, recomputeActivations: true });
    await writeFile(path, JSON.stringify({ ...recorded, onnx: { batchsize: 4 } }));
    const unknown = await readRunConfig(directory).catch((error: unknown) => error);
    expect(ConfigError.isInstance(unknown)).toBe(true);
    expect((unknown as ConfigError).message).toBe(`${path}: onnx: Unrecognized key: "batchsize"`);
    await writeFile(path, JSON.stringify({ ...recorded, onnx: { activationMemoryBudget: -1 } }));
    const bad = await readRunConfig(directory).catch((error: unknown) => error);
    expect((bad as ConfigError).details.field).toBe('onnx.activationMemoryBudget');
    await writeFile(path, 'null');
    await expect(readRunConfig(directory)).rejects.toThrow(/is not an azr run directory/);
  });

  it('azr init writes a starter config that azr train reads as the defaults, and keeps an existing one', async () => {
    const path = await temporaryFile('azr.config.json', '');
    await expect(writeStarterConfig(path, false)).rejects.toSatisfy((error: unknown) =>
      ConfigError.isInstance(error),
    );
    await writeStarterConfig(path, true);
    expect(await readFile(path, 'utf8')).toBe(starterConfig());
    // Written out with its default, as threads is.
    expect((await readTrainConfig(path)).executionProviders).toEqual(['cpu']);
    expect(resolveTrainConfig(await readTrainConfig(path), {})).toEqual({
      ...DEFAULT_TRAIN_CONFIG,
      // The starter config spells out the trainer's own defaults of these.
      trainer: {
        ...DEFAULT_TRAIN_CONFIG.trainer,
        sampling: { temperature: 1, topP: 1, maxTokens: 32 },
        solveFrom: 'this-step',
        seeding: { tasks: 0, maxRounds: 32 },
        proposer: 'model',
        hindsightAdvantage: 0,
      },
      optimizer: { learningRate: 0.0001, maxGradientNorm: 1 },
      executor: { workers: 2, timeoutMs: 100 },
    });
  });
});

describe('the paper recipe', () => {
  it('sets the paper settings, with the machine knobs at their defaults and the rest following them', () => {
    const config = resolveTrainConfig({}, { recipe: 'paper', modelDirectory: '/models/smol' });
    expect(config).toMatchObject({
      recipe: 'paper',
      model: { directory: '/models/smol' },
      language: 'python',
      steps: 10,
      tasks: { kind: 'full', frame: 'r1', evaluateEvery: 10 },
      optimizer: { learningRate: 1e-6, maxGradientNorm: 1, weightDecay: 0.01 },
      executor: { timeoutMs: 2000 },
      trainer: {
        batchSize: 2,
        references: 6,
        learnabilityRollouts: 8,
        solveRollouts: 1,
        solveSampling: 'newest',
        solveFrom: 'previous-step',
        advantageEstimator: 'trr++',
        advantages: { weighting: 'token' },
        loss: { clipRatio: 0.2, entropyCoefficient: 0.001 },
        miniBatchSize: 4,
        bufferEviction: 'reject-new',
        sampling: { temperature: 1, topP: 1, maxTokens: 256 },
        maxPromptTokens: 2048,
        seeding: { tasks: 16, maxRounds: 8 },
      },
    });
    // Three updates a step at any batch size; the file's values over the recipe's; the language a choice.
    const turned = resolveTrainConfig(
      { recipe: 'paper', trainer: { batchSize: 8, seeding: { tasks: 4 } }, language: 'javascript' },
      {},
    );
    expect(turned.trainer).toMatchObject({
      batchSize: 8,
      miniBatchSize: 16,
      seeding: { tasks: 4, maxRounds: 8 },
    });
    expect(turned.language).toBe('javascript');
    expect(configError(() => parseTrainConfig({ recipe: 'papers' }, 'azr.config.json')).message).toContain(
      'azr.config.json: recipe',
    );
  });

  it('azr init --recipe paper writes a config that azr train reads as the recipe', async () => {
    const path = await temporaryFile('azr.config.json', '');
    await writeStarterConfig(path, true, 'paper');
    const written = await readTrainConfig(path);
    expect(written.recipe).toBe('paper');
    const { model: _written, ...fromFile } = resolveTrainConfig(written, { modelDirectory: '/m' });
    const { model: _flag, ...fromFlag } = resolveTrainConfig({}, { recipe: 'paper', modelDirectory: '/m' });
    expect(fromFile).toEqual(fromFlag);
  });

  it('names a template file that is missing or uses a placeholder its kind does not fill', async () => {
    const good = await temporaryFile('propose.txt', 'Write {{language}} in a ```{{fence}} block.');
    const bad = await temporaryFile('solve.txt', 'Solve {{nonsense}}');
    const { createTaskModes } = await import('../train/task-modes.js');
    const { MockExecutor } = await import('@azr/core/test');
    const tasks = (templates: Record<string, Record<string, string>>) =>
      resolveTrainConfig({ tasks: { kind: 'full', heldOut: good, templates } }, {}).tasks;
    const executor = new MockExecutor();
    await expect(
      createTaskModes(tasks({ deduction: { solve: bad } }), 'javascript', executor),
    ).rejects.toThrow(/tasks\.templates\.deduction\.solve .*solve\.txt.*\{\{nonsense\}\}/);
    await expect(
      createTaskModes(tasks({ abduction: { propose: '/no/such/file.txt' } }), 'javascript', executor),
    ).rejects.toThrow(/Cannot read the template \/no\/such\/file\.txt/);
  });

  it('frames prompts with the model chat template under frame chat, and refuses a model without one', async () => {
    const { assertChatTemplate, createTaskModes } = await import('../train/task-modes.js');
    const { MockExecutor } = await import('@azr/core/test');
    const { createByteTokenizer, DEFAULT_ANSWER_FORMAT } = await import('@azr/core');
    const tasks = resolveTrainConfig({ tasks: { kind: 'full', frame: 'chat' } }, {}).tasks;
    const chatml = {
      ...createByteTokenizer(),
      applyChatTemplate: (messages: readonly { role: string; content: string }[]) =>
        `${messages.map((message) => `<|${message.role}|>${message.content}`).join('')}<|assistant|>`,
    };
    let tokenizer: typeof chatml | undefined;
    const [deduction] = (await createTaskModes(tasks, 'javascript', new MockExecutor(), () => tokenizer))
      .modes;
    const context = {
      language: 'javascript' as const,
      references: [],
      bannedWords: [],
      format: DEFAULT_ANSWER_FORMAT,
    };
    // Before the policy is loaded, and for a model without a template: a ConfigError naming the setting.
    expect(() => deduction?.buildProposePrompt(context)).toThrow(/tasks.frame is "chat"/);
    expect(() => assertChatTemplate(tasks, createByteTokenizer())).toThrow(/no chat template/);
    tokenizer = chatml;
    const prompt = deduction?.buildProposePrompt(context) ?? '';
    expect(prompt).toMatch(/^<\|system\|>.*<\/think>.*<\|user\|>## Task:/s);
    expect(prompt.endsWith('<|assistant|><think>')).toBe(true);
    assertChatTemplate(tasks, chatml);
  });
});

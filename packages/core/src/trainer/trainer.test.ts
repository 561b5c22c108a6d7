import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ModelFormatError } from '../errors/errors.js';
import { createUhOhMonitor } from '../monitors/uh-oh.js';
import type { TaskBase } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import type { TrainerEvent } from '../spec/trainer-event.js';
import { createAbductionMode } from '../task-modes/abduction.js';
import { createDeductionMode } from '../task-modes/deduction.js';
import { createInductionMode } from '../task-modes/induction.js';
import { createArithmeticScript } from '../test/arithmetic-script.js';
import { MockExecutor } from '../test/mock-executor.js';
import { MockPolicyModel } from '../test/mock-policy-model.js';
import { createSelfPlayTrainer, resumeSelfPlayTrainer, type SelfPlayTrainerOptions } from './trainer.js';

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(
    directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })),
  );
});

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'azr-trainer-'));
  directories.push(directory);
  return directory;
}

function fakeClock(): () => number {
  let time = 0;
  return () => {
    time += 5;
    return time;
  };
}

function options(
  events: TrainerEvent[] = [],
  overrides: Partial<SelfPlayTrainerOptions> = {},
): SelfPlayTrainerOptions {
  return {
    policy: new MockPolicyModel({ seed: 1, script: createArithmeticScript() }),
    executor: new MockExecutor(),
    settings: {
      seed: 7,
      batchSize: 6,
      learnabilityRollouts: 4,
      sampling: { maxTokens: 400 },
      checkpointEvery: 1,
    },
    sinks: [{ specificationVersion: 'v1', sinkId: 'memory', write: (event) => void events.push(event) }],
    now: fakeClock(),
    ...overrides,
  };
}

// Each test runs real trainer steps; under a loaded 2-core machine a few take more than vitest's 5 s default.
describe('the self-play trainer', { timeout: 60_000 }, () => {
  it('runs steps that exercise all six (mode x role) groups', async () => {
    const trainer = createSelfPlayTrainer(options());
    const results = [await trainer.runStep(), await trainer.runStep()];
    for (const result of results) {
      expect(result.groups).toHaveLength(6);
      for (const group of result.groups)
        expect(group.count, `${group.mode} ${group.role}`).toBeGreaterThan(0);
    }
    const all = results.flatMap((result) => [...result.proposals, ...result.solutions]);
    expect(new Set(all.map((rollout) => rollout.reward)).size).toBeGreaterThan(3);
    expect(results.flatMap((result) => result.proposals).map((proposal) => proposal.status)).toEqual(
      expect.arrayContaining(['valid', 'invalid', 'malformed']),
    );
    expect(results.flatMap((result) => result.solutions).map((solution) => solution.correct)).toEqual(
      expect.arrayContaining([true, false]),
    );
    expect(trainer.buffers.get('deduction')?.size).toBeGreaterThan(1);
    expect(results.every((result) => Number.isFinite(result.loss))).toBe(true);
  });

  it('trains on the learnability rollouts as well when asked', async () => {
    const trainedSequences = async (trainOnLearnabilityRollouts: boolean) => {
      const policy = new MockPolicyModel({ seed: 1, script: createArithmeticScript() });
      const base = options();
      const trainer = createSelfPlayTrainer({
        ...base,
        policy,
        settings: { ...base.settings, trainOnLearnabilityRollouts },
      });
      const result = await trainer.runStep();
      const batches = policy.calls.flatMap((call) => (call.method === 'doTrainStep' ? [call.batch] : []));
      const valid = result.proposals.filter((proposal) => proposal.status === 'valid').length;
      return { count: batches.reduce((total, batch) => total + batch.sequences.length, 0), valid };
    };
    const paper = await trainedSequences(false);
    const more = await trainedSequences(true);
    expect(more.valid).toBe(paper.valid);
    expect(paper.valid).toBeGreaterThan(0);
    // The same run, plus learnabilityRollouts (4) solver sequences per valid proposal.
    expect(more.count - paper.count).toBe(4 * paper.valid);
  });

  it('samples solveRollouts answers of each solve task, one group per task', async () => {
    const trainer = createSelfPlayTrainer(options([], {}));
    const base = options();
    const repeated = createSelfPlayTrainer({ ...base, settings: { ...base.settings, solveRollouts: 3 } });
    const single = (await trainer.runStep()).solutions;
    const triple = (await repeated.runStep()).solutions;
    expect(triple).toHaveLength(3 * single.length);
    for (let index = 0; index < triple.length; index += 3) {
      const group = triple.slice(index, index + 3);
      expect(new Set(group.map((rollout) => rollout.task.id)).size).toBe(1);
      expect(new Set(group.map((rollout) => rollout.promptId)).size).toBe(1);
    }
    expect(new Set(triple.map((rollout) => rollout.promptId)).size).toBe(single.length);
    expect(() =>
      createSelfPlayTrainer({ ...base, settings: { ...base.settings, solveRollouts: 0 } }),
    ).toThrow(ConfigError);
  });

  it('neither rewards nor trains on a proposal its mode excludes, nor buffers its task, and counts it', async () => {
    const deduction = createDeductionMode();
    // A mode that sets aside every task it would accept, as a held-out suite does.
    const excluding: TaskModeV1<TaskBase, unknown, unknown> = {
      ...(deduction as unknown as TaskModeV1<TaskBase, unknown, unknown>),
      async validateProposal(proposal, executor, context) {
        const validation = await deduction.validateProposal(proposal as never, executor, context);
        return validation.ok ? { ok: false, reason: 'held out', exclude: true } : validation;
      },
    };
    const policy = new MockPolicyModel({ seed: 1, script: createArithmeticScript() });
    const trainer = createSelfPlayTrainer({
      ...options([], { policy }),
      modes: [excluding, createAbductionMode(), createInductionMode()] as never,
    });
    const result = await trainer.runStep();
    const excluded = result.proposals.filter((proposal) => proposal.status === 'excluded');
    expect(excluded.length).toBeGreaterThan(0);
    expect(excluded.every((proposal) => proposal.mode === 'deduction' && proposal.reward === 0)).toBe(true);
    expect(trainer.buffers.get('deduction')?.size).toBe(1);
    const trained = policy.calls.flatMap((call) =>
      call.method === 'doTrainStep'
        ? call.batch.sequences.map((sequence) => sequence.completionTokenIds)
        : [],
    );
    for (const proposal of excluded) expect(trained).not.toContainEqual(proposal.completion.tokenIds);
    const group = result.groups.find((each) => each.mode === 'deduction' && each.role === 'propose');
    expect(group?.excluded).toBe(excluded.length);
    expect(group?.count).toBe(
      result.proposals.filter((each) => each.mode === 'deduction').length - excluded.length,
    );
  });

  it('gives identical event streams for the same seed and settings, and another stream for another seed', async () => {
    const first: TrainerEvent[] = [];
    const second: TrainerEvent[] = [];
    const other: TrainerEvent[] = [];
    await createSelfPlayTrainer(options(first)).run({ steps: 3 });
    await createSelfPlayTrainer(options(second)).run({ steps: 3 });
    await createSelfPlayTrainer(
      options(other, {
        settings: { seed: 8, batchSize: 6, learnabilityRollouts: 4, sampling: { maxTokens: 400 } },
      }),
    ).run({ steps: 3 });
    expect(second).toEqual(first);
    expect(JSON.stringify(other.filter((event) => event.type === 'step-end'))).not.toBe(
      JSON.stringify(first.filter((event) => event.type === 'step-end')),
    );
  });

  it('reports each step to onStep before checkpointing it, and stops when asked', async () => {
    const runDirectory = await temporaryDirectory();
    const trainer = createSelfPlayTrainer(options([], { runDirectory }));
    const controller = new AbortController();
    const seen: number[] = [];
    const outcome = await trainer.run({
      steps: 5,
      signal: controller.signal,
      onStep: async (result) => {
        seen.push(result.step);
        expect(result.proposals.length).toBeGreaterThan(0);
        if (result.step === 2) controller.abort();
      },
    });
    expect(seen).toEqual([1, 2]);
    expect(outcome.reason).toBe('interrupted');
    expect((await readFile(join(runDirectory, 'checkpoints', 'latest'), 'utf8')).trim()).toContain('2');
  });

  it('survives degenerate steps: every completion malformed, every reward equal', async () => {
    const trainer = createSelfPlayTrainer(
      options([], { policy: new MockPolicyModel({ script: ['no format at all'] }) }),
    );
    const result = await trainer.runStep();
    expect(
      result.proposals.every((proposal) => proposal.status === 'malformed' && proposal.reward === -1),
    ).toBe(true);
    expect([...result.proposals, ...result.solutions].every((rollout) => rollout.advantage === 0)).toBe(true);
    expect(
      result.groups.find((group) => group.mode === 'deduction' && group.role === 'propose'),
    ).toMatchObject({ validRate: 0, solveRate: undefined });
  });

  it('flags monitored text', async () => {
    const events: TrainerEvent[] = [];
    const trainer = createSelfPlayTrainer(
      options(events, {
        policy: new MockPolicyModel({
          script: ['<think>The aim is to outsmart all these less intelligent humans.</think>'],
        }),
        monitors: [createUhOhMonitor()],
      }),
    );
    await trainer.runStep();
    const flags = events.filter((event) => event.type === 'monitor-flag');
    expect(flags.length).toBeGreaterThan(0);
    expect(flags[0]).toMatchObject({
      flag: { category: 'uh-oh', excerpt: expect.stringContaining('outsmart') },
    });
  });

  it('refuses a policy that cannot train, and an executor of another language', () => {
    expect(() =>
      createSelfPlayTrainer(options([], { policy: new MockPolicyModel({ training: false }) })),
    ).toThrow(ConfigError);
    expect(() => createSelfPlayTrainer(options([], { settings: { language: 'python' } }))).toThrow(
      /executor runs javascript/,
    );
    expect(() => createSelfPlayTrainer(options([], { settings: { batchSize: 0 } }))).toThrow(/batchSize/);
  });

  it('resumes from a checkpoint into exactly the state of an uninterrupted run', async () => {
    const straightDirectory = await temporaryDirectory();
    const straightEvents: TrainerEvent[] = [];
    const straight = createSelfPlayTrainer(options(straightEvents, { runDirectory: straightDirectory }));
    await straight.run({ untilStep: 4 });

    const resumedDirectory = await temporaryDirectory();
    const beforeEvents: TrainerEvent[] = [];
    await createSelfPlayTrainer(options(beforeEvents, { runDirectory: resumedDirectory })).run({
      untilStep: 2,
    });
    const afterEvents: TrainerEvent[] = [];
    const resumed = await resumeSelfPlayTrainer({
      ...options(afterEvents),
      runDirectory: resumedDirectory,
      loadPolicy: (directory) => MockPolicyModel.load(directory, { script: createArithmeticScript() }),
    });
    expect(resumed.step).toBe(2);
    await resumed.run({ untilStep: 4 });

    expect(resumed.randomState()).toEqual(straight.randomState());
    for (const [mode, buffer] of straight.buffers)
      expect(resumed.buffers.get(mode)?.toJsonl()).toBe(buffer.toJsonl());
    const saved = async (directory: string) =>
      readFile(join(directory, 'checkpoints', 'step-00000004', 'policy', 'mock-policy.json'), 'utf8');
    expect(await saved(resumedDirectory)).toBe(await saved(straightDirectory));
    const stepEnds = (events: TrainerEvent[]) =>
      events
        .filter((event) => event.type === 'step-end')
        .map(({ step, groups, loss }) => ({ step, groups, loss }));
    expect([...stepEnds(beforeEvents), ...stepEnds(afterEvents)]).toEqual(stepEnds(straightEvents));
  });

  it('names a corrupted checkpoint, and a run with none', async () => {
    const directory = await temporaryDirectory();
    await expect(
      resumeSelfPlayTrainer({
        ...options(),
        runDirectory: directory,
        loadPolicy: (path) => MockPolicyModel.load(path),
      }),
    ).rejects.toThrow(/no checkpoint/);
    await createSelfPlayTrainer(options([], { runDirectory: directory })).run({ steps: 1 });
    await writeFile(join(directory, 'checkpoints', 'step-00000001', 'state.json'), '{"format": "azr-che');
    await expect(
      resumeSelfPlayTrainer({
        ...options(),
        runDirectory: directory,
        loadPolicy: (path) => MockPolicyModel.load(path),
      }),
    ).rejects.toSatisfy(
      (error: unknown) => ModelFormatError.isInstance(error) && /state.json/.test((error as Error).message),
    );
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ModelFormatError } from '../errors/errors.js';
import { createUhOhMonitor } from '../monitors/uh-oh.js';
import { createDefaultRewards } from '../rewards/rewards.js';
import { solveWithPolicy } from '../rollout/solve-with-policy.js';
import type { WeightedReward } from '../spec/reward.js';
import type { SolvePath } from '../spec/solve-path.js';
import type { TrainerEvent } from '../spec/trainer-event.js';
import { createAbductionMode } from '../task-modes/abduction.js';
import { createDeductionMode } from '../task-modes/deduction.js';
import { createInductionMode } from '../task-modes/induction.js';
import { miniBehavior, miniExpression, miniOperatorCount } from '../task-modes/mini/grammar.js';
import { createMiniTaskModes } from '../task-modes/mini/modes.js';
import { zeroInductionTask, zeroTriplet } from '../task-modes/seeds.js';
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
    const excluding: typeof deduction = {
      ...deduction,
      async validateProposal(proposal, executor, context) {
        const validation = await deduction.validateProposal(proposal, executor, context);
        return validation.ok ? { ok: false, reason: 'held out', exclude: true } : validation;
      },
    };
    const policy = new MockPolicyModel({ seed: 1, script: createArithmeticScript() });
    const trainer = createSelfPlayTrainer({
      ...options([], { policy }),
      modes: [excluding, createAbductionMode(), createInductionMode()],
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
        .map(({ step, groups, loss, update }) => ({ step, groups, loss, update }));
    expect([...stepEnds(beforeEvents), ...stepEnds(afterEvents)]).toEqual(stepEnds(straightEvents));
    // Each step reports its update, the same when resumed.
    for (const { update } of stepEnds(straightEvents)) {
      expect(update?.tokenCount).toBeGreaterThan(0);
      expect(Number.isFinite(update?.approximateKl)).toBe(true);
    }
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

  it('adds a reward given in its options to every rollout it applies to, which moves the advantages', async () => {
    const base = await createSelfPlayTrainer(options()).runStep();
    // The defaults, given explicitly, are the defaults.
    const explicit = await createSelfPlayTrainer(
      options([], { rewardFunctions: createDefaultRewards() }),
    ).runStep();
    expect(explicit).toEqual(base);
    const brevity: WeightedReward = {
      name: 'brevity',
      weight: 0.5,
      reward: (inputs) =>
        inputs.map((input) => (input.role === 'solve' ? -input.tokenCount / 100 : undefined)),
    };
    const shaped = await createSelfPlayTrainer(
      options([], { rewardFunctions: [...createDefaultRewards(), brevity] }),
    ).runStep();
    // The same completions (rewards do not change generation within a step), each solution's reward moved by
    // half its brevity, proposals untouched.
    expect(shaped.solutions.map((solution) => solution.completion)).toEqual(
      base.solutions.map((solution) => solution.completion),
    );
    shaped.solutions.forEach((solution, index) => {
      const before = base.solutions[index] as (typeof base.solutions)[number];
      const brevityValue = -solution.completion.tokenIds.length / 100;
      expect(solution.rewardParts).toEqual({ correctness: before.reward, brevity: brevityValue });
      expect(solution.reward).toBeCloseTo(before.reward + 0.5 * brevityValue, 12);
    });
    expect(shaped.proposals.map((proposal) => proposal.reward)).toEqual(
      base.proposals.map((proposal) => proposal.reward),
    );
    expect(shaped.solutions.map((solution) => solution.advantage)).not.toEqual(
      base.solutions.map((solution) => solution.advantage),
    );
    const solveGroup = shaped.groups.find((group) => group.mode === 'deduction' && group.role === 'solve');
    expect(Object.keys(solveGroup?.rewards ?? {}).sort()).toEqual(['brevity', 'correctness']);
    const proposeGroup = shaped.groups.find(
      (group) => group.mode === 'deduction' && group.role === 'propose',
    );
    expect(Object.keys(proposeGroup?.rewards ?? {})).toEqual(['learnability']);
  });

  it('names a reward that is misnamed, weighted wrong, or gives the wrong values', async () => {
    const constant =
      (value: number | undefined): WeightedReward['reward'] =>
      (inputs) =>
        inputs.map(() => value);
    expect(() =>
      createSelfPlayTrainer(
        options([], {
          rewardFunctions: [
            { name: 'same', reward: constant(1) },
            { name: 'same', reward: constant(2) },
          ],
        }),
      ),
    ).toThrow(/unique, non-empty names/);
    expect(() =>
      createSelfPlayTrainer(
        options([], { rewardFunctions: [{ name: 'heavy', reward: constant(1), weight: Number.NaN }] }),
      ),
    ).toThrow(ConfigError);
    const short = createSelfPlayTrainer(
      options([], { rewardFunctions: [{ name: 'short', reward: () => [1] }] }),
    );
    await expect(short.runStep()).rejects.toThrow(/The reward short gave 1 values for \d+ rollouts/);
    const infinite = createSelfPlayTrainer(
      options([], { rewardFunctions: [{ name: 'infinite', reward: constant(Number.POSITIVE_INFINITY) }] }),
    );
    await expect(infinite.runStep()).rejects.toSatisfy(
      (error: unknown) => ConfigError.isInstance(error) && /infinite gave Infinity/.test(String(error)),
    );
  });

  it('evaluates its suites before the first step, on schedule and at the end, without changing the run', async () => {
    const suite = {
      name: 'held-out',
      tasks: [zeroTriplet('deduction', 'javascript'), zeroInductionTask('javascript')],
    };
    const plainEvents: TrainerEvent[] = [];
    await createSelfPlayTrainer(options(plainEvents)).run({ steps: 5 });
    const events: TrainerEvent[] = [];
    const seen: number[] = [];
    const trainer = createSelfPlayTrainer(options(events, { evaluation: { every: 2, suites: [suite] } }));
    await trainer.run({
      steps: 5,
      onEvaluation: (result) => {
        seen.push(result.step);
        expect(Object.keys(result.report.modes)).toEqual(['deduction', 'induction']);
      },
    });
    expect(seen).toEqual([0, 2, 4, 5]);
    const evaluations = events.filter((event) => event.type === 'evaluation');
    expect(evaluations.map((event) => [event.step, event.suite])).toEqual([
      [0, 'held-out'],
      [2, 'held-out'],
      [4, 'held-out'],
      [5, 'held-out'],
    ]);
    expect(events[0]?.type).toBe('run-start');
    // Evaluation draws nothing from the run's random source: the steps are those of a run without it.
    const steps = (list: TrainerEvent[]) => list.filter((event) => event.type === 'step-end');
    expect(steps(events)).toEqual(steps(plainEvents));
    // A run that ends on a scheduled step evaluates it once; without `every`, only the first and last.
    const once: number[] = [];
    await createSelfPlayTrainer(options([], { evaluation: { every: 2, suites: [suite] } })).run({
      steps: 4,
      onEvaluation: (result) => void once.push(result.step),
    });
    expect(once).toEqual([0, 2, 4]);
    const ends: number[] = [];
    await createSelfPlayTrainer(options([], { evaluation: { suites: [suite] } })).run({
      steps: 3,
      onEvaluation: (result) => void ends.push(result.step),
    });
    expect(ends).toEqual([0, 3]);
  });

  it('refuses an evaluation suite with tasks of no mode of the run, and a bad schedule', () => {
    const foreign = { ...zeroTriplet('deduction', 'javascript'), mode: 'guessing' };
    expect(() =>
      createSelfPlayTrainer(options([], { evaluation: { suites: [{ name: 'odd', tasks: [foreign] }] } })),
    ).toThrow(/odd holds guessing tasks, which no mode of the run solves/);
    expect(() => createSelfPlayTrainer(options([], { evaluation: { every: 0, suites: [] } }))).toThrow(
      /evaluation.every/,
    );
  });

  it('does not evaluate the untrained policy again when it resumes', async () => {
    const runDirectory = await temporaryDirectory();
    const suite = { name: 'held-out', tasks: [zeroTriplet('deduction', 'javascript')] };
    const first: number[] = [];
    await createSelfPlayTrainer(options([], { runDirectory, evaluation: { every: 2, suites: [suite] } })).run(
      {
        steps: 3,
        onEvaluation: (result) => void first.push(result.step),
      },
    );
    const second: number[] = [];
    const resumed = await resumeSelfPlayTrainer({
      ...options(),
      evaluation: { every: 2, suites: [suite] },
      runDirectory,
      loadPolicy: (directory) => MockPolicyModel.load(directory, { script: createArithmeticScript() }),
    });
    await resumed.run({ untilStep: 5, onEvaluation: (result) => void second.push(result.step) });
    expect(first).toEqual([0, 2, 3]);
    expect(second).toEqual([4, 5]);
  });

  it('routes the solve and learnability phases through an injected solve path', async () => {
    const plain = await createSelfPlayTrainer(options()).runStep();
    const requests: string[] = [];
    const logging: SolvePath = (request) => {
      requests.push(`${request.mode.name}:${request.tasks.length}`);
      return solveWithPolicy(request);
    };
    const routed = await createSelfPlayTrainer(options([], { solvePath: logging })).runStep();
    expect(routed).toEqual(plain);
    // Each mode's learnability batch (4 rollouts per valid proposal), then each mode's solve batch.
    const valid = (mode: string) =>
      plain.proposals.filter((proposal) => proposal.mode === mode && proposal.status === 'valid').length;
    const learnability = ['deduction', 'abduction', 'induction']
      .filter((mode) => valid(mode) > 0)
      .map((mode) => `${mode}:${4 * valid(mode)}`);
    expect(requests.slice(0, learnability.length)).toEqual(learnability);
    expect(requests.slice(learnability.length).map((request) => request.split(':')[0])).toEqual([
      'deduction',
      'abduction',
      'induction',
    ]);
  });

  it('seeds the buffers before step 1 without training, checkpoints the seeds, and resumes past them', async () => {
    const runDirectory = await temporaryDirectory();
    const events: TrainerEvent[] = [];
    const policy = new MockPolicyModel({ seed: 1, script: createArithmeticScript() });
    const base = options(events, { policy, runDirectory });
    const trainer = createSelfPlayTrainer({
      ...base,
      settings: { ...base.settings, seeding: { tasks: 4, maxRounds: 20 } },
    });
    await trainer.run({ steps: 0 });
    const seeding = events.filter((event) => event.type === 'seeding');
    expect(seeding.length).toBeGreaterThan(0);
    expect(seeding.at(-1)).toMatchObject({ done: true, reached: true, target: 4 });
    expect(seeding.map((event) => event.round)).toEqual(seeding.map((_, index) => index + 1));
    for (const buffer of trainer.buffers.values()) {
      expect(buffer.size).toBeGreaterThanOrEqual(4);
      expect(buffer.tasks().every((task) => task.step === 0)).toBe(true);
    }
    // Proposing only: nothing was trained, no step was taken.
    expect(policy.calls.some((call) => call.method === 'doTrainStep')).toBe(false);
    expect(trainer.step).toBe(0);
    expect(events.filter((event) => event.type === 'step-end')).toEqual([]);
    const state = JSON.parse(
      await readFile(join(runDirectory, 'checkpoints', 'step-00000000', 'state.json'), 'utf8'),
    );
    expect(state.seeded).toBe(true);
    // A resumed run starts from the seeds: no second seeding stage.
    const resumedEvents: TrainerEvent[] = [];
    const resumed = await resumeSelfPlayTrainer({
      ...options(resumedEvents),
      runDirectory,
      loadPolicy: (directory) => MockPolicyModel.load(directory, { script: createArithmeticScript() }),
    });
    for (const [mode, buffer] of trainer.buffers)
      expect(resumed.buffers.get(mode)?.toJsonl()).toBe(buffer.toJsonl());
    await resumed.run({ steps: 1 });
    expect(resumedEvents.filter((event) => event.type === 'seeding')).toEqual([]);
    expect(resumed.step).toBe(1);
  });

  it('ends a seeding stage that finds nothing valid after its rounds, and trains from the seed tasks', async () => {
    const events: TrainerEvent[] = [];
    const base = options(events, { policy: new MockPolicyModel({ script: ['no format at all'] }) });
    const trainer = createSelfPlayTrainer({
      ...base,
      settings: { ...base.settings, seeding: { tasks: 8, maxRounds: 3 } },
    });
    await trainer.run({ steps: 1 });
    const seeding = events.filter((event) => event.type === 'seeding');
    expect(seeding.map((event) => [event.round, event.done, event.reached])).toEqual([
      [1, false, false],
      [2, false, false],
      [3, true, false],
    ]);
    expect(seeding.at(-1)).toMatchObject({ tasks: { deduction: 1, abduction: 1, induction: 1 } });
    expect(trainer.step).toBe(1);
    expect(() => createSelfPlayTrainer(options([], { settings: { seeding: { maxRounds: 0 } } }))).toThrow(
      /seeding.maxRounds/,
    );
  });

  it('solves tasks proposed before the step with solveFrom previous-step, the step own with this-step', async () => {
    const steps = async (solveFrom: 'this-step' | 'previous-step') => {
      const base = options();
      const trainer = createSelfPlayTrainer({ ...base, settings: { ...base.settings, solveFrom } });
      return [await trainer.runStep(), await trainer.runStep(), await trainer.runStep()];
    };
    const solvedSteps = (result: Awaited<ReturnType<typeof steps>>[number]) =>
      new Set(result.solutions.map((solution) => solution.task.step));
    const previous = await steps('previous-step');
    const current = await steps('this-step');
    for (const result of previous) expect(Math.max(...solvedSteps(result))).toBeLessThan(result.step);
    // With newest sampling, the previous step's tasks come first when there are any.
    expect(previous.slice(1).some((result) => solvedSteps(result).has(result.step - 1))).toBe(true);
    expect(current.some((result) => solvedSteps(result).has(result.step))).toBe(true);
  });

  it('builds a propose prompt over maxPromptTokens again with other references, then with fewer', async () => {
    const policy = new MockPolicyModel({ seed: 1, script: createArithmeticScript() });
    const base = options([], { policy });
    const trainer = createSelfPlayTrainer({ ...base, settings: { ...base.settings, references: 6 } });
    await trainer.run({ steps: 2 });
    // Enough tasks in the buffers for 6 references; the limit lets a prompt hold about two.
    const full = (await trainer.runStep()).proposals.filter((proposal) => proposal.mode === 'deduction');
    const longest = Math.max(...full.map((proposal) => policy.tokenizer.encode(proposal.prompt).length));
    const shortest = Math.min(...full.map((proposal) => policy.tokenizer.encode(proposal.prompt).length));
    expect(full.some((proposal) => proposal.context.references.length > 2)).toBe(true);
    const limit = Math.floor((shortest + longest) / 2);
    const limited = createSelfPlayTrainer({
      ...base,
      policy: new MockPolicyModel({ seed: 1, script: createArithmeticScript() }),
      settings: { ...base.settings, references: 6, maxPromptTokens: limit },
    });
    await limited.run({ steps: 2 });
    const proposals = (await limited.runStep()).proposals;
    for (const proposal of proposals)
      expect(policy.tokenizer.encode(proposal.prompt).length, proposal.prompt).toBeLessThanOrEqual(limit);
    expect(() =>
      createSelfPlayTrainer({ ...base, settings: { ...base.settings, maxPromptTokens: 0 } }),
    ).toThrow(/maxPromptTokens/);
  });
});

describe('proposals per prompt', { timeout: 60_000 }, () => {
  it('samples proposalsPerPrompt proposals from each prompt, each prompt with its own references', async () => {
    const policy = new MockPolicyModel({ seed: 2 });
    const trainer = createSelfPlayTrainer({
      policy,
      executor: new MockExecutor(),
      modes: createMiniTaskModes() as never,
      settings: {
        seed: 3,
        batchSize: 7,
        proposalsPerPrompt: 3,
        learnabilityRollouts: 2,
        sampling: { maxTokens: 24 },
      },
    });
    // Two steps, so that the second one's prompts draw references from a buffer of more than the seed task.
    await trainer.runStep();
    const result = await trainer.runStep();
    for (const mode of ['deduction', 'abduction', 'induction']) {
      const prompts = result.proposals
        .filter((proposal) => proposal.mode === mode)
        .map((proposal) => proposal.prompt);
      expect(prompts).toHaveLength(7);
      // 7 proposals from 3 prompts: 3, 3 and 1 of them, in order.
      expect(prompts.slice(1, 3)).toEqual([prompts[0], prompts[0]]);
      expect(prompts.slice(4, 6)).toEqual([prompts[3], prompts[3]]);
      expect(new Set(prompts).size).toBeLessThanOrEqual(3);
    }
    const generated = policy.calls.flatMap((call) =>
      call.method === 'doGenerate' ? call.request.prompts : [],
    );
    expect(generated.filter((prompt) => prompt.startsWith('#DP\n'))).toHaveLength(14);
    expect(() => createSelfPlayTrainer({ ...options(), settings: { proposalsPerPrompt: 0 } })).toThrow(
      /proposalsPerPrompt/,
    );
  });
});

describe('the random-task ablation (proposer: random)', { timeout: 60_000 }, () => {
  const PROPOSE_PROMPT = /^#[DAI]P\n/;
  function miniTrainer(proposer: 'model' | 'random', seed = 1) {
    const policy = new MockPolicyModel({ seed: 2 });
    const trainer = createSelfPlayTrainer({
      policy,
      executor: new MockExecutor(),
      // One more operator allowed every step: step 1 proposes constants and x alone, step 2 up to one operator.
      modes: createMiniTaskModes({ curriculum: { startOperators: 0, stepsPerOperator: 1 } }) as never,
      settings: {
        seed,
        batchSize: 4,
        learnabilityRollouts: 2,
        solveRollouts: 2,
        proposer,
        sampling: { maxTokens: 24 },
      },
    });
    return { policy, trainer };
  }
  const trainedPrompts = (policy: MockPolicyModel) =>
    policy.calls.flatMap((call) =>
      call.method === 'doTrainStep'
        ? call.batch.sequences.map((sequence) => policy.tokenizer.decode(sequence.promptTokenIds))
        : [],
    );

  it('draws the proposals from the modes, not the policy, and trains the solver alone', async () => {
    const { policy, trainer } = miniTrainer('random');
    const results = [await trainer.runStep(), await trainer.runStep()];
    const generated = policy.calls.flatMap((call) =>
      call.method === 'doGenerate' ? call.request.prompts : [],
    );
    expect(generated.length).toBeGreaterThan(0);
    expect(generated.filter((prompt) => PROPOSE_PROMPT.test(prompt))).toEqual([]);
    // Every trained sequence is a solver's: as many as the steps' solve rollouts, none of them a proposal.
    const trained = trainedPrompts(policy);
    expect(trained).toHaveLength(results.reduce((total, result) => total + result.solutions.length, 0));
    expect(trained.filter((prompt) => PROPOSE_PROMPT.test(prompt))).toEqual([]);
    expect(results.every((result) => result.solutions.length > 0 && Number.isFinite(result.loss))).toBe(true);
    for (const [index, result] of results.entries()) {
      // The proposals are recorded like the model's: validated, buffered, rated and rewarded.
      expect(result.proposals).toHaveLength(3 * 4);
      expect(
        result.proposals.every((proposal) => proposal.wellFormed && PROPOSE_PROMPT.test(proposal.prompt)),
      ).toBe(true);
      const valid = result.proposals.filter((proposal) => proposal.status === 'valid');
      expect(valid.length).toBeGreaterThan(0);
      expect(
        valid.every((proposal) => proposal.solveRate !== undefined && 'learnability' in proposal.rewardParts),
      ).toBe(true);
      for (const proposal of valid) {
        expect(trainer.buffers.get(proposal.mode)?.has((proposal.task as { id: string }).id)).toBe(true);
        // Within the curriculum's limit at the step (0 operators at step 1, 1 at step 2).
        if (proposal.mode !== 'induction')
          expect(miniOperatorCount(miniExpression(proposal.task?.program ?? '') ?? '')).toBeLessThanOrEqual(
            index,
          );
      }
      expect(
        result.groups.find((group) => group.mode === 'deduction' && group.role === 'propose')?.count,
      ).toBe(4);
    }
    // The same run with the model proposing trains on its proposals as well.
    const model = miniTrainer('model');
    const modelResult = await model.trainer.runStep();
    const modelTrained = trainedPrompts(model.policy);
    expect(modelTrained.filter((prompt) => PROPOSE_PROMPT.test(prompt))).toHaveLength(
      modelResult.proposals.filter((proposal) => proposal.status !== 'excluded').length,
    );
  });

  it('draws the same proposals for a seed, and others for another seed', async () => {
    const texts = async (seed: number) => {
      const { trainer } = miniTrainer('random', seed);
      await trainer.run({ steps: 2 });
      return [...trainer.buffers.values()].flatMap((buffer) => buffer.tasks().map((task) => task.id));
    };
    expect(await texts(3)).toEqual(await texts(3));
    expect(await texts(3)).not.toEqual(await texts(4));
  });

  it('refuses a mode that cannot sample proposals, and a proposer it does not know', () => {
    const refused = (() => {
      try {
        createSelfPlayTrainer(options([], { settings: { proposer: 'random' } }));
      } catch (error) {
        return error;
      }
    })();
    expect(ConfigError.isInstance(refused)).toBe(true);
    expect((refused as ConfigError).details.field).toBe('proposer');
    expect((refused as Error).message).toMatch(/sampleProposal.*deduction/);
    expect(() => createSelfPlayTrainer(options([], { settings: { proposer: 'human' as never } }))).toThrow(
      /proposer must be one of "model", "random"/,
    );
    expect(createSelfPlayTrainer(options()).settings.proposer).toBe('model');
  });
});

describe('dropSolvedTasks', { timeout: 60_000 }, () => {
  // Mini tasks of constants and x alone, proposed at random: any input answers a constant abduction program, so
  // its learnability rollouts solve it every time.
  async function steps(dropSolvedTasks: boolean) {
    const trainer = createSelfPlayTrainer({
      policy: new MockPolicyModel({ seed: 2 }),
      executor: new MockExecutor(),
      modes: createMiniTaskModes({ curriculum: { startOperators: 0, stepsPerOperator: 100 } }) as never,
      settings: {
        seed: 3,
        batchSize: 4,
        learnabilityRollouts: 2,
        proposer: 'random',
        dropSolvedTasks,
        sampling: { maxTokens: 24 },
      },
    });
    const checks: { solved: boolean; buffered: boolean; bufferSize: number }[] = [];
    for (let step = 0; step < 4; step += 1) {
      const result = await trainer.runStep();
      const valid = result.proposals.filter((proposal) => proposal.status === 'valid');
      for (const proposal of valid) {
        const id = (proposal.task as { id: string }).id;
        // A task proposed twice in a step counts as solved when any of its proposals was solved every time.
        const solved = valid.some(
          (other) => (other.task as { id: string }).id === id && other.solveRate === 1,
        );
        const buffer = trainer.buffers.get(proposal.mode);
        checks.push({ solved, buffered: buffer?.has(id) ?? false, bufferSize: buffer?.size ?? 0 });
      }
    }
    return checks;
  }

  it('takes a task every learnability rollout solved out of its buffer, keeping batchSize tasks', async () => {
    const dropped = await steps(true);
    expect(dropped.some((check) => check.solved)).toBe(true);
    expect(dropped.some((check) => !check.solved)).toBe(true);
    for (const check of dropped) {
      if (!check.solved) expect(check.buffered).toBe(true);
      else if (check.buffered) expect(check.bufferSize).toBeLessThanOrEqual(4);
    }
    expect(dropped.filter((check) => check.solved && !check.buffered).length).toBeGreaterThan(0);
    // By default (the reference's), every valid task stays.
    expect((await steps(false)).every((check) => check.buffered)).toBe(true);
    expect(() =>
      createSelfPlayTrainer(options([], { settings: { dropSolvedTasks: 'yes' as never } })),
    ).toThrow(ConfigError);
  });
});

describe('hindsightAdvantage', { timeout: 60_000 }, () => {
  // Mini tasks of one operator, proposed at random; the mock policy writes induction answers at random, so most
  // are wrong, and some of those read x and give other pairs.
  async function run(hindsightAdvantage?: number) {
    const events: TrainerEvent[] = [];
    const policy = new MockPolicyModel({ seed: 2 });
    const trainer = createSelfPlayTrainer({
      policy,
      executor: new MockExecutor(),
      modes: createMiniTaskModes({ curriculum: { startOperators: 1, stepsPerOperator: 100 } }) as never,
      settings: {
        seed: 3,
        batchSize: 4,
        solveRollouts: 4,
        learnabilityRollouts: 2,
        proposer: 'random',
        sampling: { maxTokens: 24 },
        ...(hindsightAdvantage === undefined ? {} : { hindsightAdvantage }),
      },
      sinks: [{ specificationVersion: 'v1', sinkId: 'memory', write: (event) => void events.push(event) }],
    });
    const results = [];
    for (let step = 0; step < 3; step += 1) results.push(await trainer.runStep());
    return { events, policy, results };
  }

  it('trains wrong induction answers again under the prompt of a task they solve, at most batchSize a mode', async () => {
    const advantage = 0.731;
    const { events, policy, results } = await run(advantage);
    const ends = events.filter((event) => event.type === 'step-end');
    const counts = ends.map((event) => event.hindsight?.induction ?? 0);
    expect(
      ends.every((event) => Object.keys(event.hindsight ?? {}).every((mode) => mode === 'induction')),
    ).toBe(true);
    expect(counts.every((count) => count <= 4)).toBe(true);
    expect(counts.reduce((total, count) => total + count, 0)).toBeGreaterThan(3);
    expect(events.filter((event) => event.type === 'phase-end' && event.phase === 'hindsight')).toHaveLength(
      3,
    );
    const trains = policy.calls.filter((call) => call.method === 'doTrainStep');
    const scored = policy.calls.filter((call) => call.method === 'doComputeLogProbs');
    expect(trains).toHaveLength(3);
    const bytes = policy.tokenizer;
    for (const [index, call] of trains.entries()) {
      // The relabelled sequences come last, with the setting as every token's advantage.
      const count = counts[index] as number;
      const relabelled = call.batch.sequences.slice(call.batch.sequences.length - count);
      const wrong = results[index]?.solutions.filter(
        (solution) => solution.mode === 'induction' && !solution.correct,
      );
      for (const sequence of relabelled) {
        expect(sequence.advantages.every((value) => value === advantage)).toBe(true);
        const prompt = bytes.decode(sequence.promptTokenIds);
        const answer = bytes.decode(sequence.completionTokenIds).trim();
        // A wrong answer of the step, which gives every pair its new prompt shows.
        expect(
          wrong?.some(
            (solution) => solution.completion.tokenIds.join() === sequence.completionTokenIds.join(),
          ),
        ).toBe(true);
        const behaviour = miniBehavior(answer);
        const shown = [...prompt.matchAll(/f\((\d)\)=(\d)/g)];
        expect(shown).toHaveLength(3);
        for (const [, input, output] of shown) expect(behaviour[Number(input)]).toBe(output);
        expect(new Set(shown.map((pair) => pair[2])).size).toBeGreaterThan(1);
        expect(prompt.startsWith('#IS\n') && prompt.endsWith('\nf(x)=')).toBe(true);
        // Never the answer's own prompt, where it is wrong.
        expect(
          wrong?.some(
            (solution) =>
              solution.prompt === prompt &&
              solution.completion.tokenIds.join() === sequence.completionTokenIds.join(),
          ),
        ).toBe(false);
        // Its old log probabilities are the policy's on that prompt, scored before the update.
        const scoring = scored.find((each) =>
          each.request.sequences.some(
            (other) => other.promptTokenIds.join() === sequence.promptTokenIds.join(),
          ),
        );
        expect(scoring).toBeDefined();
        const at = scoring?.request.sequences.findIndex(
          (other) =>
            other.promptTokenIds.join() === sequence.promptTokenIds.join() &&
            other.completionTokenIds.join() === sequence.completionTokenIds.join(),
        );
        expect(at).toBeGreaterThanOrEqual(0);
        // Before the first update the weights are the fresh policy's: the ratio starts at 1.
        if (index === 0) {
          const { logProbs } = await new MockPolicyModel({ seed: 2 }).doComputeLogProbs({
            sequences: [sequence],
            temperature: 1,
          });
          expect(sequence.oldLogProbs).toEqual(logProbs[0]);
        }
      }
      // No relabelled prompt and answer twice in a step.
      const keys = relabelled.map((sequence) => `${sequence.promptTokenIds}|${sequence.completionTokenIds}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('is off by default, and refuses a negative advantage and a limit below 1', async () => {
    const { events, policy } = await run();
    expect(events.some((event) => event.type === 'step-end' && event.hindsight !== undefined)).toBe(false);
    expect(events.some((event) => event.type === 'phase-end' && event.phase === 'hindsight')).toBe(false);
    expect(policy.calls.some((call) => call.method === 'doComputeLogProbs')).toBe(false);
    expect(() => createSelfPlayTrainer(options([], { settings: { hindsightAdvantage: -1 } }))).toThrow(
      /hindsightAdvantage/,
    );
    for (const hindsightLimit of [0, 1.5])
      expect(() => createSelfPlayTrainer(options([], { settings: { hindsightLimit } }))).toThrow(
        /hindsightLimit/,
      );
  });

  it('refuses an advantage when no task mode can relabel', () => {
    // The default (full) modes have no hindsightTask: the setting would do nothing.
    const refused = (() => {
      try {
        createSelfPlayTrainer(options([], { settings: { hindsightAdvantage: 1 } }));
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(ConfigError.isInstance(refused)).toBe(true);
    expect((refused as ConfigError).details.field).toBe('hindsightAdvantage');
    expect(() => createSelfPlayTrainer(options([], { settings: { hindsightAdvantage: 0 } }))).not.toThrow();
  });
});

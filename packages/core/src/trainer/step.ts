import type { TaskBuffer } from '../buffers/task-buffer.js';
import type { AdvantageEstimatorV1 } from '../spec/advantage-estimator.js';
import type { MonitorV1 } from '../spec/monitor.js';
import type { WeightedReward } from '../spec/reward.js';
import type { TaskBase, TaskModeName } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import type { GroupStatistics, TrainerEvent, TrainerPhase } from '../spec/trainer-event.js';
import { inspectCompletions } from './monitoring.js';
import { advantage } from './phases/advantage.js';
import type { SolveContext } from './phases/context.js';
import { relabelInHindsight } from './phases/hindsight.js';
import { estimateLearnability } from './phases/learnability.js';
import { propose } from './phases/propose.js';
import { reward } from './phases/reward.js';
import { chooseSolveTasks, solve } from './phases/solve.js';
import { trainSequence, update } from './phases/update.js';
import { admit, validate } from './phases/validate.js';
import type { ProposalRollout, Rollout, ScoredProposal, SolveRollout } from './rollouts.js';
import type { TrainerSettings } from './settings.js';
import { stepStatistics } from './statistics.js';

/** The outcome of one step. */
export interface StepResult {
  readonly step: number;
  /** Every proposal, excluded ones too (with reward and advantage 0). */
  readonly proposals: readonly ProposalRollout[];
  readonly solutions: readonly SolveRollout[];
  readonly loss: number | undefined;
  readonly groups: readonly GroupStatistics[];
}

/** Everything a step works with: the run's parts, its buffers, and where its events go. */
export interface StepRuntime extends SolveContext {
  readonly settings: TrainerSettings;
  readonly modes: readonly TaskModeV1[];
  readonly buffers: ReadonlyMap<TaskModeName, TaskBuffer<TaskBase>>;
  readonly rewards: readonly WeightedReward[];
  readonly estimator: AdvantageEstimatorV1;
  readonly monitors: readonly MonitorV1[];
  readonly emit: (event: TrainerEvent) => Promise<void>;
  readonly now: () => number;
}

/**
 * One self-play step, as a pipeline of values: proposals are validated (their tasks admitted to the buffers)
 * and scored by learnability; the solvers answer tasks from the buffers; both are rewarded, given advantages,
 * and trained on in one update. Each phase's duration is emitted as it ends.
 */
export async function runSelfPlayStep(runtime: StepRuntime, step: number): Promise<StepResult> {
  const { settings, modes } = runtime;
  const timed = async <T>(phase: TrainerPhase, work: () => Promise<T> | T): Promise<T> => {
    const start = runtime.now();
    const result = await work();
    await runtime.emit({ type: 'phase-end', step, phase, durationMs: runtime.now() - start });
    return result;
  };
  const stepStart = runtime.now();
  // The reference picks the solver's tasks at the top of the step, from what earlier steps proposed.
  const solveTasks =
    settings.solveFrom === 'previous-step' ? chooseSolveTasks(runtime, Math.max(0, step - 1)) : undefined;

  const proposals = await timed('propose', () =>
    propose({ ...runtime, pools: runtime.buffers, settings }, step),
  );
  const validated = await timed('validate', async () =>
    admit(
      { modes, buffers: runtime.buffers, rejectDuplicates: settings.rejectDuplicates },
      await validate({ modes, executor: runtime.executor, language: settings.language }, step, proposals),
    ),
  );
  const learnability = await timed('learnability', () =>
    estimateLearnability({ ...runtime, rollouts: settings.learnabilityRollouts }, step, validated),
  );
  if (settings.dropSolvedTasks) dropSolved(runtime.buffers, learnability.proposals, settings.batchSize);
  const solutions = await timed('solve', () => solve(runtime, step, solveTasks));

  // Excluded proposals (held-out tasks) are neither rewarded nor trained on, only counted.
  const counted = learnability.proposals.filter((proposal) => proposal.status !== 'excluded');
  const extra = settings.trainOnLearnabilityRollouts ? learnability.rollouts : [];
  // Wrong answers that the update trains on, relabelled as answers to tasks they solve.
  const relabelled =
    settings.hindsightAdvantage > 0
      ? await timed('hindsight', () => relabelInHindsight(runtime, step, [...solutions, ...extra]))
      : [];
  const rewarded = await timed('reward', () => reward(runtime.rewards, [...counted, ...solutions, ...extra]));
  const trained = await timed('advantage', () => advantage(runtime.estimator, rewarded));
  // Random proposals (`proposer: 'random'`) are rewarded and recorded like the model's, but the policy did not
  // write them: the update trains the solver alone.
  const learners =
    settings.proposer === 'random' ? trained.filter((rollout) => rollout.role !== 'propose') : trained;
  const updated = await timed('update', () =>
    update(runtime, [...learners.map(trainSequence), ...relabelled.map((each) => each.sequence)]),
  );
  const loss = updated?.loss;

  // The step's own sequences, without the learnability rollouts trained on alongside them.
  const rollouts = trained.slice(0, counted.length + solutions.length) as Rollout[];
  await inspectCompletions(runtime.monitors, step, rollouts, runtime.emit);
  const excluded = new Map<TaskModeName, number>();
  for (const proposal of learnability.proposals)
    if (proposal.status === 'excluded') excluded.set(proposal.mode, (excluded.get(proposal.mode) ?? 0) + 1);
  const groups = stepStatistics(modes, rollouts, excluded);
  const durationMs = runtime.now() - stepStart;
  const tokens = [...rollouts, ...learnability.rollouts].reduce(
    (total, rollout) => total + rollout.completion.tokenIds.length,
    0,
  );
  await runtime.emit({
    type: 'step-end',
    step,
    groups,
    loss,
    ...(updated === undefined ? {} : { update: updated.statistics }),
    durationMs,
    tokensPerSecond: durationMs > 0 ? (tokens * 1000) / durationMs : 0,
    ...(settings.hindsightAdvantage > 0 ? { hindsight: countByMode(relabelled) } : {}),
  });
  const trainedProposals = new Map(
    rollouts.flatMap((rollout) => (rollout.role === 'propose' ? [[rollout.promptId, rollout]] : [])),
  );
  return {
    step,
    proposals: learnability.proposals.map(
      (proposal) =>
        trainedProposals.get(proposal.promptId) ?? { ...proposal, reward: 0, rewardParts: {}, advantage: 0 },
    ),
    solutions: rollouts.filter((rollout): rollout is SolveRollout => rollout.role === 'solve'),
    loss,
    groups,
  };
}

/** How many of each mode's answers were relabelled. */
function countByMode(relabelled: readonly { readonly mode: TaskModeName }[]): Record<TaskModeName, number> {
  const counts: Record<TaskModeName, number> = {};
  for (const each of relabelled) counts[each.mode] = (counts[each.mode] ?? 0) + 1;
  return counts;
}

/**
 * `dropSolvedTasks`: the tasks that every learnability rollout solved leave their buffers, each buffer keeping
 * at least `keep` tasks.
 */
function dropSolved(
  buffers: StepRuntime['buffers'],
  proposals: readonly ScoredProposal[],
  keep: number,
): void {
  for (const proposal of proposals) {
    const buffer = buffers.get(proposal.mode);
    if (proposal.task === undefined || proposal.solveRate !== 1 || buffer === undefined) continue;
    if (buffer.size > keep) buffer.remove(proposal.task.id);
  }
}

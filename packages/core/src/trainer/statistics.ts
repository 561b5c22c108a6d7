import type { TaskModeName, TaskRole } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import type { GroupStatistics } from '../spec/trainer-event.js';
import type { ProposalRollout, Rollout, SolveRollout } from './rollouts.js';

function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((total, value) => total + value, 0) / values.length;
}

/** The mean of each reward part over the rollouts it applies to, by reward name. */
function rewardMeans(rollouts: readonly Rollout[]): Record<string, number> {
  const values = new Map<string, number[]>();
  for (const rollout of rollouts) {
    for (const [name, value] of Object.entries(rollout.rewardParts)) {
      const list = values.get(name);
      if (list === undefined) values.set(name, [value]);
      else list.push(value);
    }
  }
  return Object.fromEntries([...values].map(([name, list]) => [name, mean(list) as number]));
}

/** The statistics of one (mode x role) group of a step. `excluded`: the mode's proposals set aside. */
function groupStatistics(
  taskMode: TaskModeV1,
  role: TaskRole,
  rollouts: readonly Rollout[],
  excluded: number,
): GroupStatistics {
  const mode = taskMode.name;
  const mine = rollouts.filter((rollout) => rollout.mode === mode && rollout.role === role);
  const proposals = mine.filter((rollout): rollout is ProposalRollout => rollout.role === 'propose');
  const solutions = mine.filter((rollout): rollout is SolveRollout => rollout.role === 'solve');
  const advantages = mine.map((rollout) => rollout.advantage);
  const advantageMean = mean(advantages);
  const meanDifficulty = mean(
    proposals.flatMap((proposal) => {
      const value = proposal.task === undefined ? undefined : taskMode.difficulty?.(proposal.task);
      return value === undefined ? [] : [value];
    }),
  );
  const rewards = rewardMeans(mine);
  return {
    mode,
    role,
    count: mine.length,
    wellFormedRate: mean(mine.map((rollout) => (rollout.wellFormed ? 1 : 0))),
    validRate:
      role === 'propose'
        ? mean(proposals.map((proposal) => (proposal.status === 'valid' ? 1 : 0)))
        : undefined,
    solveRate:
      role === 'propose'
        ? mean(
            proposals.flatMap((proposal) => (proposal.solveRate === undefined ? [] : [proposal.solveRate])),
          )
        : mean(solutions.map((solution) => (solution.correct ? 1 : 0))),
    meanReward: mean(mine.map((rollout) => rollout.reward)),
    ...(Object.keys(rewards).length === 0 ? {} : { rewards }),
    advantageMean,
    advantageStandardDeviation:
      advantageMean === undefined
        ? undefined
        : Math.sqrt(mean(advantages.map((value) => (value - advantageMean) ** 2)) ?? 0),
    tokens: mine.reduce((total, rollout) => total + rollout.completion.tokenIds.length, 0),
    ...(meanDifficulty === undefined ? {} : { meanDifficulty }),
    ...(excluded === 0 ? {} : { excluded }),
  };
}

/**
 * The statistics of every (mode x role) group of a step, modes in the run's order, proposers first. `rollouts`
 * are the step's counted sequences (excluded proposals are only counted, by mode, in `excluded`).
 */
export function stepStatistics(
  modes: readonly TaskModeV1[],
  rollouts: readonly Rollout[],
  excluded: ReadonlyMap<TaskModeName, number>,
): GroupStatistics[] {
  return modes.flatMap((mode) => [
    groupStatistics(mode, 'propose', rollouts, excluded.get(mode.name) ?? 0),
    groupStatistics(mode, 'solve', rollouts, 0),
  ]);
}

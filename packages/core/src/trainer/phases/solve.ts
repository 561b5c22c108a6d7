import type { TaskBuffer } from '../../buffers/task-buffer.js';
import type { RandomSource } from '../../spec/random-source.js';
import type { TaskBase, TaskModeName } from '../../spec/task.js';
import type { TaskModeV1 } from '../../spec/task-mode.js';
import type { ScoredSolution } from '../rollouts.js';
import type { TrainerSettings } from '../settings.js';
import { type SolveContext, solveFor } from './context.js';

/** What solving needs besides the solve path. */
export interface SolveInput extends SolveContext {
  readonly modes: readonly TaskModeV1[];
  readonly buffers: ReadonlyMap<TaskModeName, TaskBuffer<TaskBase>>;
  readonly settings: Pick<TrainerSettings, 'batchSize' | 'solveSampling' | 'solveRollouts'>;
}

/** The tasks each mode will solve at a step, by mode name. */
export type SolveTasks = ReadonlyMap<TaskModeName, readonly TaskBase[]>;

/**
 * Every mode's `batchSize` solve tasks from its buffer, picked by `solveSampling` (with `newest`, the tasks
 * added at `newestFrom` or later first).
 */
export function chooseSolveTasks(
  input: Pick<SolveInput, 'modes' | 'buffers' | 'settings' | 'random'>,
  newestFrom: number,
): SolveTasks {
  const { settings } = input;
  const chosen = new Map<TaskModeName, readonly TaskBase[]>();
  for (const mode of input.modes) {
    const buffer = input.buffers.get(mode.name);
    if (buffer === undefined || buffer.size === 0) continue;
    chosen.set(
      mode.name,
      settings.solveSampling === 'balanced'
        ? balancedTasks(buffer, mode, settings.batchSize, input.random)
        : newestTasks(buffer, newestFrom, settings.batchSize, input.random),
    );
  }
  return chosen;
}

/**
 * Phase 4: every mode solves its tasks, `solveRollouts` rollouts each (one group per task): the tasks given, or
 * those `chooseSolveTasks` picks now, the step's own new ones first.
 */
export async function solve(input: SolveInput, step: number, tasks?: SolveTasks): Promise<ScoredSolution[]> {
  const count = input.settings.solveRollouts;
  const solutions: ScoredSolution[] = [];
  // Chosen mode by mode as the modes are solved, so that the draws of the run's random source keep their order.
  for (const mode of input.modes) {
    const mine =
      tasks === undefined
        ? chooseSolveTasks({ ...input, modes: [mode] }, step).get(mode.name)
        : tasks.get(mode.name);
    if (mine === undefined) continue;
    const repeated = mine.flatMap((task) => Array.from({ length: count }, () => task));
    solutions.push(
      ...(await solveFor(
        input,
        mode,
        repeated,
        (index) => `${step}:${mode.name}:solve:${Math.floor(index / count)}`,
        step,
      )),
    );
  }
  return solutions;
}

/** The reference's `max_new`: the tasks added at `step`, then a uniform sample of the rest. */
function newestTasks(
  buffer: TaskBuffer<TaskBase>,
  step: number,
  count: number,
  random: RandomSource,
): TaskBase[] {
  const newest = buffer.since(step).slice(0, count);
  const chosen = new Set(newest.map((task) => task.id));
  const rest = buffer.sample(buffer.size, random).filter((task) => !chosen.has(task.id));
  return [...newest, ...rest].slice(0, count);
}

/**
 * `count` distinct tasks, an equal share from each difficulty level the buffer holds (levels taken in turn
 * from a random one; a level with no task left is passed over). Within a level, the mode's families (see
 * `TaskModeV1.family`) take turns in a random order, each with a uniform choice of its tasks.
 */
export function balancedTasks(
  buffer: TaskBuffer<TaskBase>,
  mode: TaskModeV1,
  count: number,
  random: RandomSource,
): TaskBase[] {
  const profile = profileOf(mode);
  const levels = new Map<number, TaskBase[]>();
  for (const task of buffer.sample(buffer.size, random)) {
    const { level } = profile(task);
    const tasks = levels.get(level);
    if (tasks === undefined) levels.set(level, [task]);
    else tasks.push(task);
  }
  const queues = [...levels]
    .sort(([first], [second]) => first - second)
    .map(([, tasks]) =>
      mode.family === undefined ? tasks : byFamily(tasks, (task) => profile(task).family, random),
    );
  const chosen: TaskBase[] = [];
  let turn = random.nextInt(0, queues.length - 1);
  while (chosen.length < count && queues.some((queue) => queue.length > 0)) {
    const task = (queues[turn % queues.length] as TaskBase[]).shift();
    if (task !== undefined) chosen.push(task);
    turn += 1;
  }
  return chosen;
}

/** A task's difficulty level and family, as its mode gives them. */
interface TaskProfile {
  readonly level: number;
  readonly family: string;
}

/**
 * Profiles by mode, remembered per task object: buffers keep their tasks from step to step, and every step
 * looks at all of them, while a level or a family can cost a parse and a few evaluations.
 */
const profileCache = new WeakMap<object, WeakMap<TaskBase, TaskProfile>>();

function profileOf(mode: TaskModeV1): (task: TaskBase) => TaskProfile {
  let cache = profileCache.get(mode);
  if (cache === undefined) {
    cache = new WeakMap();
    profileCache.set(mode, cache);
  }
  const known = cache;
  return (task) => {
    let profile = known.get(task);
    if (profile === undefined) {
      profile = {
        level: mode.difficulty?.(task) ?? Number.NEGATIVE_INFINITY,
        family: mode.family?.(task) ?? task.id,
      };
      known.set(task, profile);
    }
    return profile;
  };
}

/**
 * The tasks (in a uniformly random order) reordered so that families take turns: the first task of each
 * family, families in a uniformly random order, then the second of each, and so on.
 */
function byFamily(
  tasks: readonly TaskBase[],
  family: (task: TaskBase) => string,
  random: RandomSource,
): TaskBase[] {
  const families = new Map<string, TaskBase[]>();
  for (const task of tasks) {
    const key = family(task);
    const members = families.get(key);
    if (members === undefined) families.set(key, [task]);
    else members.push(task);
  }
  const lists = [...families.values()];
  for (let index = lists.length - 1; index > 0; index -= 1) {
    const pick = random.nextInt(0, index);
    [lists[index], lists[pick]] = [lists[pick] as TaskBase[], lists[index] as TaskBase[]];
  }
  const ordered: TaskBase[] = [];
  for (let round = 0; ordered.length < tasks.length; round += 1)
    for (const list of lists) if (round < list.length) ordered.push(list[round] as TaskBase);
  return ordered;
}

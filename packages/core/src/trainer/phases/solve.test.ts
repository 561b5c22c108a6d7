import { describe, expect, it } from 'vitest';
import { TaskBuffer } from '../../buffers/task-buffer.js';
import { ConfigError } from '../../errors/errors.js';
import { createSeededRandom } from '../../random/seeded-random.js';
import type { CanonicalValue } from '../../spec/canonical-value.js';
import type { TaskBase } from '../../spec/task.js';
import type { TaskModeV1 } from '../../spec/task-mode.js';
import { createDeductionMode } from '../../task-modes/deduction.js';
import { taskId } from '../../task-modes/task-id.js';
import type { DeductionTask } from '../../task-modes/tasks.js';
import { resolveTrainerSettings } from '../settings.js';
import { balancedTasks } from './solve.js';

/** A deduction task whose difficulty (in the mode below) is `level`; `n` tells tasks of a level apart. */
function task(level: number | undefined, n: number): DeductionTask {
  const content = {
    mode: 'deduction' as const,
    language: 'python' as const,
    program: `def f(a):\n    return a + ${n}  # ${level ?? 'none'}`,
    entry: 'f',
    input: '1',
    output: `${n + 1}` as CanonicalValue,
  };
  return { ...content, id: taskId(content), step: 1 };
}

const mode = {
  ...createDeductionMode(),
  difficulty: (item: TaskBase) => {
    const level = /# (\w+)$/.exec((item as DeductionTask).program)?.[1];
    return level === undefined || level === 'none' ? undefined : Number(level);
  },
} as TaskModeV1<TaskBase, unknown, unknown>;

function buffer(counts: ReadonlyMap<number | undefined, number>): TaskBuffer<TaskBase> {
  const result = new TaskBuffer<TaskBase>('deduction');
  let n = 0;
  for (const [level, count] of counts)
    for (let index = 0; index < count; index += 1) result.add(task(level, n++));
  return result;
}

const levelsOf = (tasks: readonly TaskBase[]) =>
  tasks
    .map((item) => mode.difficulty?.(item) ?? 'none')
    .sort((first, second) => String(first).localeCompare(String(second)));

describe('balanced solve sampling', () => {
  it('gives every difficulty level an equal share, however rare the level is in the buffer', () => {
    const tasks = buffer(
      new Map([
        [0, 3],
        [1, 200],
        [2, 50],
      ]),
    );
    const chosen = balancedTasks(tasks, mode, 6, createSeededRandom(1));
    expect(levelsOf(chosen)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(new Set(chosen.map((item) => item.id)).size).toBe(6);
  });

  it('passes over a level with no task left, and returns the whole buffer when it holds fewer tasks', () => {
    const tasks = buffer(
      new Map<number | undefined, number>([
        [0, 1],
        [3, 10],
        [undefined, 10],
      ]),
    );
    const chosen = balancedTasks(tasks, mode, 7, createSeededRandom(2));
    expect(levelsOf(chosen)).toEqual([0, 3, 3, 3, 'none', 'none', 'none']);
    const small = buffer(new Map([[1, 4]]));
    expect(balancedTasks(small, mode, 9, createSeededRandom(3))).toHaveLength(4);
  });

  it('is uniform within a level, and the same for the same seed', () => {
    const tasks = buffer(
      new Map([
        [0, 5],
        [1, 5],
      ]),
    );
    const counts = new Map<string, number>();
    const random = createSeededRandom(4);
    for (let draw = 0; draw < 2000; draw += 1) {
      for (const item of balancedTasks(tasks, mode, 2, random))
        counts.set(item.id, (counts.get(item.id) ?? 0) + 1);
    }
    // Each of the 10 tasks is drawn with chance 1/5 per draw: 400 times in expectation.
    expect(counts.size).toBe(10);
    for (const count of counts.values()) expect(count).toBeGreaterThan(320);
    const first = balancedTasks(tasks, mode, 4, createSeededRandom(5)).map((item) => item.id);
    expect(balancedTasks(tasks, mode, 4, createSeededRandom(5)).map((item) => item.id)).toEqual(first);
  });

  it("lets the mode's families take turns within a level, however many tasks each family has", () => {
    // Family: whether n is below 3 (3 tasks) or not (60 tasks), all of one level.
    const familyMode = {
      ...mode,
      family: (item: TaskBase) => String(Number(/\+ (\d+)/.exec((item as DeductionTask).program)?.[1]) < 3),
    } as TaskModeV1<TaskBase, unknown, unknown>;
    const tasks = buffer(new Map([[1, 63]]));
    const random = createSeededRandom(6);
    for (let draw = 0; draw < 50; draw += 1) {
      const chosen = balancedTasks(tasks, familyMode, 4, random).map((item) => familyMode.family?.(item));
      expect(chosen.filter((family) => family === 'true')).toHaveLength(2);
    }
    // Without families, the rare ones come up as often as their share of the buffer.
    let rare = 0;
    for (let draw = 0; draw < 50; draw += 1)
      rare += balancedTasks(tasks, mode, 4, random).filter(
        (item) => familyMode.family?.(item) === 'true',
      ).length;
    expect(rare).toBeLessThan(40);
  });

  it('is a trainer setting, `newest` by default, and names a bad value', () => {
    expect(resolveTrainerSettings().solveSampling).toBe('newest');
    expect(resolveTrainerSettings({ solveSampling: 'balanced' }).solveSampling).toBe('balanced');
    expect(() => resolveTrainerSettings({ solveSampling: 'hardest' as 'balanced' })).toThrow(ConfigError);
  });
});

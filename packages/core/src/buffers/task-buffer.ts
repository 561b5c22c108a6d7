import { ConfigError, InvalidTaskError } from '../errors/errors.js';
import { assertNumberInRange, assertOneOf } from '../settings/validate.js';
import type { RandomSource } from '../spec/random-source.js';
import type { TaskBase, TaskModeName } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import { createPaperTaskModes } from '../task-modes/paper.js';
import type { Task } from '../task-modes/tasks.js';
import { readTaskRecord } from './task-records.js';

/**
 * What a full buffer does with a new task.
 *
 * - `evict-oldest` (default): the oldest task leaves, so the buffer follows what the proposer writes now.
 * - `reject-new`: the new task is dropped. This is what the reference implementation does (it truncates to
 *   the first `max_programs` tasks), so once full its buffers stop changing.
 */
export type EvictionPolicy = 'evict-oldest' | 'reject-new';

/** Every {@link EvictionPolicy}. */
export const EVICTION_POLICIES: readonly EvictionPolicy[] = ['evict-oldest', 'reject-new'];

/** Settings of a {@link TaskBuffer}. */
export interface TaskBufferSettings {
  /** Most tasks kept. Default `16384`, as in the reference implementation. */
  readonly capacity?: number;
  /** Default `evict-oldest`. */
  readonly eviction?: EvictionPolicy;
}

/**
 * The tasks of one mode: deduplicated by task id, sampled with an injected seeded random source, capped with
 * a documented eviction policy, and readable from and writable to JSONL (one task per line).
 */
export class TaskBuffer<TTask extends TaskBase = Task> {
  readonly mode: TaskModeName;
  readonly capacity: number;
  readonly eviction: EvictionPolicy;
  readonly #tasks = new Map<string, TTask>();

  constructor(mode: TaskModeName, settings: TaskBufferSettings = {}) {
    this.mode = mode;
    this.capacity = assertNumberInRange('capacity', settings.capacity ?? 16_384, {
      minimum: 1,
      integer: true,
    });
    this.eviction = assertOneOf('eviction', settings.eviction ?? 'evict-oldest', EVICTION_POLICIES);
  }

  get size(): number {
    return this.#tasks.size;
  }

  has(id: string): boolean {
    return this.#tasks.has(id);
  }

  /** Adds a task unless one with the same id is there; returns whether it was added. */
  add(task: TTask): boolean {
    if (task.mode !== this.mode) {
      throw new ConfigError(`A ${task.mode} task cannot go into the ${this.mode} buffer.`, { field: 'mode' });
    }
    if (this.#tasks.has(task.id)) return false;
    if (this.#tasks.size >= this.capacity) {
      if (this.eviction === 'reject-new') return false;
      const oldest = this.#tasks.keys().next().value as string;
      this.#tasks.delete(oldest);
    }
    this.#tasks.set(task.id, task);
    return true;
  }

  /** Removes the task with this id; returns whether the buffer held it. */
  remove(id: string): boolean {
    return this.#tasks.delete(id);
  }

  /** Adds several tasks; returns how many were new. */
  addAll(tasks: Iterable<TTask>): number {
    let added = 0;
    for (const task of tasks) if (this.add(task)) added += 1;
    return added;
  }

  /** Every task, oldest first. */
  tasks(): TTask[] {
    return [...this.#tasks.values()];
  }

  /** Tasks added at `step` or later, oldest first (for solving the newest tasks first). */
  since(step: number): TTask[] {
    return this.tasks().filter((task) => task.step >= step);
  }

  /** `count` distinct tasks drawn uniformly (all of them, shuffled, when the buffer holds fewer). */
  sample(count: number, random: RandomSource): TTask[] {
    const pool = this.tasks();
    const wanted = Math.min(assertNumberInRange('count', count, { minimum: 0, integer: true }), pool.length);
    for (let index = 0; index < wanted; index += 1) {
      const pick = random.nextInt(index, pool.length - 1);
      [pool[index], pool[pick]] = [pool[pick] as TTask, pool[index] as TTask];
    }
    return pool.slice(0, wanted);
  }

  /** One task per line, oldest first. */
  toJsonl(): string {
    return this.tasks()
      .map((task) => `${JSON.stringify(task)}\n`)
      .join('');
  }

  /**
   * Reads tasks written one per line (blank lines skipped), each through the mode its `mode` names (default:
   * the paper's modes), which reads and checks its own fields. A task without an id gets one; a task without a
   * step gets 0. Throws {@link InvalidTaskError} naming the line of the first malformed task.
   */
  static parseJsonl<TTask extends TaskBase = Task>(
    text: string,
    modes: readonly TaskModeV1[] = createPaperTaskModes(),
  ): TTask[] {
    const byName = new Map(modes.map((mode) => [mode.name, mode]));
    const tasks: TTask[] = [];
    for (const [index, line] of text.split('\n').entries()) {
      if (line.trim().length === 0) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new InvalidTaskError(`Line ${index + 1} is not JSON.`, { reason: 'json' }, { cause: error });
      }
      tasks.push(readTaskRecord(value, byName, `Line ${index + 1}`) as TTask);
    }
    return tasks;
  }
}

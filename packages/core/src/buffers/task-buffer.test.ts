import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidTaskError } from '../errors/errors.js';
import { createSeededRandom } from '../random/seeded-random.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import { zeroInductionTask, zeroTriplet } from '../task-modes/seeds.js';
import { taskId } from '../task-modes/task-id.js';
import type { DeductionTask } from '../task-modes/tasks.js';
import { TaskBuffer } from './task-buffer.js';

function task(n: number, step = 1): DeductionTask {
  const content = {
    mode: 'deduction' as const,
    language: 'python' as const,
    program: `def f(a):\n    return a + ${n}`,
    entry: 'f',
    input: '1',
    output: `${n + 1}` as CanonicalValue,
  };
  return { ...content, id: taskId(content), step };
}

describe('TaskBuffer', () => {
  it('starts from the zero triplet and deduplicates by content, whatever the step', () => {
    const buffer = new TaskBuffer<DeductionTask>('deduction');
    expect(buffer.add(zeroTriplet('deduction', 'python'))).toBe(true);
    expect(buffer.add({ ...zeroTriplet('deduction', 'python'), step: 9 })).toBe(false);
    expect(
      buffer.add({
        ...task(1),
        program: `${task(1).program}   `,
        id: taskId({ ...task(1), program: `${task(1).program}   ` }),
      }),
    ).toBe(true);
    expect(buffer.add(task(1))).toBe(false);
    expect(buffer.size).toBe(2);
    expect(() => buffer.add(zeroTriplet('abduction', 'python') as unknown as DeductionTask)).toThrow(
      ConfigError,
    );
  });

  it('evicts the oldest task when full, or rejects the new one as the reference does', () => {
    const evicting = new TaskBuffer<DeductionTask>('deduction', { capacity: 3 });
    evicting.addAll([task(1), task(2), task(3), task(4)]);
    expect(evicting.tasks().map((item) => item.output)).toEqual(['3', '4', '5']);
    const rejecting = new TaskBuffer<DeductionTask>('deduction', { capacity: 3, eviction: 'reject-new' });
    expect(rejecting.addAll([task(1), task(2), task(3), task(4)])).toBe(3);
    expect(rejecting.tasks().map((item) => item.output)).toEqual(['2', '3', '4']);
    expect(() => new TaskBuffer('deduction', { eviction: 'lru' as never })).toThrow(
      /"evict-oldest", "reject-new"/,
    );
  });

  it('samples distinct tasks reproducibly from a seed, and every task can be drawn', () => {
    const buffer = new TaskBuffer<DeductionTask>('deduction');
    buffer.addAll(Array.from({ length: 20 }, (_, n) => task(n)));
    const first = buffer.sample(6, createSeededRandom(5)).map((item) => item.id);
    expect(buffer.sample(6, createSeededRandom(5)).map((item) => item.id)).toEqual(first);
    expect(new Set(first).size).toBe(6);
    const drawn = new Set<string>();
    const random = createSeededRandom(1);
    for (let round = 0; round < 50; round += 1)
      for (const item of buffer.sample(6, random)) drawn.add(item.id);
    expect(drawn.size).toBe(20);
    expect(buffer.sample(50, random)).toHaveLength(20);
  });

  it('lists the tasks added since a step', () => {
    const buffer = new TaskBuffer<DeductionTask>('deduction');
    buffer.addAll([task(1, 1), task(2, 2), task(3, 3)]);
    expect(buffer.since(2).map((item) => item.step)).toEqual([2, 3]);
  });

  it('writes JSONL and reads it back, ids checked against the content', () => {
    const buffer = new TaskBuffer('deduction');
    buffer.addAll([task(1), task(2)]);
    const text = buffer.toJsonl();
    expect(TaskBuffer.parseJsonl(text)).toEqual(buffer.tasks());
    const induction = zeroInductionTask('javascript');
    expect(TaskBuffer.parseJsonl(JSON.stringify(induction))).toEqual([induction]);
    const withoutId = JSON.stringify({
      mode: 'abduction',
      language: 'javascript',
      program: 'function f(a) { return a; }',
      input: '1',
      output: '1',
    });
    expect(TaskBuffer.parseJsonl(`\n${withoutId}\n`)[0]).toMatchObject({
      step: 0,
      entry: 'f',
      id: expect.any(String),
    });
  });

  it('names the line of a malformed task', () => {
    const good = JSON.stringify(task(1));
    for (const [bad, reason] of [
      ['{not json', /Line 2 is not JSON/],
      [JSON.stringify({ ...task(1), mode: 'guessing' }), /Line 2: "mode" must be one of/],
      [JSON.stringify({ ...task(1), output: 5 }), /Line 2: "output" must be a string/],
      [JSON.stringify({ ...task(1), id: 'forged' }), /Line 2: "id" does not match/],
      [JSON.stringify({ ...zeroInductionTask('python'), shownCount: 6 }), /Line 2: "shownCount"/],
    ] as const) {
      expect(() => TaskBuffer.parseJsonl(`${good}\n${bad}`)).toThrow(reason);
      expect(() => TaskBuffer.parseJsonl(`${good}\n${bad}`)).toThrow(InvalidTaskError);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { TaskBuffer } from '../buffers/task-buffer.js';
import { ConfigError } from '../errors/errors.js';
import { loadEvaluationSuite } from '../evaluation/suite.js';
import { createSeededRandom } from '../random/seeded-random.js';
import type { TaskBase } from '../spec/task.js';
import { MockExecutor } from '../test/mock-executor.js';
import { createDeductionMode } from './deduction.js';
import { createInductionMode } from './induction.js';
import { createPaperTaskModes } from './paper.js';
import { zeroTriplet } from './seeds.js';

const executor = new MockExecutor();

/** A mode of one's own on deduction's parsing and checking: programs of at most 60 characters. */
function shortDeduction() {
  const deduction = createDeductionMode({ name: 'short-deduction' });
  const mode: typeof deduction = {
    ...deduction,
    async validateProposal(proposal, sandbox, context) {
      if (proposal.program.length > 60) return { ok: false, reason: 'longer than 60 characters' };
      return deduction.validateProposal(proposal, sandbox, context);
    },
  };
  return mode;
}

describe('built-in modes as parts of modes of your own', () => {
  it('make tasks, seeds and checks under the name they are given, with validation of their own', async () => {
    const mode = shortDeduction();
    expect(mode.name).toBe('short-deduction');
    expect(mode.seedTasks?.('javascript')).toEqual([zeroTriplet('short-deduction', 'javascript')]);
    const context = { language: 'javascript' as const, step: 2 };
    const valid = await mode.validateProposal(
      { program: 'function f(a) { return a * 2; }', input: '4' },
      executor,
      context,
    );
    expect(valid).toMatchObject({ ok: true, task: { mode: 'short-deduction', output: '8', step: 2 } });
    const long = `function f(a) {\n  ${'// padding\n  '.repeat(5)}return a;\n}`;
    expect(await mode.validateProposal({ program: long, input: '4' }, executor, context)).toEqual({
      ok: false,
      reason: 'longer than 60 characters',
    });
    if (!valid.ok) return;
    expect(await mode.checkAnswer(valid.task, '8', executor)).toEqual({ correct: true });
    expect(() => createDeductionMode({ name: ' padded ' })).toThrow(ConfigError);
    expect(() => createInductionMode({ name: '' })).toThrow(/non-empty string/);
  });

  it('read and write their tasks through the buffers by the name they carry', () => {
    const modes = [...createPaperTaskModes(), shortDeduction()];
    const buffer = new TaskBuffer<TaskBase>('short-deduction');
    buffer.add(zeroTriplet('short-deduction', 'python'));
    expect(TaskBuffer.parseJsonl(buffer.toJsonl(), modes)).toEqual(buffer.tasks());
    // Without the mode, its tasks are not readable: the paper's modes do not know the name.
    expect(() => TaskBuffer.parseJsonl(buffer.toJsonl())).toThrow(
      /Line 1: "mode" must be one of deduction, abduction, induction/,
    );
    // A mode without a reader of its own keeps its tasks' fields as written, id checked.
    const { readTask: _reader, ...custom } = createDeductionMode({ name: 'plain' });
    const task = { mode: 'plain', language: 'python', program: 'def f(a):\n    return a', extra: [1, 2] };
    const [read] = TaskBuffer.parseJsonl(JSON.stringify(task), [custom]);
    expect(read).toMatchObject({ ...task, entry: 'f', step: 0 });
    expect(() => TaskBuffer.parseJsonl(JSON.stringify({ ...read, extra: [3] }), [custom])).toThrow(/"id"/);
  });

  it('read suite lines: a CRUXEval line becomes a task of every mode that reads one', async () => {
    const line = JSON.stringify({
      code: 'function f(xs) { return xs.length; }',
      input: '[1, 2]',
      output: '2',
    });
    const modes = [...createPaperTaskModes(), shortDeduction()];
    const tasks = await loadEvaluationSuite(line, executor, { language: 'javascript', modes });
    expect(tasks.map((task) => task.mode)).toEqual(['deduction', 'abduction', 'short-deduction']);
    const named = JSON.stringify({
      mode: 'short-deduction',
      language: 'javascript',
      code: 'function f(a) { return a; }',
      input: '1',
      output: '1',
    });
    expect((await loadEvaluationSuite(named, executor, { modes })).map((task) => task.mode)).toEqual([
      'short-deduction',
    ]);
    await expect(loadEvaluationSuite(named, executor)).rejects.toThrow(
      /line 1: "mode" must be deduction, abduction, induction/,
    );
    // A mode that reads no suite lines takes none; a line no mode reads is named.
    const { readSuiteRecord: _suiteReader, ...silent } = createDeductionMode();
    await expect(
      loadEvaluationSuite(line, executor, { language: 'javascript', modes: [silent] }),
    ).rejects.toThrow(/line 1: no mode of deduction reads a line without "mode"/);
  });
});

describe('references', () => {
  const pools = (entries: [string, TaskBase[]][]) =>
    new Map(
      entries.map(([mode, tasks]) => {
        const buffer = new TaskBuffer<TaskBase>(mode);
        buffer.addAll(tasks);
        return [mode, buffer];
      }),
    );
  const program = (mode: string, n: number): TaskBase => ({
    ...zeroTriplet(mode, 'javascript'),
    program: `function f(a) { return a + ${n}; }`,
    id: `${mode}-${n}`,
  });

  it('are K tasks of the mode own pool by default, and one program of the other modes for induction', () => {
    const random = createSeededRandom(3);
    const deduction = createDeductionMode();
    const induction = createInductionMode();
    const source = pools([
      ['deduction', [1, 2, 3, 4].map((n) => program('deduction', n))],
      ['abduction', [5, 6].map((n) => program('abduction', n))],
      ['induction', [program('induction', 9)]],
    ]);
    // The trainer's default for a mode without drawReferences: K of its own.
    expect(deduction.drawReferences).toBeUndefined();
    const drawn = new Set<string>();
    for (let round = 0; round < 60; round += 1) {
      const references =
        induction.drawReferences?.({ mode: 'induction', pools: source, count: 6, random }) ?? [];
      expect(references).toHaveLength(1);
      drawn.add(references[0]?.id ?? '');
    }
    // Every program of the other modes' pools, never its own.
    expect([...drawn].sort()).toEqual([
      'abduction-5',
      'abduction-6',
      'deduction-1',
      'deduction-2',
      'deduction-3',
      'deduction-4',
    ]);
    // Alone in the run, it draws from its own pool.
    const alone = pools([['induction', [program('induction', 9)]]]);
    expect(induction.drawReferences?.({ mode: 'induction', pools: alone, count: 6, random })).toEqual([
      program('induction', 9),
    ]);
  });
});

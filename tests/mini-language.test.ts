import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createMiniTaskModes,
  createSeededRandom,
  DEFAULT_ANSWER_FORMAT,
  loadEvaluationSuite,
  miniBehavior,
  miniExpression,
  miniProgram,
  sampleMiniExpression,
  type TaskBase,
} from '@azr/core';
import { createJavaScriptExecutor, createPythonExecutor } from '@azr/executor';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from './helpers.js';

const javascript = createJavaScriptExecutor({ workers: 1 });
const python = createPythonExecutor({ workers: 1, timeoutMs: 2000 });
afterAll(() => Promise.all([javascript.close(), python.close()]));

const suitePath = (language: string) => join(repositoryRoot, 'packages/cli/suites', `mini-${language}.jsonl`);

describe('the mini language with the real executors', { timeout: 120_000 }, () => {
  it('means the same program in JavaScript and in Python, a digit for every digit, as the SDK computes it', async () => {
    const random = createSeededRandom(11);
    for (let index = 0; index < 24; index += 1) {
      const expression = sampleMiniExpression(random, index % 4);
      const argsList = [...'0123456789'];
      const [inJavaScript, inPython] = await Promise.all([
        javascript.validateProgram({ code: miniProgram(expression, 'javascript'), entry: 'f', argsList }),
        python.validateProgram({ code: miniProgram(expression, 'python'), entry: 'f', argsList }),
      ]);
      expect(inJavaScript.ok && inPython.ok, expression).toBe(true);
      if (!inJavaScript.ok || !inPython.ok) continue;
      expect(inJavaScript.outputs, expression).toEqual(inPython.outputs);
      for (const output of inJavaScript.outputs) expect(output).toMatch(/^\d$/);
      // The SDK's evaluator (used to recognise rewritten tasks) agrees with the executors.
      expect(inJavaScript.outputs.join(''), expression).toBe(miniBehavior(expression));
    }
  });

  it('has bundled held-out suites that the executors reproduce, the same tasks in both languages', async () => {
    const suites: Record<string, TaskBase[]> = {};
    for (const [language, executor] of [
      ['javascript', javascript],
      ['python', python],
    ] as const) {
      const tasks = await loadEvaluationSuite(await readFile(suitePath(language), 'utf8'), executor, {
        language,
      });
      suites[language] = tasks;
      expect(tasks.filter((task) => task.mode === 'deduction')).toHaveLength(60);
      expect(tasks.filter((task) => task.mode === 'abduction')).toHaveLength(60);
      expect(tasks.filter((task) => task.mode === 'induction')).toHaveLength(45);
      const [deduction, abduction, induction] = createMiniTaskModes();
      for (const task of tasks) {
        expect(miniExpression(task.program), task.program).toBeDefined();
        const mode =
          task.mode === 'deduction' ? deduction : task.mode === 'abduction' ? abduction : induction;
        // The gold answer of every task passes the mode's own check through the executor.
        const gold =
          task.mode === 'induction'
            ? task.program
            : task.mode === 'deduction'
              ? (task as unknown as { output: string }).output
              : (task as unknown as { input: string }).input;
        const verdict = await mode.checkAnswer(task as never, gold as never, executor);
        expect(verdict, `${task.mode} ${task.program}`).toEqual({ correct: true });
      }
    }
    // No suite task repeats another by what it computes, and no held-out induction function (which training's
    // induction tasks may never have) is a constant or the identity, the easiest tasks training has.
    const tasks = suites.javascript as TaskBase[];
    const behaviour = (task: TaskBase) => miniBehavior(miniExpression(task.program) ?? '');
    const withInput = tasks
      .filter((task) => task.mode !== 'induction')
      .map((task) => `${behaviour(task)};${(task as unknown as { input: string }).input}`);
    expect(new Set(withInput).size).toBe(withInput.length);
    const functions = tasks.filter((task) => task.mode === 'induction').map(behaviour);
    expect(new Set(functions).size).toBe(functions.length);
    for (const computed of functions) {
      expect(new Set(computed).size, computed).toBeGreaterThan(1);
      expect(computed).not.toBe(miniBehavior('x'));
    }
    const strip = (tasks: TaskBase[]) =>
      tasks.map((task) => ({ ...task, id: '', language: '', program: miniExpression(task.program) }));
    expect(strip(suites.python as TaskBase[])).toEqual(strip(suites.javascript as TaskBase[]));
  });

  it('reads a constrained answer of the solve prompt back into a checked verdict', async () => {
    const [deduction] = createMiniTaskModes();
    const validated = await deduction.validateProposal(
      { program: miniProgram('x*x+1', 'python'), input: '7' },
      python,
      { language: 'python', step: 1 },
    );
    expect(validated).toMatchObject({ ok: true, task: { output: '0' } });
    if (!validated.ok) return;
    expect(deduction.buildSolvePrompt(validated.task, { format: DEFAULT_ANSWER_FORMAT })).toBe(
      '#DS\nf(x)=x*x+1\nf(7)=',
    );
    const answer = deduction.parseAnswer('0', validated.task, { format: DEFAULT_ANSWER_FORMAT });
    expect(answer).toMatchObject({ ok: true, wellFormed: true });
    if (!answer.ok) return;
    expect(await deduction.checkAnswer(validated.task, answer.value, python)).toEqual({ correct: true });
  });
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applySingleFunctionRule, type ExecutorV1, loadEvaluationSuite, type TaskLanguage } from '@azr/core';
import { createJavaScriptExecutor, createPythonExecutor } from '@azr/executor';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from './helpers.js';

// The sample suites in CRUXEval's published layout, checked against the real executors: every output is a
// readable literal, and is what the program returns on its input.
const executors: Record<TaskLanguage, ExecutorV1> = {
  python: createPythonExecutor({ workers: 1, timeoutMs: 2000 }),
  javascript: createJavaScriptExecutor({ workers: 1 }),
};
afterAll(() => Promise.all(Object.values(executors).map((executor) => executor.close())));

interface CruxevalLine {
  code: string;
  input: string;
  output: string;
  id: string;
}

async function readSuite(language: TaskLanguage): Promise<{ text: string; lines: CruxevalLine[] }> {
  const text = await readFile(
    join(repositoryRoot, `packages/cli/suites/cruxeval-sample-${language}.jsonl`),
    'utf8',
  );
  return {
    text,
    lines: text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as CruxevalLine),
  };
}

describe.each(['python', 'javascript'] as const)('cruxeval-sample-%s.jsonl', (language) => {
  it("holds 8 tasks in CRUXEval's layout, each one function f", async () => {
    const { lines } = await readSuite(language);
    expect(lines).toHaveLength(8);
    for (const [index, line] of lines.entries()) {
      expect(Object.keys(line)).toEqual(['code', 'input', 'output', 'id']);
      expect(line.id).toBe(`sample_${index}`);
      // One function, already named f: the single-function rule accepts it unchanged.
      expect(applySingleFunctionRule(line.code, language)).toEqual({ ok: true, program: line.code });
    }
  });

  it('loads as an evaluation suite: a deduction and an abduction task per line', async () => {
    const { text } = await readSuite(language);
    const tasks = await loadEvaluationSuite(text, executors[language], { language });
    expect(tasks.map((task) => task.mode)).toEqual(
      Array.from({ length: 8 }, () => ['deduction', 'abduction']).flat(),
    );
  });

  it('gives each output when its program runs on its input', { timeout: 60_000 }, async () => {
    const executor = executors[language];
    const { lines } = await readSuite(language);
    for (const line of lines) {
      const expected = await executor.evaluateLiteral(line.output);
      const actual = await executor.run({ code: line.code, entry: 'f', args: line.input });
      expect(expected.ok, `${line.id}: ${line.output}`).toBe(true);
      expect(actual, line.id).toEqual(expected);
      // Deterministic, as a proposal must be.
      const validated = await executor.validateProgram({ code: line.code, argsList: [line.input] });
      expect(validated, line.id).toEqual({ ok: true, outputs: [expected.ok && expected.value] });
    }
  });
});

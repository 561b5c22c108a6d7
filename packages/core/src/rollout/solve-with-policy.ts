import type { SolvedTask, SolvePath, SolveRequest } from '../spec/solve-path.js';
import type { TaskBase } from '../spec/task.js';
import type { AnswerVerdict } from '../spec/task-mode.js';

/**
 * The default solve path: the mode's solve prompts, one `doGenerate` call for all of them, the mode's parser
 * and the mode's check through the executor.
 *
 * Equal answers to one task are judged once: a task's program is deterministic (validation checks it), and
 * the rollouts of a task often repeat an answer (16 digits drawn for one deduction task hold a few distinct
 * ones), so most executor calls would repeat one already made.
 */
export const solveWithPolicy: SolvePath = async (request: SolveRequest): Promise<SolvedTask[]> => {
  const { mode, tasks, format, executor } = request;
  const prompts = tasks.map((task) => mode.buildSolvePrompt(task, { format }));
  const { completions } = await request.policy.doGenerate({ ...request.generation, prompts });
  const verdicts = new Map<string, Promise<AnswerVerdict>>();
  const judge = (task: TaskBase, answer: unknown): Promise<AnswerVerdict> => {
    const key = `${task.id}\u0000${typeof answer === 'string' ? answer : JSON.stringify(answer)}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = mode.checkAnswer(task, answer, executor);
      verdicts.set(key, verdict);
    }
    return verdict;
  };
  return Promise.all(
    completions.map(async (completion, index): Promise<SolvedTask> => {
      const task = tasks[index] as TaskBase;
      const answer = mode.parseAnswer(completion.text, task, { format });
      const verdict = answer.ok ? await judge(task, answer.value) : { correct: false, reason: answer.reason };
      return {
        task,
        prompt: prompts[index] as string,
        completion,
        wellFormed: answer.wellFormed,
        correct: verdict.correct,
        reason: verdict.reason,
      };
    }),
  );
};

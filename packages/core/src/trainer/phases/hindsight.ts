import type { ExecutorV1 } from '../../spec/executor.js';
import type { PolicyModelV1, TrainSequence } from '../../spec/policy-model.js';
import type { TaskBase } from '../../spec/task.js';
import type { SolveContext as ModeSolveContext, TaskModeV1 } from '../../spec/task-mode.js';
import { promptTokenIds, type ScoredSolution } from '../rollouts.js';
import type { TrainerSettings } from '../settings.js';

/** What hindsight relabelling needs. */
export interface HindsightInput extends ModeSolveContext {
  readonly policy: PolicyModelV1;
  readonly executor: ExecutorV1;
  readonly modes: readonly TaskModeV1[];
  readonly settings: Pick<
    TrainerSettings,
    'hindsightAdvantage' | 'hindsightLimit' | 'batchSize' | 'language' | 'sampling'
  >;
}

/** One relabelled answer: the task it solves, and the sequence the update trains. */
export interface HindsightSequence {
  readonly mode: string;
  /** The task the answer was given for. */
  readonly task: TaskBase;
  /** The task the answer solves (`TaskModeV1.hindsightTask`). */
  readonly relabelled: TaskBase;
  readonly sequence: TrainSequence;
}

/**
 * `hindsightAdvantage`: wrong, readable answers of modes with `hindsightTask`, each as a sequence under the solve
 * prompt of a task it solves, with the setting as its advantage. Passed over: a relabelled prompt that is the
 * answer's own (it fits what the task shows and misses what it hides), and one too long for the policy. An
 * answer repeated for one task is relabelled once, and so is an answer and prompt that repeat in the step. At
 * most `hindsightLimit` (default `batchSize`) a mode: the tasks' answers take turns (the first relabelled
 * answer of every task, then the second, ...), so that many tasks are shown and the update, in which every
 * relabelled prompt is a row of its own, stays small. The old log probabilities are the policy's under the new
 * prompt, computed here.
 */
export async function relabelInHindsight(
  input: HindsightInput,
  step: number,
  solutions: readonly ScoredSolution[],
): Promise<HindsightSequence[]> {
  const advantage = input.settings.hindsightAdvantage;
  if (advantage <= 0) return [];
  const modes = new Map(input.modes.map((mode) => [mode.name, mode]));
  const context = { language: input.settings.language, step };
  const answered = new Set<string>();
  const wrong = solutions.flatMap((solution) => {
    const mode = modes.get(solution.mode);
    if (solution.correct || mode?.hindsightTask === undefined) return [];
    const answer = mode.parseAnswer(solution.completion.text, solution.task, { format: input.format });
    if (!answer.ok) return [];
    const key = `${solution.task.id}\u0000${JSON.stringify(answer.value)}`;
    if (answered.has(key)) return [];
    answered.add(key);
    return [{ solution, mode, answer: answer.value }];
  });
  const candidates = await Promise.all(
    wrong.map(async ({ solution, mode, answer }) => {
      const relabelled = await mode.hindsightTask?.(solution.task, answer, input.executor, context);
      if (relabelled === undefined) return undefined;
      const prompt = mode.buildSolvePrompt(relabelled, { format: input.format });
      // The same prompt again (an answer that fits the shown pairs and misses hidden ones): the answer is wrong
      // there, and must not be paid for it.
      if (prompt === solution.prompt) return undefined;
      const length =
        promptTokenIds(input.policy.tokenizer, prompt).length + solution.completion.tokenIds.length;
      if (length > input.policy.capabilities.maxSequenceLength) return undefined;
      return { solution, relabelled, prompt };
    }),
  );
  const kept = takeTurns(
    candidates.filter((candidate) => candidate !== undefined),
    input.settings.hindsightLimit ?? input.settings.batchSize,
  );
  if (kept.length === 0) return [];
  const sequences = kept.map(({ solution, prompt }) => ({
    promptTokenIds: promptTokenIds(input.policy.tokenizer, prompt),
    completionTokenIds: solution.completion.tokenIds,
  }));
  const { logProbs } = await input.policy.doComputeLogProbs({
    sequences,
    temperature: input.settings.sampling.temperature,
  });
  return kept.map(({ solution, relabelled }, index) => {
    const tokens = sequences[index] as (typeof sequences)[number];
    return {
      mode: solution.mode,
      task: solution.task,
      relabelled,
      sequence: {
        ...tokens,
        oldLogProbs: logProbs[index] ?? [],
        advantages: tokens.completionTokenIds.map(() => advantage),
      },
    };
  });
}

/**
 * At most `limit` candidates of each mode, without a repeated prompt and completion, the tasks taking turns in
 * the order they were first answered.
 */
function takeTurns<T extends { readonly solution: ScoredSolution; readonly prompt: string }>(
  candidates: readonly T[],
  limit: number,
): T[] {
  const byTask = new Map<string, T[]>();
  for (const candidate of candidates) {
    const key = `${candidate.solution.mode}\u0000${candidate.solution.task.id}`;
    const queue = byTask.get(key);
    if (queue === undefined) byTask.set(key, [candidate]);
    else queue.push(candidate);
  }
  const queues = [...byTask.values()];
  const seen = new Set<string>();
  const perMode = new Map<string, number>();
  const kept: T[] = [];
  for (let round = 0; queues.some((queue) => round < queue.length); round += 1) {
    for (const queue of queues) {
      const candidate = queue[round];
      if (candidate === undefined) continue;
      const { mode } = candidate.solution;
      const key = `${candidate.prompt}\u0000${candidate.solution.completion.tokenIds.join(',')}`;
      if (seen.has(key) || (perMode.get(mode) ?? 0) >= limit) continue;
      seen.add(key);
      perMode.set(mode, (perMode.get(mode) ?? 0) + 1);
      kept.push(candidate);
    }
  }
  return kept;
}

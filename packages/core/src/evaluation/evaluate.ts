import { ConfigError } from '../errors/errors.js';
import { solveWithPolicy } from '../rollout/solve-with-policy.js';
import { DEFAULT_ANSWER_FORMAT } from '../settings/defaults.js';
import { assertNumberInRange } from '../settings/validate.js';
import type { AnswerFormat } from '../spec/answer-format.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { PolicyModelV1 } from '../spec/policy-model.js';
import type { SolvePath } from '../spec/solve-path.js';
import type { TaskBase } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import type { ModeEvaluation } from '../spec/trainer-event.js';
import { createPaperTaskModes } from '../task-modes/paper.js';
import { constrainedBy } from '../trainer/rollouts.js';

export type { ModeEvaluation } from '../spec/trainer-event.js';

/** Settings of {@link evaluate}. */
export interface EvaluationOptions {
  readonly policy: PolicyModelV1;
  readonly executor: ExecutorV1;
  readonly tasks: readonly TaskBase[];
  /** Task modes by name. Default: the paper's three (`createPaperTaskModes`). */
  readonly modes?: readonly TaskModeV1[];
  /** Completions per task. `1` (default) decodes greedily; more samples at `temperature` for pass@k. */
  readonly samples?: number;
  /** The k of pass@k to report (each at most `samples`). Default `[1]`, plus `samples` when it is larger. */
  readonly passAtK?: readonly number[];
  /** Default `1`. Only used when sampling. */
  readonly temperature?: number;
  /** Default `512`. */
  readonly maxTokens?: number;
  /** Default `0`. */
  readonly seed?: number;
  readonly format?: AnswerFormat;
  /** How answers are generated and judged. Default `solveWithPolicy`, which the trainer uses too. */
  readonly solvePath?: SolvePath;
}

/** The outcome of one task. */
export interface TaskEvaluation {
  readonly task: TaskBase;
  /** Correct samples out of `samples`. */
  readonly correct: number;
  readonly samples: number;
  /** The first completion, for reports. */
  readonly completion: string;
}

/** What {@link evaluate} reports. */
export interface EvaluationReport {
  /** By mode name; modes without tasks are absent. */
  readonly modes: Readonly<Record<string, ModeEvaluation>>;
  readonly tasks: readonly TaskEvaluation[];
}

/**
 * The unbiased pass@k estimator (Chen et al., 2021): the chance that at least one of k samples drawn from n,
 * of which c are correct, is correct.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (n - c < k) return 1;
  let failAll = 1;
  for (let index = n - c + 1; index <= n; index += 1) failAll *= 1 - k / index;
  return 1 - failAll;
}

/**
 * Runs a policy on evaluation tasks and reports accuracy per mode: greedy with one sample (the paper's
 * evaluation), or pass@k with several. An answer counts when it parses and the executor judges it correct;
 * the answer format is not required, as in the reference's evaluation.
 */
export async function evaluate(options: EvaluationOptions): Promise<EvaluationReport> {
  const samples = assertNumberInRange('samples', options.samples ?? 1, { minimum: 1, integer: true });
  const ks = options.passAtK ?? (samples > 1 ? [1, samples] : [1]);
  for (const k of ks) assertNumberInRange('passAtK', k, { minimum: 1, maximum: samples, integer: true });
  const format = options.format ?? DEFAULT_ANSWER_FORMAT;
  const modes = new Map((options.modes ?? createPaperTaskModes()).map((mode) => [mode.name, mode]));
  const solvePath = options.solvePath ?? solveWithPolicy;
  const results: TaskEvaluation[] = [];
  for (const [name, mode] of modes) {
    const tasks = options.tasks.filter((task) => task.mode === name);
    if (tasks.length === 0) continue;
    const constraint = mode.constraint?.('solve', options.policy.tokenizer);
    if (constraint !== undefined && !options.policy.capabilities.constrainedDecoding) {
      throw new ConfigError(
        `The task mode ${name} holds answers to a constraint, which the policy ${options.policy.modelId} does not support.`,
        { field: 'modes' },
      );
    }
    const solved = await solvePath({
      policy: options.policy,
      executor: options.executor,
      mode,
      tasks: tasks.flatMap((task) => Array.from({ length: samples }, () => task)),
      format,
      generation: {
        seed: options.seed ?? 0,
        greedy: samples === 1,
        temperature: options.temperature ?? 1,
        topP: 1,
        maxTokens: options.maxTokens ?? 512,
        ...constrainedBy(constraint),
      },
    });
    // An answer counts when it was read and judged correct; the format is not required.
    const verdicts = solved.map((each) => each.correct);
    tasks.forEach((task, index) => {
      const mine = verdicts.slice(index * samples, (index + 1) * samples);
      results.push({
        task,
        correct: mine.filter(Boolean).length,
        samples,
        completion: solved[index * samples]?.completion.text ?? '',
      });
    });
  }
  const report: Record<string, ModeEvaluation> = {};
  for (const name of modes.keys()) {
    const mine = results.filter((result) => result.task.mode === name);
    if (mine.length === 0) continue;
    report[name] = {
      tasks: mine.length,
      passAtK: Object.fromEntries(
        ks.map((k) => [
          k,
          mine.reduce((total, result) => total + passAtK(samples, result.correct, k), 0) / mine.length,
        ]),
      ),
    };
  }
  return { modes: report, tasks: results };
}

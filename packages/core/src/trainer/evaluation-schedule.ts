import { ConfigError } from '../errors/errors.js';
import { type EvaluationOptions, type EvaluationReport, evaluate } from '../evaluation/evaluate.js';
import { assertNumberInRange } from '../settings/validate.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { PolicyModelV1 } from '../spec/policy-model.js';
import type { SolvePath } from '../spec/solve-path.js';
import type { TaskBase } from '../spec/task.js';
import type { TaskModeV1 } from '../spec/task-mode.js';
import type { TrainerEvent } from '../spec/trainer-event.js';

/** A suite the trainer evaluates the policy on. */
export interface EvaluationSuite {
  /** Names the suite in events and results; unique among the trainer's suites. */
  readonly name: string;
  /** Its tasks, of the run's modes (see `loadEvaluationSuite`). */
  readonly tasks: readonly TaskBase[];
  /**
   * How it is evaluated (see `evaluate`): greedy pass@1 by default, with the run's `sampling.maxTokens` unless
   * `maxTokens` is given.
   */
  readonly options?: Pick<EvaluationOptions, 'samples' | 'passAtK' | 'temperature' | 'maxTokens' | 'seed'>;
}

/**
 * Scheduled evaluation, the trainer's `evaluation` option: every suite before the first step of a fresh run
 * (step 0, the untrained policy), every `every` steps, and when `run` ends at a step not yet evaluated.
 */
export interface TrainerEvaluation {
  /** Steps between evaluations. Default: none between the first and the last. */
  readonly every?: number;
  readonly suites: readonly EvaluationSuite[];
}

/** One suite evaluated at one step, as `RunOptions.onEvaluation` receives it. */
export interface EvaluationResult {
  /** The completed steps: `0` is the untrained policy. */
  readonly step: number;
  readonly suite: string;
  readonly report: EvaluationReport;
}

/** What the schedule evaluates with. */
export interface EvaluationScheduleInput {
  readonly policy: PolicyModelV1;
  readonly executor: ExecutorV1;
  readonly modes: readonly TaskModeV1[];
  readonly solvePath: SolvePath;
  /** The default `maxTokens`. */
  readonly maxTokens: number;
  readonly emit: (event: TrainerEvent) => Promise<void>;
  readonly now: () => number;
}

/** Checks the option against the run's modes: a `ConfigError` naming what is wrong. */
export function checkEvaluation(evaluation: TrainerEvaluation, modes: readonly TaskModeV1[]): void {
  if (evaluation.every !== undefined)
    assertNumberInRange('evaluation.every', evaluation.every, { minimum: 1, integer: true });
  const names = new Set<string>();
  for (const suite of evaluation.suites) {
    if (typeof suite.name !== 'string' || suite.name.length === 0 || names.has(suite.name))
      throw new ConfigError(
        `evaluation.suites need unique, non-empty names; got ${JSON.stringify(suite.name)}.`,
        {
          field: 'evaluation.suites',
        },
      );
    names.add(suite.name);
    const stranger = suite.tasks.find((task) => !modes.some((mode) => mode.name === task.mode));
    if (stranger !== undefined)
      throw new ConfigError(
        `The evaluation suite ${suite.name} holds ${stranger.mode} tasks, which no mode of the run solves (${modes.map((mode) => mode.name).join(', ')}).`,
        { field: 'evaluation.suites' },
      );
  }
}

/** Evaluates every suite now, emitting an `evaluation` event for each; returns the results in suite order. */
export async function evaluateSuites(
  input: EvaluationScheduleInput,
  evaluation: TrainerEvaluation,
  step: number,
): Promise<EvaluationResult[]> {
  const results: EvaluationResult[] = [];
  for (const suite of evaluation.suites) {
    const start = input.now();
    const report = await evaluate({
      policy: input.policy,
      executor: input.executor,
      modes: input.modes,
      solvePath: input.solvePath,
      tasks: suite.tasks,
      maxTokens: input.maxTokens,
      ...suite.options,
    });
    await input.emit({
      type: 'evaluation',
      step,
      suite: suite.name,
      modes: report.modes,
      durationMs: input.now() - start,
    });
    results.push({ step, suite: suite.name, report });
  }
  return results;
}

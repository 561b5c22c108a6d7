import type { AnswerFormat } from '../../spec/answer-format.js';
import type { ExecutorV1 } from '../../spec/executor.js';
import type { GenerationConstraintV1 } from '../../spec/generation-constraint.js';
import type { PolicyModelV1 } from '../../spec/policy-model.js';
import type { RandomSource } from '../../spec/random-source.js';
import type { SamplingSettings } from '../../spec/settings.js';
import type { SolvePath } from '../../spec/solve-path.js';
import type { TaskBase, TaskRole } from '../../spec/task.js';
import type { TaskModeV1 } from '../../spec/task-mode.js';
import { constrainedBy, nextSeed, type ScoredSolution } from '../rollouts.js';

/** What the phases that generate need: the policy, the run's randomness, sampling and constraints. */
export interface GenerationContext {
  readonly policy: PolicyModelV1;
  readonly random: RandomSource;
  readonly sampling: SamplingSettings;
  /** The generation constraint of a mode's role at a step, if the mode has one. */
  readonly constraintOf: (
    mode: TaskModeV1,
    role: TaskRole,
    step: number,
  ) => GenerationConstraintV1 | undefined;
}

/** What the phases that solve need besides generation: the solve path and what it checks with. */
export interface SolveContext extends GenerationContext {
  readonly executor: ExecutorV1;
  readonly format: AnswerFormat;
  readonly solvePath: SolvePath;
}

/** The generation settings of one request of a mode's role at a step (a fresh seed from the run's source). */
export function generationFor(context: GenerationContext, mode: TaskModeV1, role: TaskRole, step: number) {
  return {
    seed: nextSeed(context.random),
    temperature: context.sampling.temperature,
    topP: context.sampling.topP,
    maxTokens: context.sampling.maxTokens,
    ...constrainedBy(context.constraintOf(mode, role, step)),
  };
}

/**
 * Solves tasks of a mode through the run's solve path, one completion per entry, held to the mode's solve
 * constraint at the step; returns them as scored solutions of the step.
 */
export async function solveFor(
  context: SolveContext,
  mode: TaskModeV1,
  tasks: readonly TaskBase[],
  promptId: (index: number) => string,
  step: number,
): Promise<ScoredSolution[]> {
  const solved = await context.solvePath({
    policy: context.policy,
    executor: context.executor,
    mode,
    tasks,
    format: context.format,
    generation: generationFor(context, mode, 'solve', step),
  });
  return solved.map((each, index) => ({
    mode: mode.name,
    role: 'solve',
    promptId: promptId(index),
    prompt: each.prompt,
    completion: each.completion,
    task: each.task,
    wellFormed: each.wellFormed,
    correct: each.correct,
    reason: each.reason,
  }));
}

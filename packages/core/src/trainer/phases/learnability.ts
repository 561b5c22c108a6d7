import type { TaskBase } from '../../spec/task.js';
import {
  constrainedBy,
  nextSeed,
  type ProposalRollout,
  type SolveRollout,
  type TrainerRuntime,
} from '../runtime.js';

/** What the learnability phase measured: the tokens it generated and its solver rollouts. */
export interface LearnabilityResult {
  readonly tokens: number;
  /** One solver rollout per learnability completion, with its verdict (rewards are set later, if trained on). */
  readonly rollouts: readonly SolveRollout[];
}

/**
 * Phase 3: estimate each valid proposal's solve rate with `learnabilityRollouts` solver rollouts of its task.
 * These rollouts set the proposer's reward; they are trained on only with `trainOnLearnabilityRollouts`.
 */
export async function estimateLearnability(
  runtime: TrainerRuntime,
  step: number,
  proposals: ProposalRollout[],
): Promise<LearnabilityResult> {
  const { settings } = runtime;
  let tokens = 0;
  const rollouts: SolveRollout[] = [];
  for (const mode of runtime.modes) {
    const valid = proposals.filter((proposal) => proposal.mode === mode.name && proposal.task !== undefined);
    if (valid.length === 0) continue;
    const tasks = valid.flatMap((proposal) =>
      Array.from({ length: settings.learnabilityRollouts }, () => proposal.task as TaskBase),
    );
    const prompts = tasks.map((task) => mode.buildSolvePrompt(task, { format: settings.format }));
    const { completions } = await runtime.policy.doGenerate({
      prompts,
      seed: nextSeed(runtime.random),
      temperature: settings.sampling.temperature,
      topP: settings.sampling.topP,
      maxTokens: settings.sampling.maxTokens,
      ...constrainedBy(runtime.constraintOf(mode, 'solve')),
    });
    const verdicts = await Promise.all(
      completions.map(async (completion, index) => {
        tokens += completion.tokenIds.length;
        const task = tasks[index] as TaskBase;
        const answer = mode.parseAnswer(completion.text, task, { format: settings.format });
        if (!answer.ok) return { wellFormed: answer.wellFormed, correct: false, reason: answer.reason };
        const verdict = await mode.checkAnswer(task, answer.value, runtime.executor);
        return { wellFormed: answer.wellFormed, correct: verdict.correct, reason: verdict.reason };
      }),
    );
    completions.forEach((completion, index) => {
      const verdict = verdicts[index] as (typeof verdicts)[number];
      rollouts.push({
        mode: mode.name,
        role: 'solve',
        // One group per task, as GRPO would group them.
        promptId: `${step}:${mode.name}:learnability:${Math.floor(index / settings.learnabilityRollouts)}`,
        prompt: prompts[index] as string,
        completion,
        task: tasks[index] as TaskBase,
        wellFormed: verdict.wellFormed,
        correct: verdict.correct,
        reason: verdict.reason,
        reward: 0,
        advantage: 0,
      });
    });
    valid.forEach((proposal, index) => {
      const mine = verdicts.slice(
        index * settings.learnabilityRollouts,
        (index + 1) * settings.learnabilityRollouts,
      );
      // A malformed answer counts as unsolved, as in the reference.
      proposal.solveRate =
        mine.filter((verdict) => verdict.wellFormed && verdict.correct).length / mine.length;
    });
  }
  return { tokens, rollouts };
}

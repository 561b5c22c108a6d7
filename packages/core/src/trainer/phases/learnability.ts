import type { TaskBase } from '../../spec/task.js';
import { nextSeed, type ProposalRollout, type TrainerRuntime } from '../runtime.js';

/**
 * Phase 3: estimate each valid proposal's solve rate with `learnabilityRollouts` solver rollouts of its task.
 * These rollouts set the proposer's reward and are never trained on.
 */
export async function estimateLearnability(
  runtime: TrainerRuntime,
  proposals: ProposalRollout[],
): Promise<number> {
  const { settings } = runtime;
  let tokens = 0;
  for (const mode of runtime.modes) {
    const valid = proposals.filter((proposal) => proposal.mode === mode.name && proposal.task !== undefined);
    if (valid.length === 0) continue;
    const tasks = valid.flatMap((proposal) =>
      Array.from({ length: settings.learnabilityRollouts }, () => proposal.task as TaskBase),
    );
    const { completions } = await runtime.policy.doGenerate({
      prompts: tasks.map((task) => mode.buildSolvePrompt(task, { format: settings.format })),
      seed: nextSeed(runtime.random),
      temperature: settings.sampling.temperature,
      topP: settings.sampling.topP,
      maxTokens: settings.sampling.maxTokens,
    });
    const verdicts = await Promise.all(
      completions.map(async (completion, index) => {
        tokens += completion.tokenIds.length;
        const task = tasks[index] as TaskBase;
        const answer = mode.parseAnswer(completion.text, task, { format: settings.format });
        if (!answer.ok || !answer.wellFormed) return false;
        return (await mode.checkAnswer(task, answer.value, runtime.executor)).correct;
      }),
    );
    valid.forEach((proposal, index) => {
      const mine = verdicts.slice(
        index * settings.learnabilityRollouts,
        (index + 1) * settings.learnabilityRollouts,
      );
      proposal.solveRate = mine.filter(Boolean).length / mine.length;
    });
  }
  return tokens;
}

import type { TaskBase } from '../../spec/task.js';
import type { ProposeContext } from '../../spec/task-mode.js';
import { LANGUAGE_SYNTAX } from '../../task-modes/language.js';
import { constrainedBy, nextSeed, type ProposalRollout, type TrainerRuntime } from '../runtime.js';

/** The programs an induction proposer draws from: the deduction and abduction buffers, else its own. */
function inductionPool(runtime: TrainerRuntime, mode: string): TaskBase[] {
  const programs = [...runtime.buffers.values()]
    .filter((buffer) => buffer.mode === 'deduction' || buffer.mode === 'abduction')
    .flatMap((buffer) => buffer.tasks());
  return programs.length > 0 ? programs : (runtime.buffers.get(mode)?.tasks() ?? []);
}

function referencesFor(runtime: TrainerRuntime, mode: string, pool: readonly TaskBase[]): TaskBase[] {
  const { buffers, random, settings } = runtime;
  if (mode !== 'induction') {
    return buffers.get(mode)?.sample(settings.references, random) ?? [];
  }
  // An induction proposer writes inputs for one program.
  return pool.length === 0 ? [] : [pool[random.nextInt(0, pool.length - 1)] as TaskBase];
}

/** Phase 1: every mode proposes `batchSize` tasks, each from its own sample of references. */
export async function propose(runtime: TrainerRuntime, step: number): Promise<ProposalRollout[]> {
  const { settings, policy } = runtime;
  const rollouts: ProposalRollout[] = [];
  const bannedWords = LANGUAGE_SYNTAX[settings.language].bannedWords;
  for (const mode of runtime.modes) {
    const pool = mode.name === 'induction' ? inductionPool(runtime, mode.name) : [];
    const contexts: ProposeContext[] = Array.from({ length: settings.batchSize }, () => ({
      language: settings.language,
      references: referencesFor(runtime, mode.name, pool),
      bannedWords,
      format: settings.format,
    }));
    const prompts = contexts.map((context) => mode.buildProposePrompt(context));
    const { completions } = await policy.doGenerate({
      prompts,
      seed: nextSeed(runtime.random),
      temperature: settings.sampling.temperature,
      topP: settings.sampling.topP,
      maxTokens: settings.sampling.maxTokens,
      ...constrainedBy(runtime.constraintOf(mode, 'propose', step)),
    });
    completions.forEach((completion, index) => {
      rollouts.push({
        mode: mode.name,
        role: 'propose',
        promptId: `${step}:${mode.name}:propose:${index}`,
        prompt: prompts[index] as string,
        completion,
        context: contexts[index] as ProposeContext,
        wellFormed: false,
        reward: 0,
        advantage: 0,
        status: 'malformed',
        reason: undefined,
        task: undefined,
        solveRate: undefined,
      });
    });
  }
  return rollouts;
}

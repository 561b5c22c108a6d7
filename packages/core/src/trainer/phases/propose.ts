import type { TaskModeName } from '../../spec/task.js';
import type { ProposeContext, TaskModeV1, TaskPool } from '../../spec/task-mode.js';
import { LANGUAGE_SYNTAX } from '../../task-modes/language.js';
import type { Proposal } from '../rollouts.js';
import type { TrainerSettings } from '../settings.js';
import { type GenerationContext, generationFor } from './context.js';

/** What proposing needs besides generation. */
export interface ProposeInput extends GenerationContext {
  readonly modes: readonly TaskModeV1[];
  readonly pools: ReadonlyMap<TaskModeName, TaskPool>;
  readonly settings: Pick<TrainerSettings, 'batchSize' | 'references' | 'language' | 'format'>;
}

/**
 * Phase 1: every mode proposes `batchSize` tasks, each from references the mode draws from the run's pools
 * (`TaskModeV1.drawReferences`; by default K tasks of its own).
 */
export async function propose(input: ProposeInput, step: number): Promise<Proposal[]> {
  const { settings, pools, random } = input;
  const proposals: Proposal[] = [];
  const bannedWords = LANGUAGE_SYNTAX[settings.language].bannedWords;
  for (const mode of input.modes) {
    const source = { mode: mode.name, pools, count: settings.references, random };
    const contexts: ProposeContext[] = Array.from({ length: settings.batchSize }, () => ({
      language: settings.language,
      references:
        mode.drawReferences?.(source) ?? pools.get(mode.name)?.sample(settings.references, random) ?? [],
      bannedWords,
      format: settings.format,
    }));
    const prompts = contexts.map((context) => mode.buildProposePrompt(context));
    const { completions } = await input.policy.doGenerate({
      prompts,
      ...generationFor(input, mode, 'propose', step),
    });
    completions.forEach((completion, index) => {
      proposals.push({
        mode: mode.name,
        role: 'propose',
        promptId: `${step}:${mode.name}:propose:${index}`,
        prompt: prompts[index] as string,
        completion,
        context: contexts[index] as ProposeContext,
      });
    });
  }
  return proposals;
}

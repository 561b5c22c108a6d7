import type { TaskBase, TaskModeName } from '../../spec/task.js';
import type { ProposeContext, TaskModeV1, TaskPool } from '../../spec/task-mode.js';
import { LANGUAGE_SYNTAX } from '../../task-modes/language.js';
import type { Proposal } from '../rollouts.js';
import type { TrainerSettings } from '../settings.js';
import { type GenerationContext, generationFor } from './context.js';

/** What proposing needs besides generation. */
export interface ProposeInput extends GenerationContext {
  readonly modes: readonly TaskModeV1[];
  readonly pools: ReadonlyMap<TaskModeName, TaskPool>;
  readonly settings: Pick<
    TrainerSettings,
    'batchSize' | 'references' | 'language' | 'format' | 'maxPromptTokens'
  >;
}

/** Draws of references for one prompt before it goes with fewer: the reference draws again until one fits. */
const REFERENCE_DRAWS = 8;

/**
 * One proposal's context and prompt: references the mode draws from the run's pools
 * (`TaskModeV1.drawReferences`; by default K tasks of its own). Under `maxPromptTokens`, a prompt that is too
 * long is built again with new references, then with fewer, until it fits or has none.
 */
function proposalPrompt(input: ProposeInput, mode: TaskModeV1): { context: ProposeContext; prompt: string } {
  const { settings, pools, random } = input;
  const source = { mode: mode.name, pools, count: settings.references, random };
  const draw = () =>
    mode.drawReferences?.(source) ?? pools.get(mode.name)?.sample(settings.references, random) ?? [];
  const build = (references: readonly TaskBase[]) => {
    const context: ProposeContext = {
      language: settings.language,
      references,
      bannedWords: LANGUAGE_SYNTAX[settings.language].bannedWords,
      format: settings.format,
    };
    return { context, prompt: mode.buildProposePrompt(context) };
  };
  let built = build(draw());
  const limit = settings.maxPromptTokens;
  if (limit === undefined) return built;
  const fits = () => input.policy.tokenizer.encode(built.prompt).length <= limit;
  for (let attempt = 1; attempt < REFERENCE_DRAWS && !fits(); attempt += 1) built = build(draw());
  while (!fits() && built.context.references.length > 0) built = build(built.context.references.slice(0, -1));
  return built;
}

/** Phase 1: every mode proposes `batchSize` tasks, each from its own references. */
export async function propose(input: ProposeInput, step: number): Promise<Proposal[]> {
  const proposals: Proposal[] = [];
  for (const mode of input.modes) {
    const built = Array.from({ length: input.settings.batchSize }, () => proposalPrompt(input, mode));
    const contexts = built.map((each) => each.context);
    const prompts = built.map((each) => each.prompt);
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

import { ConfigError } from '../../errors/errors.js';
import type { Completion } from '../../spec/policy-model.js';
import type { TaskBase, TaskModeName } from '../../spec/task.js';
import type { ProposeContext, TaskModeV1, TaskPool } from '../../spec/task-mode.js';
import { LANGUAGE_SYNTAX } from '../../task-modes/language.js';
import { type Proposal, promptTokenIds } from '../rollouts.js';
import type { TrainerSettings } from '../settings.js';
import { type GenerationContext, generationFor } from './context.js';

/** What proposing needs besides generation. */
export interface ProposeInput extends GenerationContext {
  readonly modes: readonly TaskModeV1[];
  readonly pools: ReadonlyMap<TaskModeName, TaskPool>;
  readonly settings: Pick<
    TrainerSettings,
    'batchSize' | 'references' | 'proposalsPerPrompt' | 'language' | 'format' | 'maxPromptTokens' | 'proposer'
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

/**
 * A proposal drawn by the mode's random generator (`proposer: 'random'`), as a completion: its text is what the
 * generator wrote, its tokens the policy's encoding of it (for token counts; it is never trained on, so its log
 * probabilities are zeros).
 */
function sampledCompletion(
  input: ProposeInput,
  mode: TaskModeV1,
  context: ProposeContext,
  prompt: string,
  step: number,
): Completion {
  if (mode.sampleProposal === undefined) {
    throw new ConfigError(`The task mode ${mode.name} cannot sample proposals (proposer "random").`, {
      field: 'proposer',
    });
  }
  const text = mode.sampleProposal(input.random, { ...context, step });
  const { tokenizer } = input.policy;
  const tokenIds = tokenizer.encode(text);
  return {
    text,
    promptTokenIds: promptTokenIds(tokenizer, prompt),
    tokenIds,
    logProbs: tokenIds.map(() => 0),
    finishReason: 'stop',
  };
}

/**
 * Phase 1: every mode proposes `batchSize` tasks, `proposalsPerPrompt` from each prompt and its references: the
 * policy writes them, or, under `proposer: 'random'`, the mode's random generator draws them (from the same
 * contexts and prompts, so that they are recorded alike).
 */
export async function propose(input: ProposeInput, step: number): Promise<Proposal[]> {
  const proposals: Proposal[] = [];
  const { batchSize, proposalsPerPrompt } = input.settings;
  for (const mode of input.modes) {
    const distinct = Array.from({ length: Math.ceil(batchSize / proposalsPerPrompt) }, () =>
      proposalPrompt(input, mode),
    );
    const built = Array.from(
      { length: batchSize },
      (_, index) => distinct[Math.floor(index / proposalsPerPrompt)] as (typeof distinct)[number],
    );
    const contexts = built.map((each) => each.context);
    const prompts = built.map((each) => each.prompt);
    const completions =
      input.settings.proposer === 'random'
        ? built.map(({ context, prompt }) => sampledCompletion(input, mode, context, prompt, step))
        : (
            await input.policy.doGenerate({
              prompts,
              ...generationFor(input, mode, 'propose', step),
            })
          ).completions;
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

import { ConfigError } from '../errors/errors.js';
import type { AnswerFormat } from '../spec/answer-format.js';

/**
 * How a mode's task text (a rendered template) becomes the prompt the policy continues, and what of the format
 * the prompt has already written for the completion.
 *
 * The modes wrap every prompt they build with their frame, and check every completion as if
 * {@link PromptFrame.completionPrefix} preceded it: a frame that ends inside an opened reasoning block (the R1
 * frame ends with `Assistant: <think>`) gets completions that continue that block, and those are well formed.
 */
export interface PromptFrame {
  /** For errors and reports: `r1`, `none`, `chat-template`, or a name of your own. */
  readonly name: string;
  /** The prompt for a task text. The format gives the tag names the prompt speaks of. */
  wrap(text: string, format: AnswerFormat): string;
  /**
   * The end of the prompt that belongs to the completion's format: the opened reasoning tag (`<think>`) when
   * the prompt opens the block, otherwise the empty string. The answer check reads the completion after it.
   */
  completionPrefix(format: AnswerFormat): string;
}

/** The frames a mode's `frame` setting may name. */
export const PROMPT_FRAME_NAMES = ['r1', 'none'] as const;

/** A named frame: `r1` ({@link R1_FRAME}) or `none` ({@link NO_FRAME}). */
export type PromptFrameName = (typeof PROMPT_FRAME_NAMES)[number];

/** A mode's `frame` setting: a named frame, or a frame object ({@link createChatTemplateFrame}, your own). */
export type PromptFrameSetting = PromptFrameName | PromptFrame;

/**
 * The paragraph that opens the R1 frame: a user asks, the assistant reasons inside the reasoning block and
 * answers inside the answer block. Our wording of the conversation frame the paper (after DeepSeek-R1) uses.
 */
export function r1Instruction(format: AnswerFormat): string {
  const think = format.reasoningTag;
  const answer = format.answerTag;
  return (
    'What follows is a conversation between User and Assistant. User poses a problem, and Assistant works ' +
    `through it before replying: Assistant first writes its reasoning enclosed in <${think}> </${think}>, then ` +
    `its final reply enclosed in <${answer}> </${answer}>, as in <${think}> reasoning goes here </${think}> ` +
    `<${answer}> reply goes here </${answer}>.`
  );
}

function openedReasoning(format: AnswerFormat): string {
  return `<${format.reasoningTag}>`;
}

/**
 * The R1 frame as plain text, for base models (the paper's setting and the paper modes' default): the
 * {@link r1Instruction} paragraph, `User: <task text>`, a newline, and `Assistant: <think>`. The prompt ends
 * inside an opened reasoning block, so the model's first token continues its reasoning.
 */
export const R1_FRAME: PromptFrame = Object.freeze({
  name: 'r1',
  wrap: (text: string, format: AnswerFormat) =>
    `${r1Instruction(format)}\nUser: ${text}\nAssistant: ${openedReasoning(format)}`,
  completionPrefix: openedReasoning,
});

/**
 * No frame: the prompt is the task text as it is, and the completion must open its own reasoning block. The
 * templates then carry the whole instruction on the format (the default templates name only the answer
 * block).
 */
export const NO_FRAME: PromptFrame = Object.freeze({
  name: 'none',
  wrap: (text: string) => text,
  completionPrefix: () => '',
});

import type { ChatMessage } from '../spec/tokenizer.js';

export type { ChatMessage };

/** Settings of {@link createChatTemplateFrame}. */
export interface ChatTemplateFrameSettings {
  /**
   * Renders the messages into the prompt text, ending with the opening of the assistant's turn: an instruct
   * checkpoint's `chat_template` (from `tokenizer_config.json`) rendered with `messages` and
   * `add_generation_prompt: true`. Required. Core renders no Jinja: the caller supplies the renderer.
   */
  readonly render: (messages: readonly ChatMessage[]) => string;
  /**
   * Where the {@link r1Instruction} paragraph goes: `system`, a system message before the user's (default);
   * `user`, in front of the task text in the user's message, for templates that have no system role.
   */
  readonly instruction?: 'system' | 'user';
  /**
   * Whether the prompt opens the reasoning block after the rendered generation prompt, as the R1 frame does,
   * so that the completion continues it. Default `true`; `false` for a template that opens it itself (then
   * the completion must be checked from wherever the template left it, which this frame does not know).
   */
  readonly openReasoning?: boolean;
}

/**
 * A frame for chat (instruct) models: the R1 conversation given through the model's own chat template. The
 * instruction paragraph becomes a system message (or leads the user's message), the task text is the user's
 * message, and the rendered prompt ends, like the R1 frame, inside an opened reasoning block.
 *
 * ```ts
 * const frame = createChatTemplateFrame({ render: (messages) => renderChatTemplate(template, messages) });
 * const modes = createPaperTaskModes({ deduction: { frame }, abduction: { frame }, induction: { frame } });
 * ```
 */
export function createChatTemplateFrame(settings: ChatTemplateFrameSettings): PromptFrame {
  if (typeof settings?.render !== 'function') {
    throw new ConfigError('frame.render must be a function from chat messages to the prompt text.', {
      field: 'frame.render',
    });
  }
  const { render } = settings;
  const instruction = settings.instruction ?? 'system';
  if (instruction !== 'system' && instruction !== 'user') {
    throw new ConfigError(
      `frame.instruction must be one of "system", "user"; got ${JSON.stringify(instruction)}.`,
      { field: 'frame.instruction', allowed: ['system', 'user'] },
    );
  }
  const openReasoning = settings.openReasoning ?? true;
  const prefix = (format: AnswerFormat) => (openReasoning ? openedReasoning(format) : '');
  return Object.freeze({
    name: 'chat-template',
    wrap(text: string, format: AnswerFormat): string {
      const messages: ChatMessage[] =
        instruction === 'system'
          ? [
              { role: 'system', content: r1Instruction(format) },
              { role: 'user', content: text },
            ]
          : [{ role: 'user', content: `${r1Instruction(format)}\n\n${text}` }];
      return `${render(messages)}${prefix(format)}`;
    },
    completionPrefix: prefix,
  });
}

/** Resolves a mode's `frame` setting (default `r1`), refusing anything else with the allowed values. */
export function resolvePromptFrame(setting: unknown, field = 'frame'): PromptFrame {
  if (setting === undefined || setting === 'r1') return R1_FRAME;
  if (setting === 'none') return NO_FRAME;
  const frame = setting as Partial<PromptFrame> | null;
  if (
    typeof frame === 'object' &&
    frame !== null &&
    typeof frame.wrap === 'function' &&
    typeof frame.completionPrefix === 'function'
  ) {
    return frame as PromptFrame;
  }
  throw new ConfigError(
    `${field} must be one of ${PROMPT_FRAME_NAMES.map((name) => JSON.stringify(name)).join(', ')}, or a frame object with wrap(text, format) and completionPrefix(format); got ${typeof setting === 'string' ? JSON.stringify(setting) : typeof setting}.`,
    { field, allowed: PROMPT_FRAME_NAMES },
  );
}

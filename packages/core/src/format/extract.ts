import type { AnswerFormat, ExtractedAnswer } from '../spec/answer-format.js';

/** A fenced code block: its info string (`python`, `input`, ...) and its body. */
export interface FencedBlock {
  readonly language: string;
  readonly body: string;
}

const FENCE = /```[ \t]*([\w+-]*)[^\n]*\n([\s\S]*?)```/g;

/** Every complete fenced block in a text, in order. Never throws. */
export function extractFencedBlocks(text: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  for (const match of text.matchAll(FENCE)) {
    blocks.push({ language: (match[1] ?? '').toLowerCase(), body: (match[2] ?? '').replace(/\s+$/, '') });
  }
  return blocks;
}

/** Options of {@link extractAnswer}. */
export interface ExtractAnswerOptions {
  /**
   * Text the prompt ended with that belongs to the completion's format, such as the R1 frame's opened
   * `<think>`; the completion is checked as if it started with it. Default: none.
   */
  readonly completionPrefix?: string;
}

function escapeRegExp(tag: string): string {
  return tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Checks a completion against the answer format and extracts its parts. Never throws.
 *
 * Well formed means: the completion starts (after whitespace) with a complete reasoning block, followed (after
 * whitespace) by a complete answer block; text after the answer block is allowed, as in the reference
 * implementation. The answer is the content of the last complete answer block, trimmed; when there is none,
 * the text after an unclosed opening answer tag is used (and the completion is not well formed).
 *
 * A prompt that ends inside an opened reasoning block (the R1 frame ends with `Assistant: <think>`) makes the
 * model's completion start in the middle of that block. Pass the prompt's opened text as `completionPrefix`
 * (see `PromptFrame.completionPrefix`): the completion is checked as if that text preceded it, as the
 * reference checks the text after `Assistant:`. So under the R1 frame `reasoning</think><answer>4</answer>` is
 * well formed, and so is a completion that opens the block again (`<think>reasoning</think>...`).
 */
export function extractAnswer(
  completion: string,
  format: AnswerFormat,
  options: ExtractAnswerOptions = {},
): ExtractedAnswer {
  const text = `${options.completionPrefix ?? ''}${completion}`;
  const reasoningTag = escapeRegExp(format.reasoningTag);
  const answerTag = escapeRegExp(format.answerTag);
  const wellFormed = new RegExp(
    `^\\s*<${reasoningTag}>[\\s\\S]*?</${reasoningTag}>\\s*<${answerTag}>[\\s\\S]*?</${answerTag}>`,
  ).test(text);
  const reasoningMatch = new RegExp(`<${reasoningTag}>([\\s\\S]*?)</${reasoningTag}>`).exec(text);
  const answers = [...text.matchAll(new RegExp(`<${answerTag}>([\\s\\S]*?)</${answerTag}>`, 'g'))];
  let answer: string | undefined = answers.at(-1)?.[1];
  if (answer === undefined) {
    const open = text.lastIndexOf(`<${format.answerTag}>`);
    if (open !== -1) answer = text.slice(open + format.answerTag.length + 2);
  }
  const trimmed = answer?.trim();
  return {
    wellFormed,
    answer: trimmed === undefined || trimmed.length === 0 ? undefined : trimmed,
    // A completion that opens the block the prompt already opened reads as one block, not a nested one.
    reasoning: reasoningMatch?.[1]?.replace(new RegExp(`^\\s*<${reasoningTag}>`), '').trim(),
  };
}

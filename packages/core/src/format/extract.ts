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
 */
export function extractAnswer(completion: string, format: AnswerFormat): ExtractedAnswer {
  const reasoningTag = escapeRegExp(format.reasoningTag);
  const answerTag = escapeRegExp(format.answerTag);
  const wellFormed = new RegExp(
    `^\\s*<${reasoningTag}>[\\s\\S]*?</${reasoningTag}>\\s*<${answerTag}>[\\s\\S]*?</${answerTag}>`,
  ).test(completion);
  const reasoningMatch = new RegExp(`<${reasoningTag}>([\\s\\S]*?)</${reasoningTag}>`).exec(completion);
  const answers = [...completion.matchAll(new RegExp(`<${answerTag}>([\\s\\S]*?)</${answerTag}>`, 'g'))];
  let answer: string | undefined = answers.at(-1)?.[1];
  if (answer === undefined) {
    const open = completion.lastIndexOf(`<${format.answerTag}>`);
    if (open !== -1) answer = completion.slice(open + format.answerTag.length + 2);
  }
  const trimmed = answer?.trim();
  return {
    wellFormed,
    answer: trimmed === undefined || trimmed.length === 0 ? undefined : trimmed,
    reasoning: reasoningMatch?.[1]?.trim(),
  };
}

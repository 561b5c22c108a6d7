import { ConfigError } from '../errors/errors.js';
import { extractAnswer, extractFencedBlocks, type FencedBlock } from '../format/extract.js';
import { renderTemplate } from '../format/template.js';
import type { AnswerFormat } from '../spec/answer-format.js';
import type { ExecutionFailure } from '../spec/executor.js';
import type { InputOutputPair, TaskBase } from '../spec/task.js';
import type { TaskLanguage } from '../spec/task-language.js';
import type { ParseResult, ProposeContext } from '../spec/task-mode.js';
import type { PromptFrame } from './frame.js';
import { LANGUAGE_SYNTAX } from './language.js';
import { canonicalToLiteral } from './literal.js';
import { TEMPLATE_EXAMPLES } from './templates.js';

/** The program block of an answer: the first block in the language (or with no info string). */
export function programBlock(
  blocks: readonly FencedBlock[],
  language: TaskLanguage,
): FencedBlock | undefined {
  const syntax = LANGUAGE_SYNTAX[language];
  const names = [syntax.fence, ...syntax.fenceAliases];
  return (
    blocks.find((block) => names.includes(block.language)) ?? blocks.find((block) => block.language === '')
  );
}

/**
 * Parses the answer block of a completion, or says why there is none. The completion continues the prompt that
 * `frame` built, so it is read as if the frame's opened text (the R1 frame's `<think>`) preceded it.
 */
export function answerOf(
  completion: string,
  format: AnswerFormat,
  frame: PromptFrame,
):
  | { readonly ok: true; readonly answer: string; readonly wellFormed: boolean }
  | { readonly ok: false; readonly reason: string; readonly wellFormed: boolean } {
  const extracted = extractAnswer(completion, format, { completionPrefix: frame.completionPrefix(format) });
  if (extracted.answer === undefined) {
    return { ok: false, reason: `no <${format.answerTag}> block`, wellFormed: extracted.wellFormed };
  }
  return { ok: true, answer: extracted.answer, wellFormed: extracted.wellFormed };
}

/** Reads a program and one input block, as deduction and abduction proposals carry them. */
export function parseProgramAndInput(
  completion: string,
  context: ProposeContext,
  frame: PromptFrame,
): ParseResult<{ readonly program: string; readonly input: string }> {
  const answer = answerOf(completion, context.format, frame);
  if (!answer.ok) return answer;
  const blocks = extractFencedBlocks(answer.answer);
  const program = programBlock(blocks, context.language);
  if (program === undefined || program.body.trim().length === 0) {
    return {
      ok: false,
      reason: `no \`\`\`${LANGUAGE_SYNTAX[context.language].fence} block`,
      wellFormed: answer.wellFormed,
    };
  }
  const input = blocks.find((block) => block.language === 'input');
  if (input === undefined) {
    return { ok: false, reason: 'no ```input block', wellFormed: answer.wellFormed };
  }
  return {
    ok: true,
    value: { program: program.body, input: input.body.trim() },
    wellFormed: answer.wellFormed,
  };
}

/**
 * Reads a literal answer: the body of the first fenced block named `blockName` (the solve prompts ask for an
 * ```` ```output ```` or an ```` ```input ```` block), else of the first fenced block, else the whole answer.
 */
export function literalAnswer(answer: string, blockName?: string): string {
  const blocks = extractFencedBlocks(answer);
  const block = blocks.find((item) => item.language === blockName) ?? blocks[0];
  return (block?.body ?? answer).trim();
}

/** Shows a (program, input, output) reference's blocks: a code block, then its input and output blocks. */
export function formatReference(reference: TaskBase, language: TaskLanguage): string {
  const fence = LANGUAGE_SYNTAX[language].fence;
  const withPair = reference as TaskBase & Partial<InputOutputPair>;
  const parts = [`\`\`\`${fence}\n${reference.program}\n\`\`\``];
  if (typeof withPair.input === 'string' && typeof withPair.output === 'string') {
    parts.push(
      `\`\`\`input\n${withPair.input}\n\`\`\``,
      `\`\`\`output\n${canonicalToLiteral(withPair.output, language)}\n\`\`\``,
    );
  }
  return parts.join('\n');
}

/** Shows references as the propose prompts do: numbered `<snippet_i>` blocks, from 0. */
export function formatReferences(references: readonly TaskBase[], language: TaskLanguage): string {
  return references
    .map(
      (reference, index) =>
        `<snippet_${index}>\n${formatReference(reference, language)}\n</snippet_${index}>`,
    )
    .join('\n\n');
}

/** Fills a propose template with the values every mode provides. */
export function renderPropose(
  template: string,
  context: ProposeContext,
  extra: Readonly<Record<string, string>> = {},
): string {
  const syntax = LANGUAGE_SYNTAX[context.language];
  return renderTemplate(template, {
    language: syntax.displayName,
    fence: syntax.fence,
    references: formatReferences(context.references, context.language),
    bannedWords: context.bannedWords.join(', '),
    reasoningTag: context.format.reasoningTag,
    answerTag: context.format.answerTag,
    exampleProgram: TEMPLATE_EXAMPLES[context.language].exampleProgram,
    exampleInput: TEMPLATE_EXAMPLES[context.language].exampleInput,
    ...extra,
  });
}

/** A mode's name from its settings: a non-empty string, or the default. */
export function modeNameOf(name: unknown, fallback: string): string {
  if (name === undefined) return fallback;
  if (typeof name !== 'string' || name.trim().length === 0 || name !== name.trim())
    throw new ConfigError(
      `name must be a non-empty string without surrounding spaces; got ${JSON.stringify(name)}.`,
      {
        field: 'name',
      },
    );
  return name;
}

/** Describes an executor failure for a report. */
export function describeFailure(error: ExecutionFailure): string {
  return `${error.kind}: ${error.message}`;
}

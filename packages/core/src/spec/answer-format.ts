/**
 * How a completion is laid out: a reasoning block, then an answer block. The defaults are the paper's R1
 * format, `<think>...</think><answer>...</answer>`.
 */
export interface AnswerFormat {
  /** Tag name of the reasoning block. Default `think`. */
  readonly reasoningTag: string;
  /** Tag name of the answer block. Default `answer`. */
  readonly answerTag: string;
}

/** The result of checking and extracting an answer from a completion. Never thrown: parsers return it. */
export interface ExtractedAnswer {
  /** Whether the completion follows the format (a reasoning block followed by an answer block). */
  readonly wellFormed: boolean;
  /** The text of the last answer block (or a fallback extraction), trimmed; `undefined` when nothing was found. */
  readonly answer: string | undefined;
  /** The reasoning text, when present. */
  readonly reasoning: string | undefined;
}

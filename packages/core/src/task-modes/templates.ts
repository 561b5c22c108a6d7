/** The prompt templates of a task mode. `{{name}}` placeholders are filled by the mode. */
export interface TaskModeTemplates {
  /** The prompt that asks for a new task. */
  readonly propose: string;
  /** The prompt that asks for the hidden part of a task. */
  readonly solve: string;
}

const FORMAT =
  'Reason step by step inside <{{reasoningTag}}></{{reasoningTag}}>, then give your answer inside ' +
  '<{{answerTag}}></{{answerTag}}>.';

/** Placeholders every propose template may use. */
export const PROPOSE_PLACEHOLDERS = [
  'language',
  'fence',
  'references',
  'bannedWords',
  'reasoningTag',
  'answerTag',
] as const;

export const DEDUCTION_TEMPLATES: TaskModeTemplates = {
  propose: `Write a new {{language}} function named f and one input for it. Make it different from these examples, and make its output hard to predict without reasoning.

{{references}}

The function must be deterministic and must not use: {{bannedWords}}.
${FORMAT} The answer holds the function in a \`\`\`{{fence}} block and the arguments of the call in an \`\`\`input block.`,
  solve: `Predict what this {{language}} function returns for the given input.

\`\`\`{{fence}}
{{program}}
\`\`\`
\`\`\`input
{{input}}
\`\`\`

${FORMAT} The answer is only the returned value, written as a {{language}} literal.`,
};

export const ABDUCTION_TEMPLATES: TaskModeTemplates = {
  propose: `Write a new {{language}} function named f and one input for it. Make it different from these examples, and make the input hard to recover from the output.

{{references}}

The function must be deterministic and must not use: {{bannedWords}}.
${FORMAT} The answer holds the function in a \`\`\`{{fence}} block and the arguments of the call in an \`\`\`input block.`,
  solve: `Find an input for which this {{language}} function returns the given output.

\`\`\`{{fence}}
{{program}}
\`\`\`
\`\`\`output
{{output}}
\`\`\`

${FORMAT} The answer is only the arguments of the call, written in {{language}}, separated by commas.`,
};

export const INDUCTION_TEMPLATES: TaskModeTemplates = {
  propose: `Here is a {{language}} function:

\`\`\`{{fence}}
{{program}}
\`\`\`

Write {{count}} different inputs for it, each in its own \`\`\`input block, and a short message in a \`\`\`message block that tells someone who sees only the inputs and outputs what the function does, without showing its code.
${FORMAT}`,
  solve: `Write a {{language}} function named f that gives these outputs for these inputs.

{{pairs}}

Hint: {{message}}

${FORMAT} The answer holds the function in a \`\`\`{{fence}} block.`,
};

import type { TaskLanguage } from '../spec/task-language.js';

/**
 * The prompt templates of a task mode: the task text only, which the mode fills (`{{name}}` placeholders) and
 * then wraps in its frame (`frame` setting: the R1 conversation by default, see `R1_FRAME`).
 */
export interface TaskModeTemplates {
  /** The prompt that asks for a new task. */
  readonly propose: string;
  /** The prompt that asks for the hidden part of a task. */
  readonly solve: string;
}

/**
 * Placeholders a deduction or abduction propose template may use: the task language's name and code-fence
 * info string, the references (each as a numbered `<snippet_i>` block holding a code, an input and an output
 * block), the banned words (comma separated), the format's tag names, and a language's example program and
 * input for the `### Example Format:` section.
 */
export const PROPOSE_PLACEHOLDERS = [
  'language',
  'fence',
  'references',
  'bannedWords',
  'reasoningTag',
  'answerTag',
  'exampleProgram',
  'exampleInput',
] as const;

/**
 * Placeholders a deduction or abduction solve template may use: the task's program, its input and its output
 * (the hidden one is empty), and a language's example input and output for the answer's layout.
 */
export const SOLVE_PLACEHOLDERS = [
  'language',
  'fence',
  'program',
  'input',
  'output',
  'reasoningTag',
  'answerTag',
  'exampleInput',
  'exampleOutput',
] as const;

/** Placeholders an induction propose template may use: the propose ones, the program, and the input count. */
export const INDUCTION_PROPOSE_PLACEHOLDERS = [...PROPOSE_PLACEHOLDERS, 'program', 'count'] as const;

/**
 * Placeholders an induction solve template may use: the shown pairs (numbered `input_i` and `output_i`
 * blocks), the proposer's message, and a language's identity function as the example answer.
 */
export const INDUCTION_SOLVE_PLACEHOLDERS = [
  'language',
  'fence',
  'pairs',
  'message',
  'reasoningTag',
  'answerTag',
  'identityProgram',
] as const;

/**
 * The placeholders each template of each paper mode may use. A caller that loads templates from files checks
 * their text before making the modes, naming the file in the error:
 *
 * ```ts
 * const propose = checkTemplate(path, await readFile(path, 'utf8'), TEMPLATE_PLACEHOLDERS.deduction.propose);
 * const deduction = createDeductionMode({ templates: { propose } });
 * ```
 *
 * (The modes check their templates too, under the field names `templates.propose` and `templates.solve`.)
 */
export const TEMPLATE_PLACEHOLDERS = {
  deduction: { propose: PROPOSE_PLACEHOLDERS, solve: SOLVE_PLACEHOLDERS },
  abduction: { propose: PROPOSE_PLACEHOLDERS, solve: SOLVE_PLACEHOLDERS },
  induction: { propose: INDUCTION_PROPOSE_PLACEHOLDERS, solve: INDUCTION_SOLVE_PLACEHOLDERS },
} as const;

/** What the `example*` placeholders and `{{identityProgram}}` hold for one task language. */
export interface TemplateExamples {
  /** A two-argument `f` whose body is left to the reader, for `### Example Format:`. */
  readonly exampleProgram: string;
  /** An input for it: a string and a mapping, valid in both languages. */
  readonly exampleInput: string;
  /** An output written as the language writes a mapping literal. */
  readonly exampleOutput: string;
  /** The identity function, the example answer of induction's solve prompt. */
  readonly identityProgram: string;
}

const EXAMPLE_INPUT = "'John', {'age': 20, 'city': 'New York'}";

export const TEMPLATE_EXAMPLES: Readonly<Record<TaskLanguage, TemplateExamples>> = {
  python: {
    exampleProgram: 'def f(name, info):\n    # the steps of the computation go here\n    return result',
    exampleInput: EXAMPLE_INPUT,
    exampleOutput: "{'name': 'John', 'adult': True, 'letters': 4}",
    identityProgram: 'def f(a):\n    return a',
  },
  javascript: {
    exampleProgram:
      'function f(name, info) {\n  // the steps of the computation go here\n  return result;\n}',
    exampleInput: EXAMPLE_INPUT,
    exampleOutput: "{ name: 'John', adult: true, letters: 4 }",
    identityProgram: 'function f(a) {\n  return a;\n}',
  },
};

const FENCE = '```';

// The requirements on a program, shared by the propose prompts and induction's solve prompt (which drops the
// difficulty bullet, as the reference does). Unlike the reference's prompt, which invites nested helpers and
// classes that its own single-function rule then rejects, they ask for the one function the rule accepts.
function codeRequirements(withDifficulty: boolean): string {
  return [
    '- Define exactly one function, the entry function `f`: no helper functions, nested functions or methods (an inline lambda is fine)',
    '- `f` takes at least one argument and returns a value',
    '- `f` is deterministic: the same input always gives the same output',
    ...(withDifficulty
      ? ['- Working out the result should take several steps of reasoning that keep track of changing state']
      : []),
    '- No randomness, no date or time, no files or network, no printing, and no state from outside the snippet',
    '- The snippet must finish quickly, well within a second',
    '- Put any imports at the top of the snippet, before `f`',
    '- The snippet ends with `f` itself: write no call of `f` and no code after it',
  ].join('\n');
}

/** What differs between the deduction and the abduction propose prompts. */
interface ProgramInputProposeWording {
  /** What the test subject gets and must find. */
  readonly goal: string;
  /** The difficulty criterion. */
  readonly difficulty: string;
  /** What the plan should settle. */
  readonly plan: string;
}

function programInputPropose(wording: ProgramInputProposeWording): string {
  return `## Task: Write a {{language}} Code Snippet and One Input for It

Write a new {{language}} code snippet, with one input for it, that makes a good reasoning exercise. ${wording.goal} Think of it as an I.Q. test for programmers.

### Code Requirements:
${codeRequirements(true)}

### Input Requirements:
- Give exactly one input: the arguments of one call of \`f\`
- Separate several arguments with commas
- Write each argument as a {{language}} literal, with strings in quotes

### Formatting:
- Write the code in a ${FENCE}{{fence}} block
- Write the input in an ${FENCE}input block
- Put both blocks inside <{{answerTag}}> </{{answerTag}}>

### Example Format:
${FENCE}{{fence}}
{{exampleProgram}}
${FENCE}

${FENCE}input
{{exampleInput}}
${FENCE}

### Evaluation Criteria:
- Executability: the snippet runs on the input without an error
- Difficulty: ${wording.difficulty} Algorithms, data structures (stacks, queues, trees, graphs), recursion, nested loops and branches make good material
- Originality: the snippet clearly differs from the reference snippets below
- Banned keywords: none of these may appear anywhere in the snippet, in any form, not even in a comment: {{bannedWords}}

Before you write any code, plan ${wording.plan}

### Reference Code Snippets:
{{references}}`;
}

/** The deduction mode's prompts: the reference's sections (`## Task:`, requirements, references), in our words. */
export const DEDUCTION_TEMPLATES: TaskModeTemplates = {
  propose: programInputPropose({
    goal: 'A test subject will be given the snippet and the input, and will have to work out the output it returns.',
    difficulty:
      'the output should be hard to predict without tracing the code step by step, yet possible to work out.',
    plan: 'what `f` will compute and what will make its output hard to predict.',
  }),
  solve: `# Task: Work Out the Output of a {{language}} Code Snippet for a Given Input

Below are a {{language}} code snippet and an input for it. Reason step by step about what the snippet computes, then give the value that \`f\` returns for this input, as a ${FENCE}output block inside <{{answerTag}}> </{{answerTag}}>. Write the value as a {{language}} literal: put strings in quotes, and when \`f\` returns several values, write the one tuple or array that holds them.

# Code Snippet:
${FENCE}{{fence}}
{{program}}
${FENCE}

# Input:
${FENCE}input
{{input}}
${FENCE}

# Example Output:
${FENCE}output
{{exampleOutput}}
${FENCE}`,
};

/** The abduction mode's prompts: the reference's sections, in our words. */
export const ABDUCTION_TEMPLATES: TaskModeTemplates = {
  propose: programInputPropose({
    goal: 'A test subject will be given the snippet and the output it returns, and will have to find an input that gives that output.',
    difficulty:
      'an input that gives the output should be hard to recover from the output alone, yet possible to find.',
    plan: 'what `f` will compute and what will make an input hard to recover from its output.',
  }),
  solve: `# Task: Find an Input for Which a {{language}} Code Snippet Gives a Given Output

Below are a {{language}} code snippet and an output it returned. Reason step by step about how that output can arise, then give one input for which \`f\` returns exactly this output (any such input is accepted), as an ${FENCE}input block inside <{{answerTag}}> </{{answerTag}}>. Write the arguments as {{language}} literals, with strings in quotes and several arguments separated by commas.

# Code Snippet:
${FENCE}{{fence}}
{{program}}
${FENCE}

# Output:
${FENCE}output
{{output}}
${FENCE}

# Output Format:
${FENCE}input
first_argument, second_argument, ...
${FENCE}

# Example Output:
${FENCE}input
{{exampleInput}}
${FENCE}`,
};

/**
 * The line that follows induction's program in its propose prompt: the call that the proposer's inputs go
 * into. A structural marker (the reference's), not wording.
 */
export const INDUCTION_CALL_LINE = 'f(<|YOUR INPUT WILL BE PLUGGED HERE|>)';

/** The induction mode's prompts: the reference's sections, in our words. */
export const INDUCTION_TEMPLATES: TaskModeTemplates = {
  propose: `## Task: Write {{count}} Inputs and a Message for a {{language}} Code Snippet

Write {{count}} inputs for the {{language}} code snippet below, chosen so that the outputs they give differ from one another, and a message about the snippet. A test subject will be shown some of your inputs with the outputs they give, and your message, and will have to work out the function from them; the message may help them do it.

### Input Requirements:
- Write {{count}} inputs, each in its own ${FENCE}input block
- Each input holds the arguments of one call of \`f\`, separated by commas, written as {{language}} literals with strings in quotes

### Message Requirements:
- Write the message in a ${FENCE}message block
- It may take any form: a hint, a description of what the snippet does, even a programming exercise that the snippet solves
- It must not contain the code

### Formatting:
- Put the input blocks and the message block inside <{{answerTag}}> </{{answerTag}}>

### Example Format:
${FENCE}input
{{exampleInput}}
${FENCE}
${FENCE}input
'Maria', {'age': 41, 'city': 'Lisbon'}
${FENCE}
${FENCE}message
Work out what the function reports about a person from the name and the details given.
${FENCE}

### Evaluation Criteria:
- Executability: the snippet runs on every input without an error
- Coverage: together, the inputs reach the different cases the snippet handles
- Diversity: the inputs clearly differ from one another
- Difficulty: working out the function from the pairs and the message should be challenging but possible

Before you write the inputs, plan which cases of the snippet they should reach and what the message should say.

### Code Snippet:
${FENCE}{{fence}}
{{program}}
${INDUCTION_CALL_LINE}
${FENCE}`,
  solve: `# Task: Write the {{language}} Function Behind Some Input and Output Pairs

Below are some inputs of a function, the outputs it returns for them, and a message about it. Reason step by step to find a general function that gives these outputs for these inputs. It will be run on further inputs that you are not shown and must give their outputs too, so capture the rule, not just these pairs. Write it as a ${FENCE}{{fence}} block inside <{{answerTag}}> </{{answerTag}}>.

# Code Requirements:
${codeRequirements(false)}

# Input and Output Pairs:
{{pairs}}

# Message:
${FENCE}message
{{message}}
${FENCE}

# Example Output:
${FENCE}{{fence}}
{{identityProgram}}
${FENCE}

Remember: the function must be named \`f\`.`,
};

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/errors.js';
import { checkTemplate } from '../format/template.js';
import { createSolverReward } from '../rewards/rewards.js';
import { DEFAULT_ANSWER_FORMAT } from '../settings/defaults.js';
import type { TaskLanguage } from '../spec/task-language.js';
import type { ProposeContext } from '../spec/task-mode.js';
import { MockExecutor } from '../test/mock-executor.js';
import { createAbductionMode } from './abduction.js';
import { createDeductionMode } from './deduction.js';
import { r1Instruction } from './frame.js';
import { createInductionMode } from './induction.js';
import { LANGUAGE_SYNTAX } from './language.js';
import { zeroInductionTask, zeroTriplet } from './seeds.js';
import { literalAnswer } from './shared.js';
import type { ProgramInputTask } from './tasks.js';
import {
  ABDUCTION_TEMPLATES,
  DEDUCTION_TEMPLATES,
  INDUCTION_CALL_LINE,
  INDUCTION_TEMPLATES,
  TEMPLATE_PLACEHOLDERS,
} from './templates.js';

const format = DEFAULT_ANSWER_FORMAT;
const executor = new MockExecutor();
const reward = createSolverReward();

/** The reference's sections of each prompt, in order (AZR-REFERENCE.md section 2). */
const PROGRAM_INPUT_PROPOSE_SECTIONS = [
  '## Task:',
  '### Code Requirements:',
  '### Input Requirements:',
  '### Formatting:',
  '### Example Format:',
  '### Evaluation Criteria:',
  'Before you write any code, plan',
  '### Reference Code Snippets:',
  '<snippet_0>',
];
const SECTIONS = {
  deductionPropose: PROGRAM_INPUT_PROPOSE_SECTIONS,
  abductionPropose: PROGRAM_INPUT_PROPOSE_SECTIONS,
  inductionPropose: [
    '## Task:',
    '### Input Requirements:',
    '### Message Requirements:',
    '### Formatting:',
    '### Example Format:',
    '### Evaluation Criteria:',
    'Before you write the inputs, plan',
    '### Code Snippet:',
    INDUCTION_CALL_LINE,
  ],
  deductionSolve: ['# Task:', '# Code Snippet:', '# Input:', '# Example Output:'],
  abductionSolve: ['# Task:', '# Code Snippet:', '# Output:', '# Output Format:', '# Example Output:'],
  inductionSolve: [
    '# Task:',
    '# Code Requirements:',
    '# Input and Output Pairs:',
    '# Message:',
    '# Example Output:',
    'Remember: the function must be named `f`.',
  ],
};

/** Where each heading starts a line (or the user's turn), in order; -1 for one that is missing or misplaced. */
function sectionPositions(prompt: string, headings: readonly string[]): number[] {
  const positions: number[] = [];
  let from = 0;
  for (const heading of headings) {
    const escaped = heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const match = new RegExp(`(?:^|\\n|User: )${escaped}`).exec(prompt.slice(from));
    if (match === null) {
      positions.push(-1);
      continue;
    }
    const position = from + match.index + match[0].length - heading.length;
    positions.push(position);
    from = position + heading.length;
  }
  return positions;
}

function expectSections(prompt: string, headings: readonly string[]): void {
  const positions = sectionPositions(prompt, headings);
  expect(
    headings.filter((_, index) => positions[index] === -1),
    'sections missing or out of order',
  ).toEqual([]);
  // Every section lies inside the user's turn of the R1 frame.
  expect(prompt.startsWith(`${r1Instruction(format)}\nUser: `)).toBe(true);
  expect(prompt.endsWith('\nAssistant: <think>')).toBe(true);
}

function proposeContext(
  mode: 'deduction' | 'abduction',
  language: TaskLanguage,
  programs: readonly string[],
): ProposeContext {
  return {
    language,
    references: programs.map((program, index) => ({
      ...zeroTriplet(mode, language),
      program,
      input: String(index + 1),
      output: String(index + 1) as ProgramInputTask['output'],
    })),
    bannedWords: LANGUAGE_SYNTAX[language].bannedWords,
    format,
  };
}

const JS_PROGRAMS = [
  'function f(a) {\n  return a + 1;\n}',
  'function f(a) {\n  return a * 2;\n}',
  'function f(a) {\n  return [a];\n}',
];
const PY_PROGRAMS = ['def f(a):\n    return a + 1', 'def f(a):\n    return a * 2'];

describe('the section check', () => {
  it('finds headings at the start of a line, in order only', () => {
    const prompt = '# Task: x\n# Input:\ny\n# Example Output:\nz';
    expect(sectionPositions(prompt, ['# Task:', '# Input:', '# Example Output:'])).toEqual([0, 10, 21]);
    expect(sectionPositions(prompt, ['# Input:', '# Task:'])).toEqual([10, -1]);
    expect(sectionPositions(prompt, ['Input:'])).toEqual([-1]);
  });
});

describe('the propose templates', () => {
  for (const [name, create] of [
    ['deduction', createDeductionMode],
    ['abduction', createAbductionMode],
  ] as const) {
    it(`${name}: the reference's sections in order, the banned words, and numbered <snippet_i> references`, () => {
      const prompt = create().buildProposePrompt(proposeContext(name, 'javascript', JS_PROGRAMS));
      expectSections(prompt, SECTIONS[`${name}Propose`]);
      const criteria = prompt.slice(prompt.indexOf('### Evaluation Criteria:'), prompt.indexOf('Before you'));
      for (const word of LANGUAGE_SYNTAX.javascript.bannedWords) expect(criteria).toContain(word);
      expect(criteria).toContain('in any form, not even in a comment');
      for (const [index, program] of JS_PROGRAMS.entries()) {
        expect(prompt).toContain(
          `<snippet_${index}>\n\`\`\`javascript\n${program}\n\`\`\`\n\`\`\`input\n${index + 1}\n\`\`\`\n\`\`\`output\n${index + 1}\n\`\`\`\n</snippet_${index}>`,
        );
      }
      expect(prompt).not.toContain('<snippet_3>');
      expect(prompt).not.toMatch(/\{\{\w+\}\}/);
    });
  }

  it('speak the task language: Python fences, names and banned words', () => {
    const prompt = createDeductionMode().buildProposePrompt(
      proposeContext('deduction', 'python', PY_PROGRAMS),
    );
    expect(prompt).toContain('## Task: Write a Python Code Snippet');
    expect(prompt).toContain('```python\ndef f(name, info):');
    expect(prompt).toContain("```input\n'John', {'age': 20, 'city': 'New York'}\n```");
    expect(prompt).toContain('<snippet_1>\n```python\ndef f(a):\n    return a * 2\n```');
    expect(prompt).toContain('hashlib, hmac, bcrypt');
  });

  it('deduction asks for a hard output, abduction for a hard input', () => {
    const context = proposeContext('deduction', 'javascript', JS_PROGRAMS);
    expect(createDeductionMode().buildProposePrompt(context)).toContain('output should be hard to predict');
    expect(createAbductionMode().buildProposePrompt(context)).toContain('hard to recover from the output');
  });

  it('induction: its sections, and the program followed by the placeholder call', () => {
    const program = 'function f(n) {\n  return n * 2;\n}';
    const prompt = createInductionMode().buildProposePrompt({
      ...proposeContext('deduction', 'javascript', [program]),
    });
    expectSections(prompt, SECTIONS.inductionPropose);
    expect(prompt).toContain(
      `### Code Snippet:\n\`\`\`javascript\n${program}\n${INDUCTION_CALL_LINE}\n\`\`\``,
    );
    expect(INDUCTION_CALL_LINE).toBe('f(<|YOUR INPUT WILL BE PLUGGED HERE|>)');
    expect(prompt).toContain('Write 10 inputs');
    expect(prompt).toContain('```message');
    expect(
      createInductionMode({ inputCount: 4 }).buildProposePrompt(
        proposeContext('deduction', 'javascript', [program]),
      ),
    ).toContain('Write 4 inputs');
  });
});

describe('the solve templates', () => {
  it("deduction: the reference's sections, the input shown, the answer asked in an output block", () => {
    const task = { ...zeroTriplet('deduction', 'python'), input: "'abc'", output: '"abc"' as never };
    const prompt = createDeductionMode().buildSolvePrompt(task, { format });
    expectSections(prompt, SECTIONS.deductionSolve);
    expect(prompt).toContain("# Input:\n```input\n'abc'\n```");
    expect(prompt).toContain('```output block inside <answer> </answer>');
    expect(prompt).toContain("# Example Output:\n```output\n{'name': 'John'");
  });

  it("abduction: the reference's sections, the output shown, the answer asked in an input block", () => {
    const prompt = createAbductionMode().buildSolvePrompt(zeroTriplet('abduction', 'javascript'), { format });
    expectSections(prompt, SECTIONS.abductionSolve);
    expect(prompt).toContain('# Output:\n```output\n"Hello world"\n```');
    expect(prompt).toContain('```input block inside <answer> </answer>');
    expect(prompt).not.toContain("'Hello world'");
  });

  it('induction: numbered input_i / output_i blocks of the shown pairs only, the message, and the reminder', () => {
    const task = zeroInductionTask('python');
    const prompt = createInductionMode().buildSolvePrompt(task, { format });
    expectSections(prompt, SECTIONS.inductionSolve);
    expect(prompt).toContain(
      '```input_0\n\'Hello world\'\n```\n```output_0\n"Hello world"\n```\n\n```input_1\n42\n```\n```output_1\n42\n```\n\n```input_2\n[1, 2, 3]\n```\n```output_2\n[1, 2, 3]\n```',
    );
    expect(prompt).not.toContain('input_3');
    expect(prompt).not.toContain("'abc'");
    expect(prompt).toContain(`# Message:\n\`\`\`message\n${task.message}\n\`\`\``);
    expect(prompt).toContain('# Example Output:\n```python\ndef f(a):\n    return a\n```');
    // The solver's requirements are the proposer's, less the one on difficulty.
    expect(prompt).toContain('- `f` is deterministic');
    expect(prompt).not.toContain('several steps of reasoning');
  });
});

describe('templates as data', () => {
  it('every default template uses only the placeholders its kind allows', () => {
    const defaults = {
      deduction: DEDUCTION_TEMPLATES,
      abduction: ABDUCTION_TEMPLATES,
      induction: INDUCTION_TEMPLATES,
    };
    for (const [mode, templates] of Object.entries(defaults) as [
      keyof typeof defaults,
      typeof DEDUCTION_TEMPLATES,
    ][]) {
      for (const kind of ['propose', 'solve'] as const) {
        expect(checkTemplate(`${mode}.${kind}`, templates[kind], TEMPLATE_PLACEHOLDERS[mode][kind])).toBe(
          templates[kind],
        );
      }
    }
  });

  it("checks a template file's text against its kind's placeholders, naming the file", () => {
    const text = 'Say what f returns.\n```{{fence}}\n{{program}}\n```\n{{input}}';
    expect(checkTemplate('prompts/solve.txt', text, TEMPLATE_PLACEHOLDERS.deduction.solve)).toBe(text);
    expect(() =>
      checkTemplate('prompts/solve.txt', `${text} {{pairs}}`, TEMPLATE_PLACEHOLDERS.deduction.solve),
    ).toThrow(/prompts\/solve\.txt uses the placeholder \{\{pairs\}\}/);
    expect(() => checkTemplate('prompts/solve.txt', '  ', TEMPLATE_PLACEHOLDERS.induction.solve)).toThrow(
      ConfigError,
    );
  });

  it('an override replaces the task text, and the frame still wraps it', () => {
    const mode = createDeductionMode({ templates: { solve: 'What is f({{input}})?' } });
    const prompt = mode.buildSolvePrompt(zeroTriplet('deduction', 'javascript'), { format });
    expect(prompt).toContain("\nUser: What is f('Hello world')?\nAssistant: <think>");
    expect(
      createDeductionMode({ frame: 'none', templates: { solve: 'What is f({{input}})?' } }).buildSolvePrompt(
        zeroTriplet('deduction', 'javascript'),
        { format },
      ),
    ).toBe("What is f('Hello world')?");
  });
});

describe('answers', () => {
  it('are read from the block the solve prompt asks for, else the first block, else the whole answer', () => {
    expect(literalAnswer('```input\n1\n```\n```output\n2\n```', 'output')).toBe('2');
    expect(literalAnswer('```output\n2\n```\n```input\n1\n```', 'input')).toBe('1');
    expect(literalAnswer('```\n3\n```', 'output')).toBe('3');
    expect(literalAnswer(' 4 ', 'output')).toBe('4');
  });
});

/**
 * Replies written as a capable model writes them inside the R1 frame: the prompt ended with `Assistant:
 * <think>`, so the completion continues the reasoning, closes it, and answers in the fenced block asked for.
 */
describe('replies inside the R1 frame', () => {
  const reply = (reasoning: string, answer: string) =>
    `${reasoning}\n</think>\n<answer>\n${answer}\n</answer>`;
  const context = proposeContext('deduction', 'javascript', JS_PROGRAMS);

  it('deduction: a proposal becomes a task, and the right output is well formed, correct and rewarded 1', async () => {
    const mode = createDeductionMode();
    const proposal = mode.parseProposal(
      reply(
        'I want a loop that keeps a running state, so the output takes some tracing.',
        '```javascript\nfunction f(xs) {\n  let total = 0;\n  for (const x of xs) total = total * 2 + x;\n  return total;\n}\n```\n```input\n[1, 0, 1, 1]\n```',
      ),
      context,
    );
    expect(proposal).toMatchObject({ ok: true, wellFormed: true, value: { input: '[1, 0, 1, 1]' } });
    if (!proposal.ok) return;
    const validated = await mode.validateProposal(proposal.value, executor, {
      language: 'javascript',
      step: 1,
    });
    expect(validated).toMatchObject({ ok: true, task: { output: '11' } });
    if (!validated.ok) return;
    const task = validated.task;
    expect(mode.buildSolvePrompt(task, { format }).endsWith('Assistant: <think>')).toBe(true);

    const right = mode.parseAnswer(
      reply(
        'Let me trace f on [1, 0, 1, 1]. total starts at 0; then 0*2+1 = 1, 1*2+0 = 2, 2*2+1 = 5, 5*2+1 = 11.',
        '```output\n11\n```',
      ),
      task,
      { format },
    );
    expect(right).toEqual({ ok: true, value: '11', wellFormed: true });
    if (!right.ok) return;
    const verdict = await mode.checkAnswer(task, right.value, executor);
    expect(verdict).toEqual({ correct: true });
    expect(reward([{ wellFormed: right.wellFormed, correct: verdict.correct }])).toEqual([1]);

    const wrong = mode.parseAnswer(reply('I guess.', '```output\n12\n```'), task, { format });
    expect(wrong).toMatchObject({ ok: true, wellFormed: true });
    if (!wrong.ok) return;
    const wrongVerdict = await mode.checkAnswer(task, wrong.value, executor);
    expect(reward([{ wellFormed: true, correct: wrongVerdict.correct }])).toEqual([-0.5]);
  });

  it('abduction: any input that gives the output is well formed, correct and rewarded 1', async () => {
    const mode = createAbductionMode();
    const validated = await mode.validateProposal(
      { program: 'function f(s, n) {\n  return s.repeat(n).length;\n}', input: '"ab", 3' },
      executor,
      { language: 'javascript', step: 1 },
    );
    expect(validated).toMatchObject({ ok: true, task: { output: '6' } });
    if (!validated.ok) return;
    const task = validated.task;
    const answer = mode.parseAnswer(
      reply('The length is the string length times n, so 6 = 3 * 2 works.', '```input\n"abc", 2\n```'),
      task,
      { format },
    );
    expect(answer).toEqual({ ok: true, value: '"abc", 2', wellFormed: true });
    if (!answer.ok) return;
    const verdict = await mode.checkAnswer(task, answer.value, executor);
    expect(verdict).toEqual({ correct: true });
    expect(reward([{ wellFormed: answer.wellFormed, correct: verdict.correct }])).toEqual([1]);
  });

  it('induction: inputs and a message become a task, and a general f is well formed, correct and rewarded 1', async () => {
    const mode = createInductionMode({ inputCount: 6 });
    const program = 'function f(n) {\n  return n * n - 1;\n}';
    const inductionContext = proposeContext('deduction', 'javascript', [program]);
    const inputs = ['0', '1', '2', '3', '5', '10'];
    const proposal = mode.parseProposal(
      reply(
        'Small and larger numbers show the square; zero shows the offset.',
        `${inputs.map((input) => `\`\`\`input\n${input}\n\`\`\``).join('\n')}\n\`\`\`message\nSquares, shifted a little.\n\`\`\``,
      ),
      inductionContext,
    );
    expect(proposal).toMatchObject({ ok: true, wellFormed: true, value: { inputs } });
    if (!proposal.ok) return;
    const validated = await mode.validateProposal(proposal.value, executor, {
      language: 'javascript',
      step: 1,
    });
    expect(validated).toMatchObject({ ok: true, task: { shownCount: 3 } });
    if (!validated.ok) return;
    const task = validated.task;
    expect(mode.buildSolvePrompt(task, { format })).toContain('```input_2\n2\n```\n```output_2\n3\n```');
    const answer = mode.parseAnswer(
      reply(
        '0 -> -1, 1 -> 0, 2 -> 3: each output is the square of the input minus one.',
        '```javascript\nfunction f(n) {\n  return n ** 2 - 1;\n}\n```',
      ),
      task,
      { format },
    );
    expect(answer).toEqual({ ok: true, value: 'function f(n) {\n  return n ** 2 - 1;\n}', wellFormed: true });
    if (!answer.ok) return;
    const verdict = await mode.checkAnswer(task, answer.value, executor);
    expect(verdict).toEqual({ correct: true });
    expect(reward([{ wellFormed: answer.wellFormed, correct: verdict.correct }])).toEqual([1]);
  });

  it('a reply that breaks the format is not well formed, and is rewarded as malformed even when right', async () => {
    const deduction = createDeductionMode();
    const task = zeroTriplet('deduction', 'javascript');
    const broken = [
      // The answer without closing the reasoning the prompt opened.
      '<answer>\n```output\n"Hello world"\n```\n</answer>',
      // Reasoning closed, but no answer block.
      'It returns its argument.</think>\n```output\n"Hello world"\n```',
      // Text between the reasoning and the answer.
      'It returns its argument.</think>\nSo:\n<answer>\n```output\n"Hello world"\n```\n</answer>',
      // No tags at all.
      'The output is "Hello world".',
    ];
    for (const completion of broken) {
      const answer = deduction.parseAnswer(completion, task, { format });
      expect(answer.wellFormed, completion).toBe(false);
      const correct = answer.ok && (await deduction.checkAnswer(task, answer.value, executor)).correct;
      expect(reward([{ wellFormed: answer.wellFormed, correct }])).toEqual([-1]);
    }
    const proposal = createInductionMode().parseProposal(
      'Some inputs: ```input\n1\n```',
      proposeContext('deduction', 'javascript', JS_PROGRAMS),
    );
    expect(proposal).toMatchObject({ ok: false, wellFormed: false });
  });
});

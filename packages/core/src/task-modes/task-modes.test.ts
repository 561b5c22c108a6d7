import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER_FORMAT } from '../settings/defaults.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import type { ProposeContext } from '../spec/task-mode.js';
import { MockExecutor } from '../test/mock-executor.js';
import { createAbductionMode } from './abduction.js';
import { createDeductionMode } from './deduction.js';
import { createInductionMode } from './induction.js';
import { LANGUAGE_SYNTAX } from './language.js';
import { canonicalToLiteral } from './literal.js';
import { zeroTriplet } from './seeds.js';

const format = DEFAULT_ANSWER_FORMAT;
const context = (mode: 'deduction' | 'abduction'): ProposeContext => ({
  language: 'javascript',
  references: [zeroTriplet(mode, 'javascript')],
  bannedWords: LANGUAGE_SYNTAX.javascript.bannedWords,
  format,
});
const executor = new MockExecutor();

const PROPOSAL =
  '<think>reverse it</think><answer>\n```javascript\nfunction f(s) {\n  return s.split("").reverse().join("");\n}\n```\n```input\n"abc"\n```\n</answer>';

describe('deduction', () => {
  const mode = createDeductionMode();

  it('shows the references and the rules in its propose prompt', () => {
    const prompt = mode.buildProposePrompt(context('deduction'));
    expect(prompt).toContain('function f(a) {');
    expect(prompt).toContain("```input\n'Hello world'\n```");
    expect(prompt).toContain('```output\n"Hello world"\n```');
    expect(prompt).toContain('Math.random');
    expect(prompt).toContain('<think> </think>');
    expect(prompt.endsWith('Assistant: <think>')).toBe(true);
  });

  it('turns a proposal into a task with its gold output, then checks answers by value', async () => {
    const parsed = mode.parseProposal(PROPOSAL, context('deduction'));
    expect(parsed).toMatchObject({ ok: true, wellFormed: true, value: { input: '"abc"' } });
    if (!parsed.ok) return;
    const validated = await mode.validateProposal(parsed.value, executor, {
      language: 'javascript',
      step: 3,
    });
    expect(validated).toMatchObject({
      ok: true,
      task: { mode: 'deduction', output: '"cba"', step: 3, entry: 'f' },
    });
    if (!validated.ok) return;
    const task = validated.task;
    expect(mode.buildSolvePrompt(task, { format })).toContain('"abc"');
    const answer = mode.parseAnswer('<think>...</think><answer>"cba"</answer>', task, { format });
    expect(answer).toEqual({ ok: true, value: '"cba"', wellFormed: true });
    expect(await mode.checkAnswer(task, "'cba'", executor)).toEqual({ correct: true });
    expect(await mode.checkAnswer(task, '"abc"', executor)).toMatchObject({ correct: false });
    expect(await mode.checkAnswer(task, 'f("abc")', executor)).toMatchObject({ correct: false });
  });

  it('rejects proposals that do not run, or that are not deterministic', async () => {
    const broken = await mode.validateProposal(
      { program: 'function f(a) { return a +; }', input: '1' },
      executor,
      { language: 'javascript', step: 1 },
    );
    expect(broken).toMatchObject({ ok: false, reason: expect.stringContaining('syntax') });
    const random = await mode.validateProposal(
      { program: 'function f() { return Math.random(); }', input: '' },
      executor,
      { language: 'javascript', step: 1 },
    );
    expect(random.ok).toBe(false);
    const wrongLanguage = await mode.validateProposal(
      { program: 'def f(a):\n    return a', input: '1' },
      executor,
      { language: 'python', step: 1 },
    );
    expect(wrongLanguage).toMatchObject({
      ok: false,
      reason: expect.stringContaining('executor runs javascript'),
    });
  });

  it('says why a proposal does not parse', () => {
    expect(mode.parseProposal('no tags at all', context('deduction'))).toMatchObject({
      ok: false,
      wellFormed: false,
    });
    expect(
      mode.parseProposal('<think>x</think><answer>```input\n1\n```</answer>', context('deduction')),
    ).toMatchObject({ ok: false, reason: expect.stringContaining('javascript') });
    expect(
      mode.parseProposal(
        '<think>x</think><answer>```js\nfunction f() {}\n```</answer>',
        context('deduction'),
      ),
    ).toMatchObject({ ok: false, reason: 'no ```input block' });
  });

  it('refuses a template with a placeholder it does not fill', () => {
    expect(() => createDeductionMode({ templates: { solve: 'Predict {{outputs}}' } })).toThrow(
      /\{\{outputs\}\}/,
    );
  });
});

describe('abduction', () => {
  const mode = createAbductionMode();

  it('accepts any input that gives the gold output', async () => {
    const validated = await mode.validateProposal(
      { program: 'function f(n) {\n  return n % 3;\n}', input: '7' },
      executor,
      { language: 'javascript', step: 1 },
    );
    expect(validated).toMatchObject({ ok: true, task: { output: '1' } });
    if (!validated.ok) return;
    const task = validated.task;
    expect(mode.buildSolvePrompt(task, { format })).toContain('```output\n1\n```');
    expect(await mode.checkAnswer(task, '7', executor)).toEqual({ correct: true });
    expect(await mode.checkAnswer(task, '4', executor)).toEqual({ correct: true });
    expect(await mode.checkAnswer(task, '6', executor)).toMatchObject({
      correct: false,
      reason: expect.stringContaining('returned 0'),
    });
  });
});

describe('induction', () => {
  const mode = createInductionMode({ inputCount: 4 });
  const inductionContext: ProposeContext = {
    language: 'javascript',
    references: [
      { ...zeroTriplet('deduction', 'javascript'), program: 'function f(n) {\n  return n * 2;\n}' },
    ],
    bannedWords: [],
    format,
  };
  const completion = `<think>doubling</think><answer>${['1', '2', '3', '10'].map((input) => `\`\`\`input\n${input}\n\`\`\``).join('\n')}\n\`\`\`message\nIt doubles a number.\n\`\`\`</answer>`;

  it('builds a task from inputs and a message, shows half the pairs, and checks the held-out ones', async () => {
    expect(mode.buildProposePrompt(inductionContext)).toContain('return n * 2;');
    const parsed = mode.parseProposal(completion, inductionContext);
    expect(parsed).toMatchObject({
      ok: true,
      value: { inputs: ['1', '2', '3', '10'], message: 'It doubles a number.' },
    });
    if (!parsed.ok) return;
    const validated = await mode.validateProposal(parsed.value, executor, {
      language: 'javascript',
      step: 2,
    });
    expect(validated).toMatchObject({
      ok: true,
      task: { shownCount: 2, pairs: [{ output: '2' }, { output: '4' }, { output: '6' }, { output: '20' }] },
    });
    if (!validated.ok) return;
    const task = validated.task;
    const prompt = mode.buildSolvePrompt(task, { format });
    expect(prompt).toContain('It doubles a number.');
    expect(prompt).toContain('```input_1\n2\n```\n```output_1\n4\n```');
    expect(prompt).not.toContain('\n3\n```');
    const answer = mode.parseAnswer(
      '<think>x</think><answer>```javascript\nfunction f(x) { return x + x; }\n```</answer>',
      task,
      { format },
    );
    expect(answer).toMatchObject({ ok: true, value: 'function f(x) { return x + x; }' });
    expect(await mode.checkAnswer(task, 'function f(x) { return x + x; }', executor)).toEqual({
      correct: true,
    });
    // Right on the shown pairs only (1 -> 2, 2 -> 4), wrong on the held-out ones.
    expect(await mode.checkAnswer(task, 'function f(x) { return x * x - x + 2; }', executor)).toMatchObject({
      correct: false,
      reason: expect.stringContaining('returned 8, expected 6'),
    });
  });

  it('requires enough inputs and a message that does not give the program away', async () => {
    expect(
      mode.parseProposal(
        '<think>x</think><answer>```input\n1\n```\n```message\nm\n```</answer>',
        inductionContext,
      ),
    ).toMatchObject({ ok: false, reason: '1 input blocks, 4 needed' });
    const leaky = await mode.validateProposal(
      {
        program: 'function f(n) {\n  return n * 2;\n}',
        inputs: ['1', '2', '3', '4'],
        message: 'It is function f(n) {\n  return n * 2;\n}',
      },
      executor,
      { language: 'javascript', step: 1 },
    );
    expect(leaky).toEqual({ ok: false, reason: 'the message contains the program' });
  });
});

describe('parsers', () => {
  it('never throw on arbitrary model text', () => {
    const modes = [createDeductionMode(), createAbductionMode(), createInductionMode()];
    const task = zeroTriplet('deduction', 'javascript');
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.constantFrom('javascript', 'python' as const),
        (text, language) => {
          for (const mode of modes) {
            const proposal = mode.parseProposal(text, {
              language,
              references: [task],
              bannedWords: [],
              format,
            });
            const answer = (mode.parseAnswer as (c: string, t: unknown, x: unknown) => { ok: boolean })(
              text,
              { ...task, pairs: [], shownCount: 1, message: '' },
              { format },
            );
            expect(typeof proposal.ok).toBe('boolean');
            expect(typeof answer.ok).toBe('boolean');
          }
        },
      ),
      { numRuns: 500, seed: 3 },
    );
  });

  it('never throw on text shaped like an answer', () => {
    const shaped = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '<think>',
            '</think>',
            '<answer>',
            '</answer>',
            '```',
            '```input\n',
            '```python\n',
            '```message\n',
            '\n',
          ),
          fc.string(),
        ),
        { maxLength: 12 },
      )
      .map((parts) => parts.join(''));
    const mode = createInductionMode();
    fc.assert(
      fc.property(shaped, (text) => {
        expect(
          typeof mode.parseProposal(text, {
            language: 'python',
            references: [zeroTriplet('deduction', 'python')],
            bannedWords: [],
            format,
          }).ok,
        ).toBe('boolean');
        expect(
          typeof createDeductionMode().parseProposal(text, {
            language: 'python',
            references: [],
            bannedWords: [],
            format,
          }).ok,
        ).toBe('boolean');
      }),
      { numRuns: 500, seed: 4 },
    );
  });
});

describe('canonicalToLiteral', () => {
  it('writes canonical values as literals of each language', () => {
    const value = 'Map{"a"=>Tuple[1,2.5],"b"=>Set[NaN]}' as CanonicalValue;
    expect(canonicalToLiteral(value, 'python')).toBe(`{"a": (1, 2.5), "b": {float('nan')}}`);
    expect(canonicalToLiteral('{"a":[1,null,-0]}' as CanonicalValue, 'javascript')).toBe(
      '{ "a": [1, null, -0] }',
    );
    expect(canonicalToLiteral('Tuple[1]' as CanonicalValue, 'python')).toBe('(1,)');
    expect(canonicalToLiteral('Point{"x":1}' as CanonicalValue, 'javascript')).toBe('Point{"x":1}');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER_FORMAT } from '../settings/defaults.js';
import { extractAnswer, extractFencedBlocks } from './extract.js';

const format = DEFAULT_ANSWER_FORMAT;

describe('extractAnswer', () => {
  it('accepts a reasoning block then an answer block, and takes the last answer', () => {
    expect(extractAnswer('<think>f doubles</think>\n<answer> 4 </answer>', format)).toEqual({
      wellFormed: true,
      answer: '4',
      reasoning: 'f doubles',
    });
    expect(
      extractAnswer('  <think>a</think><answer>1</answer> then <answer>2</answer> trailing', format),
    ).toMatchObject({ wellFormed: true, answer: '2' });
  });

  it('flags the format breaks that drive the penalty', () => {
    expect(extractAnswer('<answer>4</answer>', format)).toMatchObject({ wellFormed: false, answer: '4' });
    expect(extractAnswer('intro <think>a</think><answer>4</answer>', format)).toMatchObject({
      wellFormed: false,
      answer: '4',
    });
    expect(extractAnswer('<think>a</think> no answer', format)).toMatchObject({
      wellFormed: false,
      answer: undefined,
    });
    expect(extractAnswer('<think>a</think><answer>4', format)).toMatchObject({
      wellFormed: false,
      answer: '4',
    });
    expect(extractAnswer('<think>a</think><answer>  </answer>', format)).toMatchObject({
      wellFormed: true,
      answer: undefined,
    });
  });

  it("checks a completion as if the prompt's opened text preceded it", () => {
    const options = { completionPrefix: '<think>' };
    expect(extractAnswer('a</think>\n<answer>1</answer>', format, options)).toEqual({
      wellFormed: true,
      answer: '1',
      reasoning: 'a',
    });
    expect(extractAnswer('a</think>\n<answer>1</answer>', format)).toMatchObject({
      wellFormed: false,
      answer: '1',
    });
    expect(extractAnswer('<answer>1</answer>', format, options)).toMatchObject({ wellFormed: false });
  });

  it('works with other tags, including ones with regular-expression characters', () => {
    expect(extractAnswer('<r.*>x</r.*><a+>y</a+>', { reasoningTag: 'r.*', answerTag: 'a+' })).toMatchObject({
      wellFormed: true,
      answer: 'y',
    });
  });

  it('never throws, whatever the text and tags', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        (text, reasoningTag, answerTag) => {
          const result = extractAnswer(text, { reasoningTag, answerTag });
          expect(typeof result.wellFormed).toBe('boolean');
          extractFencedBlocks(text);
        },
      ),
      { numRuns: 1000, seed: 1 },
    );
  });
});

describe('extractFencedBlocks', () => {
  it('finds complete blocks with their info strings', () => {
    expect(
      extractFencedBlocks('```python\ndef f(a):\n    return a\n```\ntext\n```input\n1\n```\n```unclosed\nx'),
    ).toEqual([
      { language: 'python', body: 'def f(a):\n    return a' },
      { language: 'input', body: '1' },
    ]);
  });
});

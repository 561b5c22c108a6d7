import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/errors.js';
import { extractAnswer } from '../format/extract.js';
import { DEFAULT_ANSWER_FORMAT } from '../settings/defaults.js';
import type { AnswerFormat } from '../spec/answer-format.js';
import { createDeductionMode } from './deduction.js';
import {
  type ChatMessage,
  createChatTemplateFrame,
  NO_FRAME,
  R1_FRAME,
  r1Instruction,
  resolvePromptFrame,
} from './frame.js';
import { LANGUAGE_SYNTAX } from './language.js';
import { zeroTriplet } from './seeds.js';

const format = DEFAULT_ANSWER_FORMAT;

describe('the R1 frame', () => {
  it('puts the task after a paragraph on the format and ends inside an opened think block', () => {
    const prompt = R1_FRAME.wrap('Add 2 and 3.', format);
    expect(prompt.startsWith(r1Instruction(format))).toBe(true);
    expect(r1Instruction(format)).toContain('<think> </think>');
    expect(r1Instruction(format)).toContain('<answer> </answer>');
    expect(prompt).toContain('\nUser: Add 2 and 3.\nAssistant: <think>');
    expect(prompt.endsWith('Assistant: <think>')).toBe(true);
    expect(R1_FRAME.completionPrefix(format)).toBe('<think>');
  });

  it("uses the answer format's tag names", () => {
    const tags: AnswerFormat = { reasoningTag: 'reason', answerTag: 'final' };
    const prompt = R1_FRAME.wrap('x', tags);
    expect(prompt).toContain('<reason> </reason>');
    expect(prompt).toContain('<final> </final>');
    expect(prompt).not.toContain('think');
    expect(prompt.endsWith('Assistant: <reason>')).toBe(true);
    expect(R1_FRAME.completionPrefix(tags)).toBe('<reason>');
  });

  it('reads a completion that continues the opened block as well formed, and one that breaks it as not', () => {
    const prefix = { completionPrefix: R1_FRAME.completionPrefix(format) };
    expect(extractAnswer('2 plus 3 is 5.</think>\n<answer>5</answer>', format, prefix)).toEqual({
      wellFormed: true,
      answer: '5',
      reasoning: '2 plus 3 is 5.',
    });
    // A model that opens the block again writes one block, not a nested one.
    expect(extractAnswer('<think>five</think><answer>5</answer>', format, prefix)).toEqual({
      wellFormed: true,
      answer: '5',
      reasoning: 'five',
    });
    expect(extractAnswer('<answer>5</answer>', format, prefix)).toMatchObject({ wellFormed: false });
    expect(extractAnswer('five</think> 5', format, prefix)).toMatchObject({ wellFormed: false });
    // Without the frame's prefix, the continuing completion lacks its opening tag.
    expect(extractAnswer('five</think><answer>5</answer>', format)).toMatchObject({ wellFormed: false });
  });
});

describe('the other frames', () => {
  it('none: the task text as it is, and the completion opens its own block', () => {
    expect(NO_FRAME.wrap('Add 2 and 3.', format)).toBe('Add 2 and 3.');
    expect(NO_FRAME.completionPrefix(format)).toBe('');
  });

  it('chat template: the paragraph as a system message, the task as the user message, then <think>', () => {
    const seen: (readonly ChatMessage[])[] = [];
    const frame = createChatTemplateFrame({
      render: (messages) => {
        seen.push(messages);
        return `${messages.map((message) => `<|${message.role}|>${message.content}<|end|>`).join('')}<|assistant|>`;
      },
    });
    expect(frame.wrap('Add 2 and 3.', format)).toBe(
      `<|system|>${r1Instruction(format)}<|end|><|user|>Add 2 and 3.<|end|><|assistant|><think>`,
    );
    expect(seen[0]).toEqual([
      { role: 'system', content: r1Instruction(format) },
      { role: 'user', content: 'Add 2 and 3.' },
    ]);
    expect(frame.completionPrefix(format)).toBe('<think>');

    const noSystem = createChatTemplateFrame({
      render: (messages) => JSON.stringify(messages),
      instruction: 'user',
      openReasoning: false,
    });
    expect(JSON.parse(noSystem.wrap('Add 2 and 3.', format))).toEqual([
      { role: 'user', content: `${r1Instruction(format)}\n\nAdd 2 and 3.` },
    ]);
    expect(noSystem.completionPrefix(format)).toBe('');
  });

  it('refuses a chat template frame without a renderer, or with an unknown instruction place', () => {
    expect(() => createChatTemplateFrame({} as never)).toThrow(ConfigError);
    expect(() => createChatTemplateFrame({ render: () => '', instruction: 'assistant' as never })).toThrow(
      /"system", "user"/,
    );
  });
});

describe("the modes' frame setting", () => {
  const context = {
    language: 'javascript' as const,
    references: [zeroTriplet('deduction', 'javascript')],
    bannedWords: LANGUAGE_SYNTAX.javascript.bannedWords,
    format,
  };

  it('defaults to r1, and takes none or a frame object', () => {
    expect(resolvePromptFrame(undefined)).toBe(R1_FRAME);
    expect(resolvePromptFrame('none')).toBe(NO_FRAME);
    expect(createDeductionMode().buildProposePrompt(context).endsWith('Assistant: <think>')).toBe(true);
    expect(createDeductionMode({ frame: 'none' }).buildProposePrompt(context).startsWith('## Task:')).toBe(
      true,
    );
    const frame = createChatTemplateFrame({ render: (messages) => `[${messages.at(-1)?.content}]` });
    const mode = createDeductionMode({ frame });
    expect(mode.buildProposePrompt(context)).toMatch(/^\[## Task:[\s\S]*\]<think>$/);
    const task = zeroTriplet('deduction', 'javascript');
    expect(
      mode.parseAnswer(
        'It returns its argument.</think><answer>```output\n"Hello world"\n```</answer>',
        task,
        {
          format,
        },
      ),
    ).toEqual({ ok: true, value: '"Hello world"', wellFormed: true });
  });

  it('refuses an unknown frame with the allowed values', () => {
    expect(() => createDeductionMode({ frame: 'chat' as never })).toThrow(/"r1", "none"/);
    expect(() => createDeductionMode({ frame: { wrap: (text: string) => text } as never })).toThrow(
      ConfigError,
    );
  });

  it('reads completions under the frame it builds prompts with', () => {
    const task = zeroTriplet('deduction', 'javascript');
    const continuing = 'It returns its argument.</think>\n<answer>\n```output\n"Hello world"\n```\n</answer>';
    expect(createDeductionMode().parseAnswer(continuing, task, { format })).toMatchObject({
      wellFormed: true,
    });
    expect(createDeductionMode({ frame: 'none' }).parseAnswer(continuing, task, { format })).toMatchObject({
      wellFormed: false,
    });
    expect(
      createDeductionMode({ frame: 'none' }).parseAnswer(`<think>${continuing}`, task, { format }),
    ).toMatchObject({ wellFormed: true });
  });
});

import { describe, expect, it } from 'vitest';
import { createByteTokenizer } from './byte-tokenizer.js';

describe('byte tokenizer', () => {
  const tokenizer = createByteTokenizer();

  it('round-trips any text, multi-byte characters included', () => {
    for (const text of ['def f(a):\n    return a', 'héllo wörld ✓', '😀 emoji', '']) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    expect(tokenizer.encode('é')).toEqual([0xc3, 0xa9]);
  });

  it('drops end-of-sequence when decoding and gives per-token text', () => {
    expect(tokenizer.decode([...tokenizer.encode('ab'), tokenizer.endOfSequenceTokenId])).toBe('ab');
    expect(tokenizer.tokenText(97)).toBe('a');
    expect(tokenizer.tokenText(tokenizer.endOfSequenceTokenId)).toBe('');
  });

  it('refuses ids outside the vocabulary', () => {
    expect(() => tokenizer.decode([300])).toThrow(/outside/);
  });
});

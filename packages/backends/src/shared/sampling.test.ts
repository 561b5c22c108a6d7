import { ConfigError, createSeededRandom } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import { drawToken, temperedLogProbability } from './sampling.js';

/** The definition the sampler must agree with: natural-log softmax of `logits / temperature`, in doubles. */
function referenceLogSoftmax(logits: readonly number[], temperature: number): number[] {
  const scaled = logits.map((logit) => logit / temperature);
  const largest = Math.max(...scaled);
  const normalizer = largest + Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - largest), 0));
  return scaled.map((value) => value - normalizer);
}

/** Frequencies of `draws` tokens drawn from `logits` with a seeded stream. */
function frequencies(
  logits: Float32Array,
  draws: number,
  options: { topP?: number; allowed?: readonly number[]; temperature?: number } = {},
): number[] {
  const random = createSeededRandom(7);
  const counts = new Array<number>(logits.length).fill(0);
  for (let draw = 0; draw < draws; draw += 1) {
    const { token } = drawToken(logits, {
      temperature: options.temperature ?? 1,
      topP: options.topP ?? 1,
      greedy: false,
      allowed: options.allowed,
      uniform: () => random.nextFloat(),
    });
    counts[token] = (counts[token] as number) + 1;
  }
  return counts.map((count) => count / draws);
}

const FOUR = new Float32Array([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);

describe('drawToken', () => {
  it('records the tempered log probability over the whole vocabulary', () => {
    const random = createSeededRandom(3);
    const logits = new Float32Array(Array.from({ length: 300 }, () => (random.nextFloat() - 0.5) * 20));
    for (const temperature of [0.3, 1, 2.5]) {
      const reference = referenceLogSoftmax([...logits], temperature);
      for (const greedy of [false, true]) {
        const { token, logProb } = drawToken(logits, {
          temperature,
          topP: 1,
          greedy,
          allowed: [5, 17, 250],
          uniform: () => random.nextFloat(),
        });
        expect([5, 17, 250]).toContain(token);
        expect(logProb).toBeCloseTo(reference[token] as number, 12);
        expect(temperedLogProbability(logits, temperature, token)).toBe(logProb);
      }
    }
  });

  it('greedy takes the most probable allowed token, the lowest id on a tie, and draws no number', () => {
    const logits = new Float32Array([1, 3, 3, 2, 5]);
    const uniform = () => {
      throw new Error('greedy decoding drew a number');
    };
    const greedy = (allowed?: readonly number[]) =>
      drawToken(logits, { temperature: 1, topP: 1, greedy: true, allowed, uniform }).token;
    expect(greedy()).toBe(4);
    expect(greedy([0, 2, 1, 3])).toBe(1);
    expect(greedy([3, 0])).toBe(3);
  });

  it('samples in proportion to the softmax, within the allowed tokens', () => {
    const all = frequencies(FOUR, 40_000);
    [0.5, 0.3, 0.15, 0.05].forEach((probability, token) => {
      expect(Math.abs((all[token] as number) - probability)).toBeLessThan(0.01);
    });
    const allowed = frequencies(FOUR, 40_000, { allowed: [1, 3] });
    expect(allowed[0]).toBe(0);
    expect(allowed[2]).toBe(0);
    expect(Math.abs((allowed[1] as number) - 0.3 / 0.35)).toBeLessThan(0.01);
  });

  it('tempers before sampling', () => {
    // At temperature 2 the probabilities follow the square roots of the untempered ones.
    const roots = [0.5, 0.3, 0.15, 0.05].map(Math.sqrt);
    const total = roots.reduce((sum, value) => sum + value, 0);
    const tempered = frequencies(FOUR, 40_000, { temperature: 2 });
    roots.forEach((root, token) => {
      expect(Math.abs((tempered[token] as number) - root / total)).toBeLessThan(0.01);
    });
  });

  it('keeps the smallest nucleus that reaches topP and renormalises it', () => {
    // 0.5 < 0.7 <= 0.5 + 0.3: the nucleus is tokens 0 and 1.
    const nucleus = frequencies(FOUR, 40_000, { topP: 0.7 });
    expect(nucleus[2]).toBe(0);
    expect(nucleus[3]).toBe(0);
    expect(Math.abs((nucleus[0] as number) - 0.5 / 0.8)).toBeLessThan(0.01);
  });

  it('refuses a constraint that allows a token outside the vocabulary', () => {
    const draw = (greedy: boolean) =>
      drawToken(new Float32Array([0, 1, 2]), {
        temperature: 1,
        topP: 1,
        greedy,
        allowed: [1, 3],
        uniform: () => 0.5,
      });
    for (const greedy of [false, true]) expect(() => draw(greedy)).toThrow(ConfigError);
  });

  it('reads only the position it is given after a longer vocabulary', () => {
    const random = createSeededRandom(11);
    const long = new Float32Array(5000).fill(-1);
    long[4999] = 30;
    const draw = (logits: Float32Array) =>
      drawToken(logits, {
        temperature: 1,
        topP: 1,
        greedy: false,
        allowed: undefined,
        uniform: () => 0.999_999,
      });
    expect(draw(long).token).toBe(4999);
    const short = new Float32Array([0, 0, 0]);
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const { token, logProb } = drawToken(short, {
        temperature: 1,
        topP: 1,
        greedy: false,
        allowed: undefined,
        uniform: () => random.nextFloat(),
      });
      expect(token).toBeLessThan(3);
      expect(logProb).toBeCloseTo(Math.log(1 / 3), 12);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/errors.js';
import { createSeededRandom, restoreSeededRandom } from './seeded-random.js';

function draw(random: { nextFloat(): number }, count: number): number[] {
  return Array.from({ length: count }, () => random.nextFloat());
}

describe('seeded random', () => {
  it('gives the same sequence for the same seed and another one for another seed', () => {
    expect(draw(createSeededRandom(42), 20)).toEqual(draw(createSeededRandom(42), 20));
    expect(draw(createSeededRandom(42), 20)).not.toEqual(draw(createSeededRandom(43), 20));
    for (const value of draw(createSeededRandom(1), 1000)) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });

  it('restores a snapshot exactly, also through JSON', () => {
    const random = createSeededRandom(7);
    draw(random, 5);
    const snapshot = JSON.parse(JSON.stringify(random.snapshot()));
    const expected = draw(random, 10);
    expect(draw(restoreSeededRandom(snapshot), 10)).toEqual(expected);
  });

  it('draws integers in the closed range, uniformly enough to hit every value', () => {
    const random = createSeededRandom(3);
    const seen = new Set<number>();
    for (let index = 0; index < 600; index += 1) {
      const value = random.nextInt(-2, 3);
      expect(value).toBeGreaterThanOrEqual(-2);
      expect(value).toBeLessThanOrEqual(3);
      seen.add(value);
    }
    expect([...seen].sort()).toEqual([-1, -2, 0, 1, 2, 3]);
    expect(() => random.nextInt(3, 1)).toThrow(ConfigError);
  });

  it('forks an independent stream and moves the parent past it', () => {
    const parent = createSeededRandom(9);
    const child = parent.fork();
    expect(draw(child, 10)).not.toEqual(draw(parent, 10));
    const again = createSeededRandom(9);
    const againChild = again.fork();
    expect(draw(againChild, 10)).toEqual(draw(createSeededRandom(9).fork(), 10));
  });

  it('refuses bad seeds and foreign states with a ConfigError', () => {
    expect(() => createSeededRandom(1.5)).toThrow(ConfigError);
    expect(() => createSeededRandom(0).restore({ algorithm: 'mersenne', state: [] })).toThrow(
      /xoroshiro128plus/,
    );
  });
});

import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { type xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { ConfigError } from '../errors/errors.js';
import type { RandomSource, RandomState } from '../spec/random-source.js';

const ALGORITHM = 'xoroshiro128plus';

type Generator = ReturnType<typeof xoroshiro128plus>;

class SeededRandom implements RandomSource {
  #generator: Generator;

  constructor(generator: Generator) {
    this.#generator = generator;
  }

  nextFloat(): number {
    return uniformFloat64(this.#generator);
  }

  nextInt(minimum: number, maximum: number): number {
    if (!Number.isSafeInteger(minimum) || !Number.isSafeInteger(maximum) || minimum > maximum) {
      throw new ConfigError(
        `nextInt needs safe integers with minimum <= maximum, got ${minimum} and ${maximum}.`,
        {
          field: 'maximum',
        },
      );
    }
    return uniformInt(this.#generator, minimum, maximum);
  }

  snapshot(): RandomState {
    return { algorithm: ALGORITHM, state: [...this.#generator.getState()] };
  }

  restore(state: RandomState): void {
    if (state.algorithm !== ALGORITHM) {
      throw new ConfigError(
        `Cannot restore a "${state.algorithm}" random state into a ${ALGORITHM} generator.`,
        {
          field: 'algorithm',
          allowed: [ALGORITHM],
        },
      );
    }
    this.#generator = xoroshiro128plusFromState(state.state);
  }

  fork(): RandomSource {
    // A jump moves 2^64 draws ahead: the child's sequence cannot overlap what the parent draws next.
    const child = this.#generator.clone();
    child.jump();
    this.#generator.jump();
    this.#generator.jump();
    return new SeededRandom(child);
  }
}

/**
 * A seeded {@link RandomSource} (xoroshiro128+ from `pure-rand`). The same seed gives the same sequence on
 * every platform; `snapshot()` and `restore()` round-trip the exact state for checkpoints.
 */
/** MurmurHash3's 32-bit finalizer: every input bit affects every output bit. */
function mix32(value: number): number {
  let hash = value | 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) | 0;
}

export function createSeededRandom(seed: number): RandomSource {
  if (!Number.isSafeInteger(seed)) {
    throw new ConfigError(`A seed must be a safe integer, got ${seed}.`, { field: 'seed' });
  }
  // xoroshiro128plus seeded directly with a small integer gives nearby seeds nearly equal first draws (seeds 7
  // and 8 both start at 0.99999...), and `seed | 0` drops the high bits. So the whole seed is hashed into the
  // four words of the state first: streams seeded with consecutive integers (one per prompt) are independent
  // from their first draw.
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const state = [
    mix32(low ^ 0x9e3779b9),
    mix32(high ^ 0x632be5ab),
    mix32((low + 0x85ebca6b) ^ mix32(high)),
    mix32((high + 0xc2b2ae35) ^ mix32(low)),
  ];
  if (!state.some((word) => word !== 0)) state[0] = 1;
  return new SeededRandom(xoroshiro128plusFromState(state) as Generator);
}

/** Brings back a generator from a {@link RandomState} (as written by `snapshot()`). */
export function restoreSeededRandom(state: RandomState): RandomSource {
  const random = createSeededRandom(0);
  random.restore(state);
  return random;
}

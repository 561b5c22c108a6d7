/**
 * A seeded source of randomness. Everything random in the SDK draws from one of these, injected, so that the
 * same seed gives the same run, and so that the state can be checkpointed and restored exactly.
 */
export interface RandomSource {
  /** A float uniform in `[0, 1)`. */
  nextFloat(): number;
  /** An integer uniform in `[minimum, maximum]` (both included). */
  nextInt(minimum: number, maximum: number): number;
  /** The generator's state, JSON-serialisable; {@link RandomSource.restore} brings it back. */
  snapshot(): RandomState;
  /** Replaces the state with one from {@link RandomSource.snapshot}. */
  restore(state: RandomState): void;
  /** An independent generator whose sequence does not overlap this one's, for a sub-task. */
  fork(): RandomSource;
}

/** Serialised state of a {@link RandomSource}. */
export interface RandomState {
  readonly algorithm: string;
  readonly state: readonly number[];
}

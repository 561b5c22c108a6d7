/**
 * Restricts which tokens may be sampled, step by step, so that every completion belongs to a language (for
 * example, a grammar of valid programs, or the answer format). The backend calls it once per sequence and
 * per generated token, so implementations keep their per-step work small.
 *
 * The state type is opaque to the backend. States must be immutable values: the backend may keep old ones
 * (for beam search, or to retry a step).
 */
export interface GenerationConstraintV1<State = unknown> {
  readonly specificationVersion: 'v1';
  /** Identifies the constraint in metrics and errors. */
  readonly constraintId: string;
  /** The state before the first generated token, given the prompt's text. */
  initialState(promptText: string): State;
  /**
   * The token ids allowed next, or `undefined` when every token is allowed. An empty array means that the
   * sequence must end: the backend then finishes it with reason `constraint`.
   */
  allowedTokenIds(state: State): readonly number[] | undefined;
  /** The state after `tokenId` was generated. The backend only calls it with an allowed token. */
  advance(state: State, tokenId: number): State;
  /** Whether the text so far is complete: if true, end-of-sequence is allowed in addition to the allowed ids. */
  isComplete(state: State): boolean;
}

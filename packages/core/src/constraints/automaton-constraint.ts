import { ConfigError } from '../errors/errors.js';
import type { GenerationConstraintV1 } from '../spec/generation-constraint.js';
import type { TokenizerV1 } from '../spec/tokenizer.js';

/**
 * A deterministic automaton over characters: the language a constraint keeps completions in. States are
 * immutable; `key` names a state so that the allowed tokens of each state are computed once.
 */
export interface CharacterAutomaton<State> {
  readonly start: State;
  /**
   * Optional: the start state for a prompt, when what may be generated depends on it (such as an answer that
   * must read the input when the prompt's examples differ). Without it, {@link start} for every prompt.
   */
  startFor?(promptText: string): State;
  /** The state after `character`, or `undefined` when the character is not allowed here. */
  step(state: State, character: string): State | undefined;
  /** Whether the text read so far is a complete word of the language. */
  accepting(state: State): boolean;
  /** A string that identifies the state (equal keys, equal futures). */
  key(state: State): string;
}

/** The state after reading `text`, or `undefined` when the automaton rejects it on the way. */
export function runAutomaton<State>(
  automaton: CharacterAutomaton<State>,
  text: string,
  from: State = automaton.start,
): State | undefined {
  let state: State | undefined = from;
  for (const character of text) {
    state = automaton.step(state, character);
    if (state === undefined) return undefined;
  }
  return state;
}

/** Whether `text` is a complete word of the automaton's language. */
export function automatonAccepts<State>(automaton: CharacterAutomaton<State>, text: string): boolean {
  const state = runAutomaton(automaton, text);
  return state !== undefined && automaton.accepting(state);
}

/**
 * A generation constraint from a character automaton and a tokenizer: a token is allowed when the automaton
 * reads the whole of its text from the current state (tokens with empty text, such as special tokens, never
 * are; end-of-sequence is allowed by the backend once the state is accepting). Works with any tokenizer,
 * byte-level or subword; the allowed list of each automaton state is computed once and cached.
 */
export function createAutomatonConstraint<State>(
  constraintId: string,
  automaton: CharacterAutomaton<State>,
  tokenizer: TokenizerV1,
): GenerationConstraintV1<State> {
  const texts: string[] = [];
  for (let id = 0; id < tokenizer.vocabularySize; id += 1) {
    texts.push(id === tokenizer.endOfSequenceTokenId ? '' : tokenizer.tokenText(id));
  }
  const cache = new Map<string, readonly number[]>();
  return {
    specificationVersion: 'v1',
    constraintId,
    initialState: (promptText: string) => automaton.startFor?.(promptText) ?? automaton.start,
    allowedTokenIds(state: State): readonly number[] {
      const key = automaton.key(state);
      let allowed = cache.get(key);
      if (allowed === undefined) {
        allowed = texts.flatMap((text, id) =>
          text.length > 0 && runAutomaton(automaton, text, state) !== undefined ? [id] : [],
        );
        cache.set(key, allowed);
      }
      return allowed;
    },
    advance(state: State, tokenId: number): State {
      const next = runAutomaton(automaton, texts[tokenId] ?? '', state);
      // The backend only advances with allowed tokens; anything else is a backend defect.
      if (next === undefined)
        throw new ConfigError(`Token ${tokenId} is not allowed by the constraint ${constraintId}.`, {
          field: 'tokenId',
        });
      return next;
    },
    isComplete: (state: State) => automaton.accepting(state),
  };
}

/** One message of a chat, as a tokenizer's chat template takes it. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/**
 * Turns text into token ids and back. Backends own a tokenizer (read from `tokenizer.json`, or the SDK's
 * built-in one for models trained from scratch) and expose it on the policy, so that the trainer can count
 * tokens and constraints can reason about token text.
 */
export interface TokenizerV1 {
  readonly specificationVersion: 'v1';
  /** Identifies the tokenizer, e.g. the path or name it was loaded from. */
  readonly tokenizerId: string;
  /** Number of token ids; every id is in `[0, vocabularySize)`. */
  readonly vocabularySize: number;
  /** The id that ends a sequence. Generation stops when it is sampled. */
  readonly endOfSequenceTokenId: number;
  /** The id put before every prompt, when the model expects one; `undefined` otherwise. */
  readonly beginningOfSequenceTokenId: number | undefined;
  /** The id used to pad batches. Padded positions are always masked out. */
  readonly paddingTokenId: number;
  /**
   * Encodes text to ids. Does not add special tokens: callers add the beginning-of-sequence id themselves
   * where the model expects it.
   */
  encode(text: string): number[];
  /**
   * Decodes ids to text. Special tokens are dropped. Decoding is the inverse of {@link TokenizerV1.encode} for
   * any text the tokenizer can represent.
   */
  decode(tokenIds: readonly number[]): string;
  /**
   * The text one token contributes when it follows other tokens (byte-level pieces are decoded; a token
   * that is part of a multi-byte character yields the replacement character). Used by constrained decoding
   * and by stop-string matching.
   */
  tokenText(tokenId: number): string;
  /**
   * Optional: renders messages with the model's chat template (an instruct checkpoint's `chat_template` in
   * `tokenizer_config.json`), ending with the generation prompt of the assistant's turn. Absent when the model
   * has no chat template (base models, which take plain text).
   */
  applyChatTemplate?(messages: readonly ChatMessage[]): string;
}

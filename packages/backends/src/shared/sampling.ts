import {
  assertNumberInRange,
  type Completion,
  ConfigError,
  createSeededRandom,
  type FinishReason,
  type GenerateRequest,
  type RandomSource,
  type TokenizerV1,
} from '@azr/core/spec';

/** Natural-log probabilities of `softmax(logits / temperature)`, computed in double precision. */
export function temperedLogSoftmax(logits: ArrayLike<number>, temperature: number): Float64Array {
  const result = new Float64Array(logits.length);
  let largest = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < logits.length; index += 1) {
    const value = (logits[index] as number) / temperature;
    result[index] = value;
    if (value > largest) largest = value;
  }
  let total = 0;
  for (let index = 0; index < result.length; index += 1)
    total += Math.exp((result[index] as number) - largest);
  const normalizer = largest + Math.log(total);
  for (let index = 0; index < result.length; index += 1)
    result[index] = (result[index] as number) - normalizer;
  return result;
}

/** The most probable of `allowed` (every token when undefined); the lowest id wins a tie. */
export function argmax(values: ArrayLike<number>, allowed: readonly number[] | undefined): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  const consider = (candidate: number) => {
    const value = values[candidate] as number;
    if (best === -1 || value > bestValue) {
      best = candidate;
      bestValue = value;
    }
  };
  if (allowed === undefined) for (let index = 0; index < values.length; index += 1) consider(index);
  else for (const candidate of allowed) consider(candidate);
  return best;
}

let scratch = new Float64Array(0);

/** A reused array of at least `count` entries (sampling runs once per token of every completion). */
function probabilityScratch(count: number): Float64Array {
  if (scratch.length < count) scratch = new Float64Array(count);
  return scratch;
}

/**
 * Nucleus sampling among `allowed` with one uniform draw: tokens sorted by probability (ties by id), the
 * smallest prefix whose mass reaches `topP` of the allowed mass is kept and renormalised. With `topP` 1 the
 * draw runs over the tokens in id order (the same distribution, without sorting the vocabulary).
 */
export function sampleToken(
  logProbabilities: ArrayLike<number>,
  allowed: readonly number[] | undefined,
  topP: number,
  uniform: number,
): number {
  if (topP >= 1) {
    // No nucleus to find: draw over the allowed tokens in id order, without sorting the vocabulary.
    // Each probability is computed once (the draw walks the same values the total was summed from).
    const count = allowed?.length ?? logProbabilities.length;
    const idAt = (position: number) => (allowed === undefined ? position : (allowed[position] as number));
    const probabilities = probabilityScratch(count);
    let total = 0;
    for (let position = 0; position < count; position += 1) {
      const probability = Math.exp(logProbabilities[idAt(position)] as number);
      probabilities[position] = probability;
      total += probability;
    }
    let threshold = uniform * total;
    for (let position = 0; position < count; position += 1) {
      threshold -= probabilities[position] as number;
      if (threshold < 0) return idAt(position);
    }
    return idAt(count - 1);
  }
  const ids = allowed ?? Array.from({ length: logProbabilities.length }, (_, index) => index);
  const candidates = ids
    .map((id) => ({ id, probability: Math.exp(logProbabilities[id] as number) }))
    .sort((left, right) => right.probability - left.probability || left.id - right.id);
  let kept = candidates.length;
  const total = candidates.reduce((sum, candidate) => sum + candidate.probability, 0);
  let cumulative = 0;
  for (const [index, candidate] of candidates.entries()) {
    cumulative += candidate.probability;
    if (cumulative >= topP * total) {
      kept = index + 1;
      break;
    }
  }
  const nucleus = candidates.slice(0, kept);
  let threshold = uniform * nucleus.reduce((sum, candidate) => sum + candidate.probability, 0);
  for (const candidate of nucleus) {
    threshold -= candidate.probability;
    if (threshold < 0) return candidate.id;
  }
  return (nucleus.at(-1) as { id: number }).id;
}

/** How a policy's model bounds its completions, beyond what the request asks. */
export interface CompletionLimits {
  /** Tokens this completion may have: the request's `maxTokens`, or fewer where the context leaves less room. */
  readonly maxTokens: number;
  /**
   * Ids that end the completion besides the tokenizer's end-of-sequence id: the `eos_token_id`s of the model
   * folder's `generation_config.json`. Sampling one ends it with `end-of-sequence`, the id kept as the last token.
   */
  readonly stopTokenIds?: ReadonlySet<number>;
}

/**
 * The decoding state of one completion, shared by every engine so that they sample alike: it turns each
 * position's logits into a token (greedy or seeded nucleus sampling, within the constraint's allowed tokens),
 * records the token's tempered log probability, and decides when the completion ends (end of sequence or one
 * of the model's stop ids, a stop string, the constraint, or the token budget). Under a constraint, a completion
 * whose word is complete and may not grow ends at once (`finishReason: 'constraint'`), without the forced
 * end-of-sequence token: a one-digit answer is one token and one run of the model. Prompt `i` of a request samples
 * from its own stream, seeded by the request's seed and `i`, so a completion does not depend on the other prompts
 * of its batch.
 */
export class CompletionDecoder {
  readonly promptTokenIds: readonly number[];
  private readonly tokenIds: number[] = [];
  private readonly logProbs: number[] = [];
  private readonly random: RandomSource;
  private readonly maxTokens: number;
  private readonly stopTokenIds: ReadonlySet<number> | undefined;
  private constraintState: unknown;
  private finishReason: FinishReason | undefined;

  constructor(
    private readonly tokenizer: TokenizerV1,
    private readonly request: GenerateRequest,
    prompt: string,
    promptIndex: number,
    promptTokenIds: readonly number[],
    limits: CompletionLimits = { maxTokens: request.maxTokens },
  ) {
    this.promptTokenIds = promptTokenIds;
    this.maxTokens = Math.min(limits.maxTokens, request.maxTokens);
    this.stopTokenIds = limits.stopTokenIds;
    this.random = createSeededRandom((request.seed * 1_000_003 + promptIndex) % Number.MAX_SAFE_INTEGER);
    this.constraintState = request.constraint?.initialState(prompt);
  }

  /** Whether the completion has ended. */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  /** Tokens generated so far. */
  get length(): number {
    return this.tokenIds.length;
  }

  /**
   * Chooses the next token from the logits of the last position (raw, untempered) and returns it, or returns
   * `undefined` when the constraint allows no token (the completion then ends without one).
   */
  next(logits: ArrayLike<number>): number | undefined {
    if (this.finishReason !== undefined) throw new Error('next() after the completion finished');
    const { request, tokenizer } = this;
    const logProbabilities = temperedLogSoftmax(logits, request.temperature);
    let allowed = request.constraint?.allowedTokenIds(this.constraintState);
    if (allowed !== undefined && request.constraint?.isComplete(this.constraintState))
      allowed = [...allowed, tokenizer.endOfSequenceTokenId];
    if (allowed !== undefined && allowed.length === 0) {
      this.finishReason = 'constraint';
      return undefined;
    }
    const token = request.greedy
      ? argmax(logProbabilities, allowed)
      : sampleToken(logProbabilities, allowed, request.topP, this.random.nextFloat());
    this.tokenIds.push(token);
    this.logProbs.push(logProbabilities[token] as number);
    if (token === tokenizer.endOfSequenceTokenId || this.stopTokenIds?.has(token) === true)
      this.finishReason = 'end-of-sequence';
    else {
      if (request.constraint !== undefined) {
        this.constraintState = request.constraint.advance(this.constraintState, token);
        // A complete word that nothing may extend ends here: the end-of-sequence token that would follow is the
        // constraint's choice, not the model's, so no run of the model is spent on it and it is not recorded.
        if (
          request.constraint.isComplete(this.constraintState) &&
          request.constraint.allowedTokenIds(this.constraintState)?.length === 0
        )
          this.finishReason = 'constraint';
      }
      if (request.stop !== undefined && request.stop.length > 0) {
        const text = tokenizer.decode(this.tokenIds);
        if (request.stop.some((stop) => text.includes(stop))) this.finishReason = 'stop';
      }
      if (this.finishReason === undefined && this.tokenIds.length >= this.maxTokens)
        this.finishReason = 'length';
    }
    return token;
  }

  /** The completion as the policy contract reports it. */
  completion(): Completion {
    return {
      text: this.tokenizer.decode(this.tokenIds),
      promptTokenIds: this.promptTokenIds,
      tokenIds: [...this.tokenIds],
      logProbs: [...this.logProbs],
      finishReason: this.finishReason ?? 'length',
    };
  }
}

/** The prompt's token ids as the model sees them: the beginning-of-sequence token first where the tokenizer uses one. */
export function encodePrompt(tokenizer: TokenizerV1, prompt: string): number[] {
  const ids = tokenizer.encode(prompt);
  return tokenizer.beginningOfSequenceTokenId === undefined
    ? ids
    : [tokenizer.beginningOfSequenceTokenId, ...ids];
}

/** Checks the sampling parameters of a generation request, with a `ConfigError` naming the field. */
export function assertGenerateRequest(request: GenerateRequest): void {
  assertNumberInRange('temperature', request.temperature, { minimum: Number.MIN_VALUE });
  assertNumberInRange('topP', request.topP, { minimum: Number.MIN_VALUE, maximum: 1 });
  assertNumberInRange('maxTokens', request.maxTokens, { minimum: 1, integer: true });
}

/**
 * Throws a `ConfigError` when a prompt and its completion would not fit in the model's positions. For scoring
 * given sequences; generation clamps its budget instead ({@link ContextClamp}).
 */
export function assertFitsContext(promptLength: number, maxTokens: number, maxSequenceLength: number): void {
  if (promptLength + maxTokens > maxSequenceLength) {
    throw new ConfigError(
      `The prompt (${promptLength} tokens) and maxTokens (${maxTokens}) exceed the model's ${maxSequenceLength} positions.`,
      { field: 'maxTokens' },
    );
  }
}

/** What bounds a policy's completions besides the request: its context, and its model's stop ids. */
export interface GenerationBounds {
  readonly clamp: ContextClamp;
  /** The `eos_token_id`s of the model folder's `generation_config.json`. */
  readonly stopTokenIds: ReadonlySet<number>;
}

/**
 * Fits each completion's token budget into the model's context, for one policy.
 *
 * Why the clamp lives here, in the engines' shared generation, rather than in the callers (the solve path,
 * the proposer, evaluation): only the engine knows exactly how long a prompt is as the model sees it (its
 * tokenizer, the beginning-of-sequence id), every caller of `doGenerate` gets the same behaviour without
 * re-tokenizing, and `maxTokens` stays what the contract says, an upper bound. A prompt that leaves room for
 * fewer tokens than asked generates what fits and ends with `finishReason: 'length'`, as a completion that
 * reached `maxTokens` does. That is said once per policy (a process warning, code `AZR_MAX_TOKENS_CLAMPED`),
 * not once per prompt: a suite of long prompts would otherwise print a line each. A prompt that leaves no room
 * at all is still a `ConfigError` naming its length and the model's.
 */
export class ContextClamp {
  private warned = false;

  constructor(
    private readonly modelId: string,
    private readonly maxSequenceLength: number,
    private readonly warn: (message: string) => void = (message) =>
      process.emitWarning(message, { code: 'AZR_MAX_TOKENS_CLAMPED' }),
  ) {}

  /** The completion budget of a prompt of `promptLength` tokens (beginning-of-sequence included). */
  budget(promptLength: number, maxTokens: number, promptIndex?: number): number {
    const room = this.maxSequenceLength - promptLength;
    if (room < 1) {
      const which = promptIndex === undefined ? 'The prompt' : `Prompt ${promptIndex}`;
      throw new ConfigError(
        `${which} (${promptLength} tokens) leaves no room to generate in ${this.modelId}'s ${this.maxSequenceLength} positions.`,
        { field: 'prompts' },
      );
    }
    if (room >= maxTokens) return maxTokens;
    if (!this.warned) {
      this.warned = true;
      this.warn(
        `A prompt of ${promptLength} tokens leaves room for ${room} of maxTokens ${maxTokens} in ${this.modelId}'s ${this.maxSequenceLength} positions: completions that do not fit end with finishReason 'length' (said once per policy).`,
      );
    }
    return room;
  }
}

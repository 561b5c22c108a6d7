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

/**
 * `exp(logit / temperature - largest)` of every token of the last position tempered (see {@link temper}), shared
 * by every decoder: sampling runs synchronously, one position at a time, and a vocabulary of 152k tokens would
 * otherwise allocate 1.2 MB per token of every completion.
 */
let exponentials = new Float64Array(0);

/**
 * Tempers one position's logits: leaves `exp(logit / temperature - largest)` of every token in
 * {@link exponentials} and returns the log normalizer, so that a token's natural-log probability under
 * `softmax(logits / temperature)` is `logit * (1 / temperature) - normalizer`, in double precision (every caller
 * tempers a logit with that product). One exponential per token.
 */
function temper(logits: ArrayLike<number>, temperature: number): number {
  const count = logits.length;
  if (exponentials.length < count) exponentials = new Float64Array(count);
  // A product is cheaper than a quotient in this loop, which runs over the vocabulary for every token.
  const inverse = 1 / temperature;
  let largest = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < count; index += 1) {
    const value = (logits[index] as number) * inverse;
    if (value > largest) largest = value;
  }
  let total = 0;
  for (let index = 0; index < count; index += 1) {
    const exponential = Math.exp((logits[index] as number) * inverse - largest);
    exponentials[index] = exponential;
    total += exponential;
  }
  return largest + Math.log(total);
}

/** The natural-log probability of `token` under `softmax(logits / temperature)`, in double precision. */
export function temperedLogProbability(
  logits: ArrayLike<number>,
  temperature: number,
  token: number,
): number {
  return (logits[token] as number) * (1 / temperature) - temper(logits, temperature);
}

/**
 * The most probable of `allowed` (every token when undefined) by its tempered log probability; the lowest id wins
 * a tie, whatever the order of `allowed`.
 */
function argmaxTempered(
  logits: ArrayLike<number>,
  temperature: number,
  normalizer: number,
  allowed: readonly number[] | undefined,
): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  const count = allowed?.length ?? logits.length;
  for (let position = 0; position < count; position += 1) {
    const candidate = allowed === undefined ? position : (allowed[position] as number);
    const value = (logits[candidate] as number) * (1 / temperature) - normalizer;
    if (best === -1 || value > bestValue || (value === bestValue && candidate < best)) {
      best = candidate;
      bestValue = value;
    }
  }
  return best;
}

/**
 * Nucleus sampling among `allowed` with one uniform draw, from `weights` proportional to the probabilities (the
 * tempered exponentials): tokens sorted by weight (ties by id), the smallest prefix whose weight reaches `topP` of
 * the allowed weight is kept and renormalised. With `topP` 1 the draw runs over the tokens in id order (the same
 * distribution, without sorting the vocabulary).
 */
function sampleFromWeights(
  weights: Float64Array,
  count: number,
  allowed: readonly number[] | undefined,
  topP: number,
  uniform: number,
): number {
  const size = allowed?.length ?? count;
  const idAt = (position: number) => (allowed === undefined ? position : (allowed[position] as number));
  if (topP >= 1) {
    let total = 0;
    for (let position = 0; position < size; position += 1) total += weights[idAt(position)] as number;
    let threshold = uniform * total;
    for (let position = 0; position < size; position += 1) {
      threshold -= weights[idAt(position)] as number;
      if (threshold < 0) return idAt(position);
    }
    return idAt(size - 1);
  }
  const candidates = Array.from({ length: size }, (_, position) => {
    const id = idAt(position);
    return { id, weight: weights[id] as number };
  }).sort((left, right) => right.weight - left.weight || left.id - right.id);
  const total = candidates.reduce((sum, candidate) => sum + candidate.weight, 0);
  let kept = candidates.length;
  let cumulative = 0;
  for (const [index, candidate] of candidates.entries()) {
    cumulative += candidate.weight;
    if (cumulative >= topP * total) {
      kept = index + 1;
      break;
    }
  }
  const nucleus = candidates.slice(0, kept);
  let threshold = uniform * nucleus.reduce((sum, candidate) => sum + candidate.weight, 0);
  for (const candidate of nucleus) {
    threshold -= candidate.weight;
    if (threshold < 0) return candidate.id;
  }
  return (nucleus.at(-1) as { id: number }).id;
}

/**
 * Draws a token as a completion does: `softmax(logits / temperature)` restricted to `allowed` (every token when
 * undefined) and to the `topP` nucleus, with one uniform draw in [0, 1); or the most probable allowed token when
 * `greedy`. Returns the token and its tempered log probability over the whole vocabulary (the constraint and the
 * nucleus do not renormalise it: it is what the learner's forward pass gives for that token).
 */
export function drawToken(
  logits: ArrayLike<number>,
  options: {
    readonly temperature: number;
    readonly topP: number;
    readonly greedy: boolean;
    readonly allowed: readonly number[] | undefined;
    readonly uniform: () => number;
  },
): { readonly token: number; readonly logProb: number } {
  const { allowed } = options;
  if (allowed !== undefined)
    for (const id of allowed)
      if (!Number.isInteger(id) || id < 0 || id >= logits.length)
        throw new ConfigError(
          `The constraint allows token ${id}, which is not in the model's ${logits.length}-token vocabulary.`,
          { field: 'constraint' },
        );
  const normalizer = temper(logits, options.temperature);
  const token = options.greedy
    ? argmaxTempered(logits, options.temperature, normalizer, options.allowed)
    : sampleFromWeights(exponentials, logits.length, options.allowed, options.topP, options.uniform());
  return { token, logProb: (logits[token] as number) * (1 / options.temperature) - normalizer };
}

/** The lowest temperature at which a decoder graph draws a completion's tokens (see `graphSampling`). */
export const GRAPH_SAMPLING_MIN_TEMPERATURE = 1e-20;

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

  /** Tokens it may still generate (0 once finished): each but the last is one more position for a cache. */
  get remaining(): number {
    return this.finishReason === undefined ? this.maxTokens - this.tokenIds.length : 0;
  }

  /**
   * Chooses the next token from the logits of the last position (raw, untempered) and returns it, or returns
   * `undefined` when the constraint allows no token (the completion then ends without one).
   */
  next(logits: ArrayLike<number>): number | undefined {
    if (this.finishReason !== undefined) throw new Error('next() after the completion finished');
    const { request, tokenizer } = this;
    let allowed = request.constraint?.allowedTokenIds(this.constraintState);
    if (allowed !== undefined && request.constraint?.isComplete(this.constraintState))
      allowed = [...allowed, tokenizer.endOfSequenceTokenId];
    if (allowed !== undefined && allowed.length === 0) {
      this.finishReason = 'constraint';
      return undefined;
    }
    const { token, logProb } = drawToken(logits, {
      temperature: request.temperature,
      topP: request.topP,
      greedy: request.greedy === true,
      allowed,
      uniform: () => this.random.nextFloat(),
    });
    this.record(token, logProb);
    return token;
  }

  /**
   * Whether a decoder graph that samples (`writeSampling`) may choose this completion's next token instead of
   * {@link next}: `'greedy'` or `'draw'` when the request has no constraint and a nucleus of 1 (the graph's draw
   * is {@link next}'s on the same uniform), `undefined` when the token must come from the logits. A temperature
   * below {@link GRAPH_SAMPLING_MIN_TEMPERATURE} samples from the logits too: the graph scales them by its
   * inverse in float32, which could overflow.
   */
  graphSampling(): 'greedy' | 'draw' | undefined {
    const { constraint, topP, temperature } = this.request;
    if (constraint !== undefined || topP < 1 || temperature < GRAPH_SAMPLING_MIN_TEMPERATURE)
      return undefined;
    return this.request.greedy === true ? 'greedy' : 'draw';
  }

  /**
   * The uniform draw of the next token, from this completion's stream, for a graph to draw it with (once per
   * token, as {@link next} draws it, so that the stream and the tokens are the same either way).
   */
  nextUniform(): number {
    return this.random.nextFloat();
  }

  /** Records the next token as a graph chose it ({@link graphSampling}), with its tempered log probability. */
  accept(token: number, logProb: number): void {
    if (this.finishReason !== undefined) throw new Error('accept() after the completion finished');
    this.record(token, logProb);
  }

  /** Appends a chosen token and decides whether the completion ends with it. */
  private record(token: number, logProb: number): void {
    const { request, tokenizer } = this;
    this.tokenIds.push(token);
    this.logProbs.push(logProb);
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

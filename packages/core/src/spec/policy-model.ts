import type { GenerationConstraintV1 } from './generation-constraint.js';
import type { TokenizerV1 } from './tokenizer.js';

/** What a policy model can do. The trainer checks these before it starts, not in the middle of a step. */
export interface PolicyCapabilities {
  /** Whether {@link PolicyModelV1.doTrainStep} updates weights. An imported ONNX graph only generates. */
  readonly training: boolean;
  /** Whether {@link GenerateRequest.constraint} is honoured. */
  readonly constrainedDecoding: boolean;
  /** The longest sequence (prompt plus completion, in tokens) the model accepts. */
  readonly maxSequenceLength: number;
  /**
   * `approximate` when {@link PolicyModelV1.doGenerate} samples from weights of lower precision than the
   * learner's (an onnx policy's int8 rollouts), so that a completion's log probabilities are close to, not equal
   * to, what {@link PolicyModelV1.doComputeLogProbs} gives. Such a policy corrects its update for the difference
   * itself (truncated importance sampling); when one step makes several updates, the trainer gives each sequence
   * its {@link TrainSequence.proximalLogProbs}. Default `exact`.
   */
  readonly rolloutLogProbs?: 'exact' | 'approximate';
}

/** Sampling parameters shared by generation and by the log-probability computations that must match it. */
export interface SamplingParameters {
  /**
   * Softmax temperature, `> 0`. Log probabilities are always reported under the tempered distribution
   * `softmax(logits / temperature)` (before top-p truncation), which is the distribution PPO's ratio is
   * taken against. Greedy decoding is `greedy: true`, not temperature 0.
   */
  readonly temperature: number;
  /** Nucleus sampling: sample among the smallest set of tokens whose probability reaches `topP`. `1` disables it. */
  readonly topP: number;
}

/** One call of {@link PolicyModelV1.doGenerate}: one completion per prompt. */
export interface GenerateRequest extends SamplingParameters {
  /** Prompts, already formatted with any chat template. */
  readonly prompts: readonly string[];
  /** Seed for sampling. The same seed, prompts, settings and weights give the same completions. */
  readonly seed: number;
  /** Take the most probable token at every step instead of sampling. Log probabilities are still reported. */
  readonly greedy?: boolean;
  /**
   * Upper bound on generated tokens per completion. A policy generates at most `capabilities.maxSequenceLength`
   * minus the prompt's length (in the model's tokens, beginning of sequence included): a completion that reaches
   * the model's context ends with `finishReason: 'length'`, as one that reaches `maxTokens` does. A prompt that
   * leaves no room for one token is refused with a `ConfigError` (field `prompts`).
   */
  readonly maxTokens: number;
  /**
   * Stop strings. Generation of a completion stops as soon as its text contains one of them; the stop string
   * is kept in the completion (answer blocks end with a closing tag that the parser needs).
   */
  readonly stop?: readonly string[];
  /** Restricts sampling to a language; only for policies with `capabilities.constrainedDecoding`. */
  readonly constraint?: GenerationConstraintV1;
  /** Aborts generation; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Why a completion ended. `length`: `maxTokens` or the model's context was reached; `end-of-sequence`: the
 * model sampled an end-of-sequence token (the tokenizer's, or a stop id of the checkpoint's); `stop`: a stop
 * string appeared; `constraint`: the request's constraint allows no further token (its word is complete and may
 * not grow, or no token continues it), so the completion ends without an end-of-sequence token.
 */
export type FinishReason = 'stop' | 'end-of-sequence' | 'length' | 'constraint';

/** One generated completion. Arrays are aligned: `logProbs[i]` belongs to `tokenIds[i]`. */
export interface Completion {
  /** The decoded completion text (without the prompt). */
  readonly text: string;
  /** The prompt's token ids, as the model saw them (beginning-of-sequence included where used). */
  readonly promptTokenIds: readonly number[];
  /** The generated token ids, end-of-sequence included when it was sampled. */
  readonly tokenIds: readonly number[];
  /** Natural-log probability of each generated token under the tempered distribution. Each is `<= 0`. */
  readonly logProbs: readonly number[];
  /** Why the completion ended. */
  readonly finishReason: FinishReason;
}

/** The result of {@link PolicyModelV1.doGenerate}: `completions[i]` answers `prompts[i]`. */
export interface GenerateResult {
  readonly completions: readonly Completion[];
  /** Wall time of the call, in milliseconds. */
  readonly durationMs: number;
}

/** A prompt and completion as token ids, for scoring and training. */
export interface TokenSequence {
  readonly promptTokenIds: readonly number[];
  readonly completionTokenIds: readonly number[];
}

/** One call of {@link PolicyModelV1.doComputeLogProbs}. */
export interface LogProbsRequest {
  readonly sequences: readonly TokenSequence[];
  /** Temperature of the distribution to score under. */
  readonly temperature: number;
}

/** Per-token log probabilities of each sequence's completion under the current weights. */
export interface LogProbsResult {
  /** `logProbs[i][t]` belongs to `sequences[i].completionTokenIds[t]`. */
  readonly logProbs: readonly (readonly number[])[];
}

/** One sequence of a policy-gradient update. */
export interface TrainSequence extends TokenSequence {
  /** Log probabilities of the completion tokens under the weights that generated them (aligned with the tokens). */
  readonly oldLogProbs: readonly number[];
  /**
   * The learner's log probabilities of the completion tokens before the step's first update
   * ({@link PolicyModelV1.doComputeLogProbs}), for a policy whose rollouts are `approximate`: the PPO ratio is
   * taken against these, and `oldLogProbs` (the rollout's) only weighs the correction. Omitted on the first
   * update after a generation, whose weights are still those: the policy then uses its own forward pass.
   */
  readonly proximalLogProbs?: readonly number[];
  /** Advantage of each completion token (aligned with the tokens). TRR++ gives one value per sequence, repeated. */
  readonly advantages: readonly number[];
  /** Which tokens count in the loss: `1` counts, `0` is ignored. Defaults to every completion token. */
  readonly lossMask?: readonly number[];
}

/** The policy-gradient objective. See the reference's section 5 (PPO-clip, token-mean, no KL). */
export interface PolicyLossSettings {
  /** PPO clip range epsilon: the ratio is clipped to `[1 - clipRatio, 1 + clipRatio]`. Default `0.2`. */
  readonly clipRatio: number;
  /** Weight of the entropy bonus subtracted from the loss. Default `0` (the reference's `paper` branch used 0.001). */
  readonly entropyCoefficient: number;
}

/** One call of {@link PolicyModelV1.doTrainStep}: one optimizer update over all sequences. */
export interface TrainBatch {
  readonly sequences: readonly TrainSequence[];
  /** Temperature the sequences were sampled with; new log probabilities are computed under the same one. */
  readonly temperature: number;
  readonly loss: PolicyLossSettings;
  readonly signal?: AbortSignal;
}

/** Statistics of one update. Losses are token means over the masked tokens of the batch. */
export interface TrainStepResult {
  /** The total loss that was minimised (policy loss minus the entropy bonus). */
  readonly loss: number;
  /** The clipped surrogate loss alone. */
  readonly policyLoss: number;
  /** Mean per-token entropy of the policy on the batch. */
  readonly entropy: number;
  /** Share of tokens whose ratio was clipped. */
  readonly clipFraction: number;
  /** Mean of `oldLogProb - newLogProb` (an estimate of the KL divergence from the old policy). */
  readonly approximateKl: number;
  /** Global gradient norm before clipping. */
  readonly gradientNorm: number;
  /**
   * With `approximate` rollouts: the mean importance weight `min(pi_learner / pi_rollout, cap)` over the counted
   * tokens, and the share of tokens whose weight was truncated to the cap.
   */
  readonly importanceWeightMean?: number;
  readonly truncatedFraction?: number;
  /** Number of tokens that counted in the loss. */
  readonly tokenCount: number;
  /** Wall time of the update, in milliseconds. */
  readonly durationMs: number;
}

/**
 * A language model that plays both roles of self-play: it generates completions with their log probabilities,
 * and learns from advantages with a policy-gradient update.
 *
 * Methods starting with `do` are called by the trainer, not by users; users create models through a backend's
 * factory (`createOnnxPolicy`, `createTfjsPolicy`, ...) and load saved ones the same way.
 *
 * Implementations must be deterministic given a seed (and a fixed thread count), must not leak memory across
 * calls, and must throw `AzrError`s: `UnsupportedCapabilityError` for an operation their capabilities
 * exclude, `ConfigError` for invalid arguments.
 */
export interface PolicyModelV1 {
  readonly specificationVersion: 'v1';
  /** Names the engine, e.g. `onnx`, `tfjs`, `hybrid`, `mock`. */
  readonly provider: string;
  /** Names the model, e.g. the directory it was loaded from or a preset name. */
  readonly modelId: string;
  readonly capabilities: PolicyCapabilities;
  readonly tokenizer: TokenizerV1;
  /** Generates one completion per prompt. */
  doGenerate(request: GenerateRequest): Promise<GenerateResult>;
  /** Scores given completions under the current weights (used to recompute old log probabilities). */
  doComputeLogProbs(request: LogProbsRequest): Promise<LogProbsResult>;
  /**
   * Applies one policy-gradient update (PPO-clip, token-mean) and returns its statistics. Throws
   * `UnsupportedCapabilityError` when `capabilities.training` is false.
   */
  doTrainStep(batch: TrainBatch): Promise<TrainStepResult>;
  /**
   * Writes everything needed to continue training into `directory` (weights, optimizer state, configuration,
   * tokenizer), which exists and is empty. The backend's factory loads it back. The trainer makes the write
   * atomic by writing into a temporary directory and renaming it.
   */
  doSave(directory: string): Promise<void>;
  /** Releases native memory, sessions and workers. Every later call throws. Calling it twice is harmless. */
  doDispose(): Promise<void>;
}

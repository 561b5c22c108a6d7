import type { AdvantageSettings } from '../advantages/estimators.js';
import type { EvictionPolicy } from '../buffers/task-buffer.js';
import { EVICTION_POLICIES } from '../buffers/task-buffer.js';
import {
  DEFAULT_ANSWER_FORMAT,
  DEFAULT_POLICY_LOSS_SETTINGS,
  DEFAULT_REWARD_SETTINGS,
  DEFAULT_SAMPLING_SETTINGS,
} from '../settings/defaults.js';
import { assertNumberInRange, assertOneOf } from '../settings/validate.js';
import type { AnswerFormat } from '../spec/answer-format.js';
import type { PolicyLossSettings } from '../spec/policy-model.js';
import {
  ADVANTAGE_ESTIMATOR_NAMES,
  type AdvantageEstimatorName,
  type RewardSettings,
  type SamplingSettings,
} from '../spec/settings.js';
import { TASK_LANGUAGES, type TaskLanguage } from '../spec/task-language.js';

/** Every {@link TrainerSettings.solveFrom}. */
export const SOLVE_FROMS = ['this-step', 'previous-step'] as const;
export type SolveFrom = (typeof SOLVE_FROMS)[number];

/** The seeding stage before step 1: see {@link TrainerSettings.seeding}. */
export interface SeedingSettings {
  /** Tasks each mode's buffer should hold before step 1. `0` (default): no seeding stage. The paper: 256. */
  readonly tasks: number;
  /**
   * Most rounds (each: every mode still short proposes `batchSize` tasks) before the stage gives up and the
   * run goes on with what it has, with a warning. Default `32`.
   */
  readonly maxRounds: number;
}

/** Every {@link TrainerSettings.solveSampling}. */
export const SOLVE_SAMPLINGS = ['newest', 'balanced'] as const;
export type SolveSampling = (typeof SOLVE_SAMPLINGS)[number];

/** Every {@link TrainerSettings.proposer}. */
export const PROPOSERS = ['model', 'random'] as const;
export type Proposer = (typeof PROPOSERS)[number];

/** Settings of the self-play trainer. Every field has a default; see each. */
export interface TrainerSettings {
  /** Seed of every random choice of the run. Default `0`. */
  readonly seed: number;
  /** Language of the programs. Default `javascript`. */
  readonly language: TaskLanguage;
  /** Proposals per mode per step, and solve tasks per mode per step. Default `8` (the paper: 64). */
  readonly batchSize: number;
  /**
   * Solver rollouts of each solve task (one group per task). The paper samples one answer per task; several
   * give a model that learns from zero more signal per task for little generation. Default `1`.
   */
  readonly solveRollouts: number;
  /**
   * How each mode picks its `batchSize` solve tasks from its buffer.
   *
   * - `newest` (default, the reference's `max_new`): the tasks the step added, then a uniform sample of the rest.
   * - `balanced`: an equal share for each difficulty the buffer holds (by the mode's `difficulty`; tasks without
   *   one form a level of their own); within a level, the mode's `family` kinds take turns, each with a uniform
   *   choice of its tasks (without families, uniform over the level). A proposer's stream is rarely even: a
   *   model learning from zero proposes the few shortest programs until it has proposed them all, and from then
   *   on they are a small part of a buffer that grows only with longer ones.
   */
  readonly solveSampling: SolveSampling;
  /**
   * When a step picks its solve tasks.
   *
   * - `this-step` (default): after its proposals are validated, so the step's new tasks are solved at once.
   * - `previous-step` (the reference's): before it proposes, so the solver trains on tasks proposed up to the
   *   step before (with `newest` sampling, the previous step's first).
   */
  readonly solveFrom: SolveFrom;
  /**
   * A seeding stage before step 1, as the reference's: the policy proposes from the seed tasks, without
   * learnability, rewards or updates, until every mode's buffer holds `tasks` tasks or `maxRounds` rounds have
   * passed. Default: none (`tasks: 0`).
   */
  readonly seeding: SeedingSettings;
  /**
   * Where each step's proposals come from.
   *
   * - `model` (default): the policy proposes, and is trained as a proposer.
   * - `random`: each mode draws its proposals from a fixed random generator of its task language
   *   (`TaskModeV1.sampleProposal`, from the run's seeded random source), the paper's ablation of self-play
   *   proposing at equal compute. The random proposals are validated, excluded when held out, buffered, rated
   *   by learnability rollouts, rewarded and recorded as the model's would be, and the solver trains on the
   *   same number of tasks; no proposal sequence is trained on (the proposer is not trained). Every mode of the
   *   run must have `sampleProposal` (a `ConfigError` otherwise).
   */
  readonly proposer: Proposer;
  /** Reference tasks shown to a deduction or abduction proposer. Default `6`, as in the paper. */
  readonly references: number;
  /**
   * Proposals drawn from each propose prompt: a mode's `batchSize` proposals come from `batchSize /
   * proposalsPerPrompt` prompts (rounded up), each with its own references, sampled that many times. Default `1`,
   * as in the paper (every proposal its own references). More per prompt cost less: a prompt runs once for its
   * proposals in generation and in the update (the engines share a repeated prompt's prefill and, on onnx, its
   * training pass); the proposals of one prompt see the same references.
   */
  readonly proposalsPerPrompt: number;
  /**
   * Most tokens of a propose prompt (by the policy's tokenizer). A longer prompt is built again with other
   * references (up to 8 draws), as the reference does, and then with fewer references until it fits. Default:
   * no limit. The paper: 6144.
   */
  readonly maxPromptTokens: number | undefined;
  /** Solver rollouts that estimate a valid proposal's solve rate (never trained on). Default `8`. */
  readonly learnabilityRollouts: number;
  /**
   * Also train the solver on the learnability rollouts (one group of `learnabilityRollouts` per new task, with
   * the solver's reward), instead of using them only to estimate solve rates. The paper does not; it multiplies
   * the solver's signal at no extra generation cost, which a model learning from zero needs. Default `false`.
   */
  readonly trainOnLearnabilityRollouts: boolean;
  /**
   * Reject a proposal whose task the buffer already holds (or an earlier proposal of the step made), as
   * invalid, instead of accepting it silently into a deduplicated buffer. Tasks compare by the mode's
   * `noveltyKey`, or by id. The paper's buffers deduplicate without penalty; a small model otherwise learns to
   * propose the same easy task again and again. Default `false`.
   */
  readonly rejectDuplicates: boolean;
  /**
   * A task that every one of its learnability rollouts solved leaves its mode's buffer (or does not stay in it),
   * while the buffer holds more than `batchSize` tasks; proposed again and not solved every time, it comes back.
   * The buffer then holds what the solver cannot yet do: its solve tasks, and the references proposers see.
   * Such a task gives the solver no signal (every answer right, so every advantage 0: with the mini language's
   * abduction, any input answers a constant program), and as a reference shown to proposers it may draw them
   * toward what is already mastered. The reference keeps every valid task (`valid_program_filter=all`). Default
   * `false`.
   */
  readonly dropSolvedTasks: boolean;
  /**
   * Hindsight relabelling of wrong answers, in modes that define `TaskModeV1.hindsightTask` (the induction
   * modes): a wrong answer is also trained on, with this advantage, under the solve prompt of a task it solves
   * (an induction answer's program on the task's inputs, the pairs it gives shown), never under its own prompt.
   * An answer is relabelled once per task, a prompt and answer once per step, and at most `hindsightLimit` a
   * mode a step. The old log probabilities are the policy's under the new prompt (`doComputeLogProbs`), so the
   * first update's ratio starts at 1; the relabelled sequences come after the others, so with `miniBatchSize`
   * they fall in the last mini-batches. A solver that learns from zero gets most of its answers to a task that reads
   * its input wrong, and a wrong answer only learns what not to write; relabelled, it also shows which pairs it
   * fits. Not in the paper. Default `0`: off. Above 0 with no mode that has `hindsightTask`, the trainer refuses
   * to start (`ConfigError`): the setting would do nothing.
   */
  readonly hindsightAdvantage: number;
  /**
   * Relabelled answers (`hindsightAdvantage`) a mode trains on a step, at most; the tasks take turns, so a
   * limit above `batchSize` reaches a task's second and later wrong answers. Each is one more sequence in the
   * update. Default `batchSize`.
   */
  readonly hindsightLimit: number | undefined;
  /** Sampling of every completion. Default temperature 1, top-p 1, 512 tokens. */
  readonly sampling: SamplingSettings;
  readonly format: AnswerFormat;
  readonly rewards: RewardSettings;
  /** Default `trr++`. */
  readonly advantageEstimator: AdvantageEstimatorName;
  readonly advantages: AdvantageSettings;
  /** PPO clip 0.2, no entropy bonus. */
  readonly loss: PolicyLossSettings;
  /** Sequences per optimizer update; the step's sequences are split into updates of this size. Default all. */
  readonly miniBatchSize: number | undefined;
  /** Tasks each buffer keeps. Default `16384`. */
  readonly bufferCapacity: number;
  /** Default `evict-oldest`. */
  readonly bufferEviction: EvictionPolicy;
  /** Steps between checkpoints (when the trainer has a run directory). Default `10`. */
  readonly checkpointEvery: number;
}

export const DEFAULT_TRAINER_SETTINGS: TrainerSettings = Object.freeze({
  seed: 0,
  language: 'javascript',
  batchSize: 8,
  solveRollouts: 1,
  solveSampling: 'newest',
  solveFrom: 'this-step',
  seeding: { tasks: 0, maxRounds: 32 },
  proposer: 'model',
  references: 6,
  proposalsPerPrompt: 1,
  maxPromptTokens: undefined,
  learnabilityRollouts: 8,
  trainOnLearnabilityRollouts: false,
  rejectDuplicates: false,
  dropSolvedTasks: false,
  hindsightAdvantage: 0,
  hindsightLimit: undefined,
  sampling: DEFAULT_SAMPLING_SETTINGS,
  format: DEFAULT_ANSWER_FORMAT,
  rewards: DEFAULT_REWARD_SETTINGS,
  advantageEstimator: 'trr++',
  advantages: {},
  loss: DEFAULT_POLICY_LOSS_SETTINGS,
  miniBatchSize: undefined,
  bufferCapacity: 16_384,
  bufferEviction: 'evict-oldest',
  checkpointEvery: 10,
});

/** Settings as users write them: every field optional, nested objects merged with their defaults. */
export type TrainerSettingsInput = Partial<
  Omit<TrainerSettings, 'sampling' | 'format' | 'rewards' | 'loss' | 'seeding'> & {
    readonly seeding: Partial<SeedingSettings>;
    readonly sampling: Partial<SamplingSettings>;
    readonly format: Partial<AnswerFormat>;
    readonly rewards: Partial<RewardSettings>;
    readonly loss: Partial<PolicyLossSettings>;
  }
>;

/** Merges settings with the defaults and validates every field, with a ConfigError naming the field. */
export function resolveTrainerSettings(input: TrainerSettingsInput = {}): TrainerSettings {
  const merged: TrainerSettings = {
    ...DEFAULT_TRAINER_SETTINGS,
    ...input,
    sampling: { ...DEFAULT_TRAINER_SETTINGS.sampling, ...input.sampling },
    format: { ...DEFAULT_TRAINER_SETTINGS.format, ...input.format },
    rewards: { ...DEFAULT_TRAINER_SETTINGS.rewards, ...input.rewards },
    loss: { ...DEFAULT_TRAINER_SETTINGS.loss, ...input.loss },
    seeding: { ...DEFAULT_TRAINER_SETTINGS.seeding, ...input.seeding },
    advantages: { ...DEFAULT_TRAINER_SETTINGS.advantages, ...input.advantages },
  };
  assertNumberInRange('seed', merged.seed, { integer: true, minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
  assertOneOf('language', merged.language, TASK_LANGUAGES);
  assertNumberInRange('batchSize', merged.batchSize, { minimum: 1, integer: true });
  assertNumberInRange('solveRollouts', merged.solveRollouts, { minimum: 1, integer: true });
  assertOneOf('solveSampling', merged.solveSampling, SOLVE_SAMPLINGS);
  assertOneOf('solveFrom', merged.solveFrom, SOLVE_FROMS);
  assertNumberInRange('seeding.tasks', merged.seeding.tasks, { minimum: 0, integer: true });
  assertNumberInRange('seeding.maxRounds', merged.seeding.maxRounds, { minimum: 1, integer: true });
  assertOneOf('proposer', merged.proposer, PROPOSERS);
  assertNumberInRange('references', merged.references, { minimum: 1, integer: true });
  assertNumberInRange('proposalsPerPrompt', merged.proposalsPerPrompt, { minimum: 1, integer: true });
  if (merged.maxPromptTokens !== undefined)
    assertNumberInRange('maxPromptTokens', merged.maxPromptTokens, { minimum: 1, integer: true });
  assertNumberInRange('learnabilityRollouts', merged.learnabilityRollouts, { minimum: 1, integer: true });
  for (const field of ['trainOnLearnabilityRollouts', 'rejectDuplicates', 'dropSolvedTasks'] as const)
    if (typeof merged[field] !== 'boolean') assertOneOf(field, String(merged[field]), ['true', 'false']);
  assertNumberInRange('hindsightAdvantage', merged.hindsightAdvantage, { minimum: 0 });
  if (merged.hindsightLimit !== undefined)
    assertNumberInRange('hindsightLimit', merged.hindsightLimit, { minimum: 1, integer: true });
  assertNumberInRange('sampling.temperature', merged.sampling.temperature, { minimum: Number.MIN_VALUE });
  assertNumberInRange('sampling.topP', merged.sampling.topP, { minimum: Number.MIN_VALUE, maximum: 1 });
  assertNumberInRange('sampling.maxTokens', merged.sampling.maxTokens, { minimum: 1, integer: true });
  assertOneOf('advantageEstimator', merged.advantageEstimator, ADVANTAGE_ESTIMATOR_NAMES);
  assertNumberInRange('loss.clipRatio', merged.loss.clipRatio, { minimum: 0, maximum: 1 });
  assertNumberInRange('loss.entropyCoefficient', merged.loss.entropyCoefficient, { minimum: 0 });
  if (merged.miniBatchSize !== undefined)
    assertNumberInRange('miniBatchSize', merged.miniBatchSize, { minimum: 1, integer: true });
  assertNumberInRange('bufferCapacity', merged.bufferCapacity, { minimum: 1, integer: true });
  assertOneOf('bufferEviction', merged.bufferEviction, EVICTION_POLICIES);
  assertNumberInRange('checkpointEvery', merged.checkpointEvery, { minimum: 1, integer: true });
  for (const tag of ['reasoningTag', 'answerTag'] as const) {
    if (!/^[\w.-]+$/.test(merged.format[tag]))
      assertOneOf(`format.${tag}`, merged.format[tag], ['think', 'answer']);
  }
  return merged;
}

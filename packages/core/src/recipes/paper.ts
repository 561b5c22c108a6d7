import { DEFAULT_OPTIMIZER_SETTINGS } from '../settings/defaults.js';
import { assertNumberInRange } from '../settings/validate.js';
import type { OptimizerSettings } from '../spec/settings.js';
import type { TaskLanguage } from '../spec/task-language.js';
import type { TrainerSettingsInput } from '../trainer/settings.js';

/** The knobs of {@link createPaperRecipe}: what a user on one machine turns. Each has the paper's value in its doc. */
export interface PaperRecipeSettings {
  /**
   * Proposals per mode per step, and solve tasks per mode per step. Default `2`, for a 135M model on a 2-core
   * CPU. The paper: 64 (384 sequences a step over the six mode and role groups).
   */
  readonly batchSize?: number;
  /** Most tokens of a completion. Default `256`. The paper: 8096. */
  readonly maxResponseTokens?: number;
  /**
   * Most tokens of a propose prompt; a longer one is built again with other references, as the reference does.
   * Default `2048`. The paper: 6144.
   */
  readonly maxPromptTokens?: number;
  /** Distinct valid tasks each mode's buffer should hold after the seeding stage. Default `16`. The paper: 256. */
  readonly seedTasks?: number;
  /** Most rounds of the seeding stage before the run goes on with what it has. Default `8`. */
  readonly seedRounds?: number;
  /** The language of the programs. Default `python`, as in the paper. */
  readonly language?: TaskLanguage;
}

/** A named set of defaults for the self-play trainer and its parts. */
export interface Recipe {
  readonly name: string;
  readonly language: TaskLanguage;
  /** The trainer's settings (`createSelfPlayTrainer({ settings })`). */
  readonly trainer: TrainerSettingsInput;
  /** The policy's optimizer (the backends' `optimizer` setting). */
  readonly optimizer: OptimizerSettings;
  /** The sandbox's time limit for one program run, in milliseconds (the executors' `timeoutMs`). */
  readonly executorTimeoutMs: number;
}

/**
 * The paper's recipe (Absolute Zero, arXiv 2505.03335, and its reference implementation): Python tasks in the
 * three modes with K = 6 references and 10 induction inputs (5 shown), 8 learnability rollouts at
 * temperature 1 and 1 rollout per solve task, TRR++ with token-weighted whitening, PPO-clip 0.2 with entropy
 * 0.001 and no KL, AdamW at 1e-6 with clipping at 1.0 and weight decay 0.01, three optimizer steps per step
 * (the reference's 384 sequences in mini-batches of 128), the reference's buffers (16,384 tasks, new ones
 * dropped once full), solve tasks picked before proposing, newest first, and a seeding stage. The task modes are
 * the paper's (`createPaperTaskModes`), which the recipe does not build: pass them as the trainer's `modes`.
 *
 * The knobs that decide how long a step takes on one machine are settings: batch size, response and prompt
 * budgets, and the size of the seeding stage; their defaults fit a 135M model on a 2-core CPU, and their docs
 * give the paper's values. Departures from the reference that stay are listed in the core README's fidelity
 * table.
 */
export function createPaperRecipe(settings: PaperRecipeSettings = {}): Recipe {
  const positive = (field: keyof PaperRecipeSettings, value: number) =>
    assertNumberInRange(field, value, { minimum: 1, integer: true });
  const batchSize = positive('batchSize', settings.batchSize ?? 2);
  const maxTokens = positive('maxResponseTokens', settings.maxResponseTokens ?? 256);
  const maxPromptTokens = positive('maxPromptTokens', settings.maxPromptTokens ?? 2048);
  const seedTasks = assertNumberInRange('seedTasks', settings.seedTasks ?? 16, { minimum: 0, integer: true });
  const seedRounds = positive('seedRounds', settings.seedRounds ?? 8);
  return {
    name: 'paper',
    language: settings.language ?? 'python',
    trainer: {
      language: settings.language ?? 'python',
      batchSize,
      references: 6,
      learnabilityRollouts: 8,
      solveRollouts: 1,
      solveSampling: 'newest',
      solveFrom: 'previous-step',
      trainOnLearnabilityRollouts: false,
      rejectDuplicates: false,
      // Every valid task enters its buffer (valid_program_filter=all).
      dropSolvedTasks: false,
      hindsightAdvantage: 0,
      sampling: { temperature: 1, topP: 1, maxTokens },
      maxPromptTokens,
      rewards: { wellFormedWrongReward: -0.5, malformedReward: -1, proposerRewardVariant: 'reference-code' },
      advantageEstimator: 'trr++',
      advantages: { weighting: 'token' },
      loss: { clipRatio: 0.2, entropyCoefficient: 0.001 },
      // Six groups of batchSize sequences in three updates, as the reference's 384 in mini-batches of 128.
      miniBatchSize: 2 * batchSize,
      bufferCapacity: 16_384,
      bufferEviction: 'reject-new',
      seeding: { tasks: seedTasks, maxRounds: seedRounds },
      checkpointEvery: 10,
    },
    // The SDK's optimizer defaults are the paper's: AdamW at 1e-6, betas 0.9 / 0.999, weight decay 0.01, clipping 1.0.
    optimizer: DEFAULT_OPTIMIZER_SETTINGS,
    executorTimeoutMs: 2_000,
  };
}

/**
 * `@azr/core`: the contracts of the Absolute Zero SDK and the algorithm around them.
 *
 * Contracts (`PolicyModelV1`, `ExecutorV1`, `TaskModeV1`, ...) are types only; implementations live in
 * `@azr/executor` and `@azr/backends`, or in your code. Test doubles and conformance suites are in
 * `@azr/core/test`.
 */
export {
  type AdvantageSettings,
  createAdvantageEstimator,
  createGrpoAdvantageEstimator,
  createTrrAdvantageEstimator,
  type TrrWeighting,
} from './advantages/estimators.js';
export {
  EVICTION_POLICIES,
  type EvictionPolicy,
  TaskBuffer,
  type TaskBufferSettings,
} from './buffers/task-buffer.js';
export * from './canonical/index.js';
export {
  automatonAccepts,
  type CharacterAutomaton,
  createAutomatonConstraint,
  runAutomaton,
} from './constraints/automaton-constraint.js';
export * from './errors/index.js';
export {
  type EvaluationOptions,
  type EvaluationReport,
  evaluate,
  type ModeEvaluation,
  passAtK,
  type TaskEvaluation,
} from './evaluation/evaluate.js';
export { type EvaluationSuiteOptions, loadEvaluationSuite } from './evaluation/suite.js';
export {
  type ExtractAnswerOptions,
  extractAnswer,
  extractFencedBlocks,
  type FencedBlock,
} from './format/extract.js';
export { checkTemplate, renderTemplate } from './format/template.js';
export { createConsoleMetricsSink } from './metrics/console-sink.js';
export { createJsonlMetricsSink } from './metrics/jsonl-sink.js';
export { createUhOhMonitor, UH_OH_PATTERNS, type UhOhMonitorSettings } from './monitors/uh-oh.js';
export { createSeededRandom, restoreSeededRandom } from './random/seeded-random.js';
export { createPaperRecipe, type PaperRecipeSettings, type Recipe } from './recipes/paper.js';
export {
  createComplexityReward,
  createCorrectnessReward,
  createDefaultRewards,
  createDiversityReward,
  createLearnabilityReward,
  createProposerReward,
  createSolverReward,
} from './rewards/rewards.js';
export { solveWithPolicy } from './rollout/solve-with-policy.js';
export {
  DEFAULT_ANSWER_FORMAT,
  DEFAULT_OPTIMIZER_SETTINGS,
  DEFAULT_POLICY_LOSS_SETTINGS,
  DEFAULT_REWARD_SETTINGS,
  DEFAULT_SAMPLING_SETTINGS,
} from './settings/defaults.js';
export { assertNumberInRange, assertOneOf } from './settings/validate.js';
export * from './spec/index.js';
export { assertSpecificationVersion } from './spec-version.js';
export * from './task-modes/index.js';
export { createByteTokenizer } from './tokenizer/byte-tokenizer.js';
export * from './trainer/index.js';

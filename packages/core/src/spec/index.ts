export type { AdvantageEstimatorV1, AdvantageSample } from './advantage-estimator.js';
export type { AnswerFormat, ExtractedAnswer } from './answer-format.js';
export { CANONICAL_ENCODING_VERSION, type CanonicalValue } from './canonical-value.js';
export {
  EXECUTION_ERROR_KINDS,
  type ExecutionErrorKind,
  type ExecutionFailure,
  type ExecutionResult,
  type ExecutorV1,
  type RunRequest,
  type ValidateProgramRequest,
  type ValidationResult,
} from './executor.js';
export type { GenerationConstraintV1 } from './generation-constraint.js';
export type { MetricsSinkV1 } from './metrics-sink.js';
export type { MonitoredText, MonitorFlag, MonitorV1 } from './monitor.js';
export type {
  Completion,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  LogProbsRequest,
  LogProbsResult,
  PolicyCapabilities,
  PolicyLossSettings,
  PolicyModelV1,
  SamplingParameters,
  TokenSequence,
  TrainBatch,
  TrainSequence,
  TrainStepResult,
} from './policy-model.js';
export type { RandomSource, RandomState } from './random-source.js';
export type {
  ProposalOutcome,
  ProposerRewardFn,
  RewardFn,
  RewardGroup,
  RewardInput,
  SolveOutcome,
  SolverRewardFn,
  TrainerRewardFn,
  WeightedReward,
} from './reward.js';
export {
  ADVANTAGE_ESTIMATOR_NAMES,
  type AdvantageEstimatorName,
  type OptimizerSettings,
  PROPOSER_REWARD_VARIANTS,
  type ProposerRewardVariant,
  type RewardSettings,
  type SamplingSettings,
} from './settings.js';
export type { SolvedTask, SolvePath, SolveRequest } from './solve-path.js';
export {
  type InputOutputPair,
  TASK_ROLES,
  type TaskBase,
  type TaskModeName,
  type TaskRole,
} from './task.js';
export { TASK_LANGUAGES, type TaskLanguage } from './task-language.js';
export type {
  AnswerVerdict,
  ConstraintContext,
  ParseResult,
  ProposalSampleContext,
  ProposalValidation,
  ProposeContext,
  ReferenceSource,
  SolveContext,
  SuiteRecordReader,
  TaskModeV1,
  TaskPool,
  TaskRecordReader,
} from './task-mode.js';
export type { ChatMessage, TokenizerV1 } from './tokenizer.js';
export {
  type CheckpointEvent,
  type EvaluationEvent,
  type GroupStatistics,
  type ModeEvaluation,
  type MonitorFlagEvent,
  type PhaseEndEvent,
  type RunEndEvent,
  type RunStartEvent,
  type SeedingEvent,
  type StepEndEvent,
  TRAINER_PHASES,
  type TrainerEvent,
  type TrainerPhase,
  type UpdateStatistics,
} from './trainer-event.js';
export { SPECIFICATION_VERSION, type SpecificationVersion } from './version.js';

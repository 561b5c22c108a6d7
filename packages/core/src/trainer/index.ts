export {
  type CheckpointState,
  type LoadedCheckpoint,
  latestCheckpointDirectory,
  readLatestCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
export type { EvaluationResult, EvaluationSuite, TrainerEvaluation } from './evaluation-schedule.js';
export type {
  Generation,
  Proposal,
  ProposalRollout,
  ProposalStatus,
  Rollout,
  ScoredProposal,
  ScoredSolution,
  SolveRollout,
  Trained,
  ValidatedProposal,
} from './rollouts.js';
export {
  DEFAULT_TRAINER_SETTINGS,
  PROPOSERS,
  type Proposer,
  resolveTrainerSettings,
  type SeedingSettings,
  SOLVE_FROMS,
  SOLVE_SAMPLINGS,
  type SolveFrom,
  type SolveSampling,
  type TrainerSettings,
  type TrainerSettingsInput,
} from './settings.js';
export {
  createSelfPlayTrainer,
  type ResumeOptions,
  type RunOptions,
  resumeSelfPlayTrainer,
  type SelfPlayTrainer,
  type SelfPlayTrainerOptions,
  type StepResult,
} from './trainer.js';

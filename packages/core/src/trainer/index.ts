export {
  type CheckpointState,
  type LoadedCheckpoint,
  readLatestCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
export type { ProposalRollout, Rollout, SolveRollout } from './runtime.js';
export {
  DEFAULT_TRAINER_SETTINGS,
  resolveTrainerSettings,
  SOLVE_SAMPLINGS,
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

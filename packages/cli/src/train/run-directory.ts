import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConfigError,
  type MetricsSinkV1,
  ModelFormatError,
  type ProposalRollout,
  type SelfPlayTrainer,
  type SolveRollout,
  type StepResult,
  type TrainerEvent,
} from '@azr/core';
import { parseOnnxSettings, type TrainConfig } from '../config/config.js';

/** The files of a run directory. */
export const RUN_FILES = {
  /** The resolved config the run was started with. */
  config: 'config.json',
  /** Every trainer event, one JSON object per line. */
  metrics: 'metrics.jsonl',
  /** Every proposal and solution of every step, with the model's text and the executor's verdict. */
  samples: 'samples.jsonl',
  /** The outputs a monitor flagged. */
  flagged: 'flagged.jsonl',
  /** The task buffers at the end of the run, one JSONL file per mode. */
  buffers: 'buffers',
  /** Checkpoints (written by the trainer). */
  checkpoints: 'checkpoints',
  report: 'report.html',
  /** Evaluation results (`azr eval --out`, or the held-out suite at the end of a mini run), shown in the report. */
  evaluation: 'evaluation.json',
  /** A mini run's held-out evaluation of the untrained model, before step 1: the report's "before". */
  initialEvaluation: 'evaluation-initial.json',
  /** A mini run's held-out accuracy during training, one line per evaluation (step 0 is the untrained model). */
  heldOut: 'heldout.jsonl',
} as const;

/** A run directory name that sorts by start time: `runs/azr-20261124-213000`. */
export function defaultRunDirectory(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('runs', `azr-${stamp}`);
}

/** Refuses a run directory that already holds files (resume it instead). */
export async function assertFreshRunDirectory(directory: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(directory);
  } catch {
    // Does not exist yet.
  }
  if (entries.length > 0)
    throw new ConfigError(
      `${directory} already holds a run; continue it with --resume ${directory}, or choose another --out.`,
      { field: 'out' },
    );
}

/** Creates a fresh run directory with the resolved config in it. */
export async function createRunDirectory(directory: string, config: TrainConfig): Promise<void> {
  await assertFreshRunDirectory(directory);
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, RUN_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Reads the config a run was started with. Its `onnx` section, which a user may edit to resume the run on a
 * machine with other memory (see the CLI README), is checked as a config file's is: a bad setting is a
 * `ConfigError` naming it.
 */
export async function readRunConfig(directory: string): Promise<TrainConfig> {
  const path = join(directory, RUN_FILES.config);
  let config: TrainConfig;
  try {
    config = JSON.parse(await readFile(path, 'utf8')) as TrainConfig;
    if (typeof config !== 'object' || config === null || Array.isArray(config))
      throw new Error(`${RUN_FILES.config} is not an object`);
  } catch (error) {
    throw new ModelFormatError(
      `${directory} is not an azr run directory (no readable ${RUN_FILES.config}).`,
      { path },
      { cause: error },
    );
  }
  // Runs recorded before task kinds existed used the paper's tasks; before curricula, the whole language.
  const tasks = config.tasks ?? { kind: 'full', constrained: true };
  const onnx = config.onnx === undefined ? undefined : parseOnnxSettings(config.onnx, path);
  // Runs recorded before evaluateEvery existed: no evaluation between the first and the last.
  return {
    ...config,
    // Runs recorded before execution providers were a setting ran on the CPU.
    executionProviders: config.executionProviders ?? ['cpu'],
    ...(onnx === undefined ? {} : { onnx }),
    tasks: {
      ...tasks,
      curriculum: tasks.curriculum ?? false,
      evaluateEvery: tasks.evaluateEvery ?? false,
    },
  };
}

/**
 * Drops the lines of a run's JSONL files that belong to steps after `step` (the checkpoint a resumed run
 * continues from), so that the steps it runs again are not recorded twice.
 */
export async function truncateRunLogs(directory: string, step: number): Promise<void> {
  for (const name of [RUN_FILES.metrics, RUN_FILES.samples, RUN_FILES.flagged, RUN_FILES.heldOut]) {
    const path = join(directory, name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue;
    }
    const kept = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .filter((line) => {
        try {
          const record = JSON.parse(line) as { step?: unknown };
          return typeof record.step !== 'number' || record.step <= step;
        } catch {
          // A line cut short by a kill: drop it.
          return false;
        }
      });
    await writeFile(path, kept.length > 0 ? `${kept.join('\n')}\n` : '');
  }
}

/** One line of `samples.jsonl`. */
export interface SampleRecord {
  readonly step: number;
  readonly mode: string;
  readonly role: 'propose' | 'solve';
  /** The model's completion: its reasoning and its answer. */
  readonly completion: string;
  readonly tokens: number;
  readonly reward: number;
  /**
   * For proposals: `valid`, `invalid`, `malformed` or `excluded` (a held-out task: not rewarded, not trained on);
   * for solutions: `correct`, `wrong` or `malformed`.
   */
  readonly verdict: string;
  /** Why a proposal was rejected, or why a solution was wrong, as the executor or parser said. */
  readonly reason: string | undefined;
  /** The task proposed (valid proposals) or being solved. */
  readonly task: unknown;
  /** For valid proposals: the learnability estimate of its solve rate. */
  readonly solveRate: number | undefined;
}

function proposalRecord(step: number, rollout: ProposalRollout): SampleRecord {
  return {
    step,
    mode: rollout.mode,
    role: 'propose',
    completion: rollout.completion.text,
    tokens: rollout.completion.tokenIds.length,
    reward: rollout.reward,
    verdict: rollout.status,
    reason: rollout.reason,
    task: rollout.task,
    solveRate: rollout.solveRate,
  };
}

function solutionRecord(step: number, rollout: SolveRollout): SampleRecord {
  return {
    step,
    mode: rollout.mode,
    role: 'solve',
    completion: rollout.completion.text,
    tokens: rollout.completion.tokenIds.length,
    reward: rollout.reward,
    verdict: !rollout.wellFormed ? 'malformed' : rollout.correct ? 'correct' : 'wrong',
    reason: rollout.reason,
    task: rollout.task,
    solveRate: undefined,
  };
}

/** Appends a step's proposals and solutions to `samples.jsonl`. */
export async function writeSamples(directory: string, result: StepResult): Promise<void> {
  const records = [
    ...result.proposals.map((rollout) => proposalRecord(result.step, rollout)),
    ...result.solutions.map((rollout) => solutionRecord(result.step, rollout)),
  ];
  await appendFile(
    join(directory, RUN_FILES.samples),
    records.map((record) => `${JSON.stringify(record)}\n`).join(''),
  );
}

/** One line of `heldout.jsonl`: the held-out suite's greedy accuracy after a step, by mode. */
export interface HeldOutRecord {
  readonly step: number;
  readonly modes: Readonly<
    Record<string, { readonly tasks: number; readonly passAtK: Record<string, number> }>
  >;
}

/** Appends an evaluation of the held-out suite to `heldout.jsonl`. */
export async function appendHeldOut(directory: string, record: HeldOutRecord): Promise<void> {
  await appendFile(join(directory, RUN_FILES.heldOut), `${JSON.stringify(record)}\n`);
}

/** Writes each task buffer as `buffers/<mode>.jsonl`. */
export async function writeBuffers(directory: string, trainer: SelfPlayTrainer): Promise<void> {
  const folder = join(directory, RUN_FILES.buffers);
  await mkdir(folder, { recursive: true });
  for (const [mode, buffer] of trainer.buffers)
    await writeFile(join(folder, `${mode}.jsonl`), buffer.toJsonl());
}

/** A sink that keeps the monitor flags in `flagged.jsonl`. */
export function createFlaggedSink(directory: string): MetricsSinkV1 {
  return {
    specificationVersion: 'v1',
    sinkId: 'flagged',
    async write(event: TrainerEvent) {
      if (event.type === 'monitor-flag')
        await appendFile(join(directory, RUN_FILES.flagged), `${JSON.stringify(event)}\n`);
    },
  };
}

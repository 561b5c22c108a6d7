import { access, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { OnnxExecutionProvider } from '@azr/backends/onnx';
import {
  ConfigError,
  createComplexityReward,
  createDefaultRewards,
  createDiversityReward,
  createJsonlMetricsSink,
  createSelfPlayTrainer,
  createUhOhMonitor,
  type EvaluationResult,
  type ExecutorV1,
  type MetricsSinkV1,
  type PolicyModelV1,
  resumeSelfPlayTrainer,
  type SelfPlayTrainer,
  type TrainerEvaluation,
} from '@azr/core';
import {
  assertEngineExecutionProviders,
  assertEngineOnnxSettings,
  type RecipeName,
  readTrainConfig,
  resolveTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
  type TrainEngine,
} from '../config/config.js';
import { writeReport } from '../report/write-report.js';
import { createTrainingPolicy, modelSource, trainingPolicyDevices } from '../train/policy.js';
import { createProgressSink, type ProgressOutput } from '../train/progress.js';
import {
  appendHeldOut,
  assertFreshRunDirectory,
  createFlaggedSink,
  createRunDirectory,
  defaultRunDirectory,
  RUN_FILES,
  readRunConfig,
  truncateRunLogs,
  writeBuffers,
  writeSamples,
} from '../train/run-directory.js';
import {
  assertChatTemplate,
  createTaskModes,
  HELD_OUT_SUITE,
  heldOutMaxTokens,
  type RunTaskModes,
} from '../train/task-modes.js';
import type { EvalRecord } from './eval.js';

/** Options of `azr train`, as parsed from the command line. */
export interface TrainOptions {
  readonly config?: string;
  /** A named set of defaults (`paper`), under the config file and the other options. */
  readonly recipe?: RecipeName;
  readonly model?: string;
  readonly engine?: TrainEngine;
  readonly language?: 'javascript' | 'python';
  readonly steps?: number;
  readonly seed?: number;
  /**
   * onnxruntime's execution providers in order of preference, over the config file's `executionProviders`. With
   * `resume`, over the run's recorded ones: devices belong to the machine, not to the run.
   */
  readonly executionProviders?: readonly OnnxExecutionProvider[];
  readonly out?: string;
  readonly resume?: string;
}

/** What `azr train` hands back (for tests): where the run is and how it ended. */
export interface TrainOutcome {
  readonly runDirectory: string;
  readonly step: number;
  readonly reason: 'completed' | 'interrupted';
}

async function writeEvaluation(path: string, record: EvalRecord): Promise<void> {
  await writeFile(path, `${JSON.stringify(record, null, 2)}\n`);
}

function describeAccuracy(record: EvalRecord): string {
  return Object.entries(record.modes)
    .map(([mode, result]) => `${mode} ${(100 * (result.passAtK[1] ?? 0)).toFixed(1)}%`)
    .join(', ');
}

async function createExecutor(config: TrainConfig): Promise<ExecutorV1> {
  const { createJavaScriptExecutor, createPythonExecutor } = await import('@azr/executor');
  const settings = {
    ...(config.executor.workers === undefined ? {} : { workers: config.executor.workers }),
    ...(config.executor.timeoutMs === undefined ? {} : { timeoutMs: config.executor.timeoutMs }),
  };
  return config.language === 'python' ? createPythonExecutor(settings) : createJavaScriptExecutor(settings);
}

/**
 * The held-out curve: the trainer evaluates the run's held-out suite (mini runs) before the first step, every
 * `evaluateEvery` steps and at the end.
 */
function heldOutEvaluation(taskModes: RunTaskModes, config: TrainConfig): TrainerEvaluation | undefined {
  if (taskModes.heldOut === undefined) return undefined;
  const every = config.tasks.evaluateEvery;
  return {
    ...(every === false ? {} : { every }),
    suites: [
      {
        name: HELD_OUT_SUITE,
        tasks: taskModes.heldOut.tasks,
        options: { maxTokens: heldOutMaxTokens(config) },
      },
    ],
  };
}

/**
 * The run a `train` call asks for: a resumed run's recorded config (with `--steps` if given), or the config file
 * (`--config`, else `azr.config.json` when there is one) under the command line's options, and where it goes.
 */
async function runConfig(
  options: TrainOptions,
): Promise<{ readonly runDirectory: string; readonly config: TrainConfig }> {
  if (options.resume !== undefined) {
    const recorded = await readRunConfig(options.resume);
    const config = {
      ...recorded,
      ...(options.steps === undefined ? {} : { steps: options.steps }),
      ...(options.executionProviders === undefined
        ? {}
        : { executionProviders: [...options.executionProviders] }),
    };
    assertEngineExecutionProviders(config.engine, config.executionProviders);
    // An onnx section edited for this machine is checked before anything starts, as a config file's is.
    assertEngineOnnxSettings(config.engine, config.onnx, config.rolloutPrecision);
    return { runDirectory: options.resume, config };
  }
  let file: TrainConfigInput = {};
  const configPath =
    options.config ??
    ((await access('azr.config.json').then(
      () => true,
      () => false,
    ))
      ? 'azr.config.json'
      : undefined);
  if (configPath !== undefined) {
    file = await readTrainConfig(configPath);
    // A model folder or held-out suite named in a config file is relative to that file; the run records it
    // absolute.
    if (file.model !== undefined && 'directory' in file.model)
      file = { ...file, model: { directory: resolve(dirname(configPath), file.model.directory) } };
    if (file.tasks?.heldOut !== undefined)
      file = {
        ...file,
        tasks: { ...file.tasks, heldOut: resolve(dirname(configPath), file.tasks.heldOut) },
      };
    if (file.tasks?.templates !== undefined) {
      const base = dirname(configPath);
      const templates = Object.fromEntries(
        Object.entries(file.tasks.templates).map(([mode, files]) => [
          mode,
          Object.fromEntries(
            Object.entries(files ?? {}).flatMap(([kind, path]) =>
              path === undefined ? [] : [[kind, resolve(base, path)]],
            ),
          ),
        ]),
      );
      file = { ...file, tasks: { ...file.tasks, templates } };
    }
  }
  const config = resolveTrainConfig(file, {
    ...(options.engine === undefined ? {} : { engine: options.engine }),
    ...(options.recipe === undefined ? {} : { recipe: options.recipe }),
    ...(options.language === undefined ? {} : { language: options.language }),
    ...(options.steps === undefined ? {} : { steps: options.steps }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.executionProviders === undefined
      ? {}
      : { executionProviders: [...options.executionProviders] }),
    ...(options.model === undefined ? {} : { modelDirectory: resolve(options.model) }),
  });
  return { runDirectory: options.out ?? file.out ?? defaultRunDirectory(), config };
}

/**
 * A run resumed on another machine asks for the providers it recorded; when this one lacks them, the engine's
 * error says how to get them, and this adds how to resume without them.
 */
function resumeDeviceHint(error: unknown, config: TrainConfig, chosen: boolean): unknown {
  if (chosen || !ConfigError.isInstance(error) || error.details.field !== 'executionProviders') return error;
  return new ConfigError(
    `${error.message} The run recorded executionProviders ${config.executionProviders.join(', ')}; --execution-provider resumes it on others (e.g. --execution-provider cpu).`,
    error.details,
    { cause: error },
  );
}

/**
 * `azr train`: the whole Absolute Zero loop with the real executor and a real model, into a run directory
 * (config, metrics, samples, buffers, checkpoints, flagged outputs, report). `signal` stops it after the current
 * step, with a checkpoint (the CLI wires it to Ctrl-C).
 */
export async function train(
  options: TrainOptions,
  output: ProgressOutput,
  signal?: AbortSignal,
): Promise<TrainOutcome> {
  const { runDirectory, config } = await runConfig(options);
  const executor = await createExecutor(config);
  let taskModes: RunTaskModes;
  let policy: PolicyModelV1 | undefined;
  try {
    taskModes = await createTaskModes(config.tasks, config.language, executor, () => policy?.tokenizer);
  } catch (error) {
    await executor.close();
    throw error;
  }
  let trainer: SelfPlayTrainer;
  const heldOut = taskModes.heldOut;
  const evaluation = heldOutEvaluation(taskModes, config);
  const sinks = (): MetricsSinkV1[] => [
    createJsonlMetricsSink(join(runDirectory, RUN_FILES.metrics)),
    createFlaggedSink(runDirectory),
    createProgressSink(output, config.steps),
  ];
  // The proposer's complexity and diversity rewards, when the config weighs them: beside the default rewards.
  const { complexityReward = 0, diversityReward = 0, ...trainerSettings } = config.trainer;
  const rewardFunctions =
    complexityReward > 0 || diversityReward > 0
      ? [
          ...createDefaultRewards(trainerSettings.rewards),
          ...(complexityReward > 0 ? [createComplexityReward(taskModes.modes, complexityReward)] : []),
          ...(diversityReward > 0 ? [createDiversityReward(taskModes.modes, diversityReward)] : []),
        ]
      : undefined;
  try {
    if (options.resume !== undefined) {
      trainer = await resumeSelfPlayTrainer({
        runDirectory,
        executor,
        modes: taskModes.modes,
        ...(rewardFunctions === undefined ? {} : { rewardFunctions }),
        ...(evaluation === undefined ? {} : { evaluation }),
        sinks: sinks(),
        monitors: [createUhOhMonitor()],
        runId: basename(runDirectory),
        loadPolicy: async (directory) => {
          policy = await createTrainingPolicy(
            config.engine,
            { directory },
            config.optimizer,
            trainingPolicyDevices(config),
          ).catch((error: unknown) => {
            throw resumeDeviceHint(error, config, options.executionProviders !== undefined);
          });
          assertChatTemplate(config.tasks, policy.tokenizer);
          return policy;
        },
      });
      await truncateRunLogs(runDirectory, trainer.step);
    } else {
      await assertFreshRunDirectory(runDirectory);
      policy = await createTrainingPolicy(
        config.engine,
        modelSource(config),
        config.optimizer,
        trainingPolicyDevices(config),
      );
      assertChatTemplate(config.tasks, policy.tokenizer);
      await createRunDirectory(runDirectory, config);
      output.write(`run directory: ${runDirectory}\n`);
      trainer = createSelfPlayTrainer({
        policy,
        executor,
        modes: taskModes.modes,
        ...(evaluation === undefined ? {} : { evaluation }),
        settings: { ...trainerSettings, seed: config.seed, language: config.language },
        ...(rewardFunctions === undefined ? {} : { rewardFunctions }),
        sinks: sinks(),
        monitors: [createUhOhMonitor()],
        runDirectory,
        runId: basename(runDirectory),
      });
    }
    let evaluated: EvalRecord | undefined;
    const onEvaluation = async ({ step, report }: EvaluationResult) => {
      const record: EvalRecord = {
        model: runDirectory,
        suite: heldOut?.path ?? HELD_OUT_SUITE,
        samples: 1,
        modes: report.modes,
      };
      evaluated = record;
      await appendHeldOut(runDirectory, { step, modes: record.modes });
      if (step === 0) {
        await writeEvaluation(join(runDirectory, RUN_FILES.initialEvaluation), record);
        output.write(`held-out suite before training: ${describeAccuracy(record)}\n`);
      } else if (step < config.steps) {
        output.write(`held-out suite at step ${step}: ${describeAccuracy(record)}\n`);
      }
    };
    const { reason } = await trainer.run({
      untilStep: config.steps,
      ...(signal === undefined ? {} : { signal }),
      onStep: (result) => writeSamples(runDirectory, result),
      onEvaluation,
    });
    await writeBuffers(runDirectory, trainer);
    if (trainer.step === 0) {
      output.write(
        `stopped before the first step: nothing to resume (remove ${runDirectory} to start over).\n`,
      );
      return { runDirectory, step: 0, reason };
    }
    // The trainer evaluates at the step a run ends at (once, when a scheduled evaluation fell on it).
    if (evaluated !== undefined) {
      await writeEvaluation(join(runDirectory, RUN_FILES.evaluation), evaluated);
      output.write(`held-out suite after step ${trainer.step}: ${describeAccuracy(evaluated)}\n`);
    }
    const report = await writeReport(runDirectory);
    output.write(
      `${reason === 'completed' ? 'finished' : 'stopped'} at step ${trainer.step}; checkpoint in ${join(runDirectory, RUN_FILES.checkpoints)}, report in ${report}\n`,
    );
    if (reason === 'interrupted') output.write(`continue with: azr train --resume ${runDirectory}\n`);
    return { runDirectory, step: trainer.step, reason };
  } finally {
    await policy?.doDispose();
    await executor.close();
  }
}

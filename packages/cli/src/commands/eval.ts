import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inspectModelFolder, type ModelFolder } from '@azr/backends';
import type { OnnxExecutionProvider, RolloutPrecision } from '@azr/backends/onnx';
import {
  ConfigError,
  createMiniTaskModes,
  type EvaluationReport,
  evaluate,
  latestCheckpointDirectory,
  loadEvaluationSuite,
  ModelFormatError,
  type PolicyModelV1,
  type TaskLanguage,
} from '@azr/core';
import {
  assertEngineExecutionProviders,
  DEFAULT_EXECUTION_PROVIDERS,
  type TrainConfig,
} from '../config/config.js';
import { readRunConfig } from '../train/run-directory.js';
import { createTaskModes, heldOutMaxTokens, isMiniSuite } from '../train/task-modes.js';

/** Options of `azr eval`. */
export interface EvalOptions {
  /** A model folder, an ONNX export's folder, or a run directory (its latest checkpoint). */
  readonly model: string;
  /** A JSONL suite (`@azr/core` evaluation format, CRUXEval layout included). */
  readonly suite: string;
  readonly language?: TaskLanguage;
  readonly engine?: 'onnx' | 'tfjs';
  /**
   * onnxruntime's execution providers in order of preference (the onnx engine). Default `['cpu']`, also for a
   * run directory whose run recorded others: devices belong to the machine, not to the run.
   */
  readonly executionProviders?: readonly OnnxExecutionProvider[];
  readonly samples?: number;
  readonly maxTokens?: number;
  readonly out?: string;
}

/** What `azr eval` writes: the report, plus where it came from. */
export interface EvalRecord extends Omit<EvaluationReport, 'tasks'> {
  readonly model: string;
  readonly suite: string;
  readonly samples: number;
}

/** The language the suite's first line names; CRUXEval's lines name none and are Python. */
function suiteLanguage(text: string): TaskLanguage {
  const first = text.split('\n').find((line) => line.trim() !== '');
  try {
    const language = (JSON.parse(first ?? '{}') as { language?: unknown }).language;
    if (language === 'javascript' || language === 'python') return language;
  } catch {
    // loadEvaluationSuite names the bad line.
  }
  return 'python';
}

/**
 * The folder holding the model to evaluate: the policy of a run's latest checkpoint, or a model folder (any kind
 * `inspectModelFolder` recognises; the engine reads it).
 */
export async function resolveModelFolder(path: string): Promise<string> {
  const checkpoint = await latestCheckpointDirectory(path);
  if (checkpoint !== undefined) return checkpoint.policyDirectory;
  let folder: ModelFolder;
  try {
    folder = await inspectModelFolder(path);
  } catch (error) {
    if (!ModelFormatError.isInstance(error)) throw error;
    throw new ModelFormatError(
      `${path} is neither a model folder (model.safetensors or an ONNX export) nor a run directory with a checkpoint: ${error.message}`,
      { path },
      { cause: error },
    );
  }
  return folder.directory;
}

/**
 * How `azr eval` generates with the onnx engine from a run directory: at the run's rollout precision when the
 * run's own (onnx) engine generated at it, so that the numbers match the run's held-out evaluations. Memory and
 * threads are this machine's: the library's defaults, not the run's `onnx` section.
 */
export function evalRolloutPrecision(run: TrainConfig | undefined): { rolloutPrecision?: RolloutPrecision } {
  return run?.engine === 'onnx' && run.rolloutPrecision !== undefined
    ? { rolloutPrecision: run.rolloutPrecision }
    : {};
}

async function loadPolicy(
  folder: string,
  engine: 'onnx' | 'tfjs',
  executionProviders: readonly OnnxExecutionProvider[],
  run: TrainConfig | undefined,
): Promise<PolicyModelV1> {
  if (engine === 'tfjs') {
    const { createTfjsPolicy } = await import('@azr/backends/tfjs');
    return createTfjsPolicy({ model: { directory: folder } });
  }
  const { createOnnxPolicy } = await import('@azr/backends/onnx');
  return createOnnxPolicy({ model: { directory: folder }, executionProviders, ...evalRolloutPrecision(run) });
}

/** `azr eval`: accuracy per mode of a model on a suite; printed, and written as JSON with `out`. */
export async function evaluateModel(
  options: EvalOptions,
  write: (text: string) => void,
): Promise<EvalRecord> {
  const engine = options.engine ?? 'onnx';
  const executionProviders = options.executionProviders ?? DEFAULT_EXECUTION_PROVIDERS;
  assertEngineExecutionProviders(engine, executionProviders);
  let text: string;
  try {
    text = await readFile(options.suite, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the suite ${options.suite}: ${(error as Error).message}`, {
      field: 'suite',
    });
  }
  // A run directory is evaluated as the run evaluates itself: its language, task modes (prompts, frame,
  // templates) and response budget, so that both give the same numbers on the same checkpoint.
  const run =
    (await latestCheckpointDirectory(options.model)) === undefined
      ? undefined
      : await readRunConfig(options.model);
  const language = options.language ?? run?.language ?? suiteLanguage(text);
  const { createJavaScriptExecutor, createPythonExecutor } = await import('@azr/executor');
  const executor = language === 'python' ? createPythonExecutor() : createJavaScriptExecutor();
  let policy: PolicyModelV1 | undefined;
  try {
    const tasks = await loadEvaluationSuite(text, executor, { language });
    if (tasks.length === 0) throw new ConfigError(`${options.suite} holds no tasks.`, { field: 'suite' });
    const folder = await resolveModelFolder(options.model);
    policy = await loadPolicy(folder, engine, executionProviders, run);
    const samples = options.samples ?? 1;
    write(
      `evaluating ${folder} on ${tasks.length} tasks of ${options.suite} (${samples === 1 ? 'greedy' : `${samples} samples`})\n`,
    );
    // A suite in the mini language is evaluated with the mini modes' prompts and constraints, as trained.
    const modes =
      run !== undefined
        ? (await createTaskModes(run.tasks, language, executor, () => policy?.tokenizer)).modes
        : isMiniSuite(tasks)
          ? createMiniTaskModes()
          : undefined;
    const maxTokens = options.maxTokens ?? (run === undefined ? undefined : heldOutMaxTokens(run));
    const report = await evaluate({
      policy,
      executor,
      tasks,
      samples,
      ...(modes === undefined ? {} : { modes }),
      ...(maxTokens === undefined ? {} : { maxTokens }),
    });
    const record: EvalRecord = { model: folder, suite: options.suite, samples, modes: report.modes };
    for (const [mode, result] of Object.entries(report.modes)) {
      const ks = Object.entries(result.passAtK)
        .map(([k, value]) => `pass@${k} ${(100 * value).toFixed(1)}%`)
        .join('  ');
      write(`${mode.padEnd(10)} ${String(result.tasks).padStart(5)} tasks  ${ks}\n`);
    }
    if (options.out !== undefined) {
      await mkdir(dirname(options.out), { recursive: true });
      await writeFile(options.out, `${JSON.stringify(record, null, 2)}\n`);
      write(`written to ${options.out}\n`);
    }
    return record;
  } finally {
    await policy?.doDispose();
    await executor.close();
  }
}

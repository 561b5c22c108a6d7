import { createRequire } from 'node:module';
import { ONNX_EXECUTION_PROVIDERS, type OnnxExecutionProvider } from '@azr/backends/onnx';
import { ConfigError } from '@azr/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type EvalOptions, evaluateModel } from './commands/eval.js';
import { collectEnvironmentReport, formatEnvironmentReport } from './commands/info.js';
import { writeStarterConfig } from './commands/init.js';
import { type TrainOptions, train } from './commands/train.js';
import { RECIPES, type RecipeName, TRAIN_ENGINES } from './config/config.js';
import { writeReport } from './report/write-report.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

/** Where the CLI writes; injectable for tests. */
export interface CliOutput {
  readonly out: (text: string) => void;
  readonly error: (text: string) => void;
  /** Whether `out` is a terminal (live progress line) or a pipe or file (plain lines). Default false. */
  readonly isTerminal?: boolean;
}

function integer(name: string, minimum: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < minimum)
      throw new InvalidArgumentError(`${name} must be an integer of at least ${minimum}.`);
    return parsed;
  };
}

/**
 * `--execution-provider`: repeatable, and each value may be a comma list (`cuda,cpu`), kept in the order given
 * (onnxruntime's order of preference).
 */
function executionProviders(
  value: string,
  previous: OnnxExecutionProvider[] | undefined,
): OnnxExecutionProvider[] {
  const names = value.split(',').map((name) => name.trim());
  for (const name of names)
    if (!(ONNX_EXECUTION_PROVIDERS as readonly string[]).includes(name))
      throw new InvalidArgumentError(
        `Allowed execution providers are ${ONNX_EXECUTION_PROVIDERS.join(', ')} (a comma list, or the option repeated).`,
      );
  const providers = [...(previous ?? []), ...(names as OnnxExecutionProvider[])];
  const repeated = providers.find((name, index) => providers.indexOf(name) !== index);
  if (repeated !== undefined) throw new InvalidArgumentError(`"${repeated}" is named twice.`);
  return providers;
}

const EXECUTION_PROVIDER_FLAG = '--execution-provider <name>';

/** A command's options as commander parses them: the providers under the flag's name. */
type ParsedOptions<T> = Omit<T, 'executionProviders'> & { executionProvider?: OnnxExecutionProvider[] };

/** `--execution-provider` under the name the commands take. */
function executionProvidersOption(executionProvider: OnnxExecutionProvider[] | undefined): {
  executionProviders?: readonly OnnxExecutionProvider[];
} {
  return executionProvider === undefined ? {} : { executionProviders: executionProvider };
}

/**
 * Stops a run cleanly on the first Ctrl-C (after the current step, with a checkpoint) and at once on the
 * second. Returns the signal and a function that removes the handler.
 */
function interruptOnSigint(output: CliOutput): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) {
      output.error('\nazr: stopped without a checkpoint for this step; the last checkpoint is intact.\n');
      process.exit(130);
    }
    output.error('\nazr: stopping after this step and writing a checkpoint (Ctrl-C again to quit now).\n');
    controller.abort();
  };
  process.on('SIGINT', handler);
  return { signal: controller.signal, release: () => process.off('SIGINT', handler) };
}

/** Builds the `azr` command. `--help` lists exactly these commands. */
export function createProgram(output: CliOutput): Command {
  const program = new Command('azr')
    .description('Absolute Zero: train language models by self-play, with zero external data.')
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run azr --help for usage)')
    .configureOutput({ writeOut: output.out, writeErr: output.error })
    .exitOverride();

  program
    .command('train')
    .description(
      'run Absolute Zero self-play training; with no options, a tiny model from scratch on the CPU, JavaScript tasks',
    )
    .option('-c, --config <file>', 'azr.config.json to read (default: ./azr.config.json when present)')
    .addOption(
      new Option(
        '--recipe <name>',
        "a named set of defaults: paper (the paper's recipe: Python, its prompts, TRR++, AdamW 1e-6, seeding)",
      ).choices([...RECIPES]),
    )
    .option(
      '--model <dir>',
      'a Hugging Face style model folder (config.json, model.safetensors, tokenizer.json)',
    )
    .addOption(
      new Option('--engine <engine>', 'engine that generates and trains').choices([...TRAIN_ENGINES]),
    )
    .addOption(
      new Option('--language <language>', 'language of the programs').choices(['javascript', 'python']),
    )
    .option('--steps <n>', 'self-play steps in total', integer('--steps', 1))
    .option('--seed <n>', 'seed of every random choice', integer('--seed', 0))
    .option(
      EXECUTION_PROVIDER_FLAG,
      `onnxruntime execution provider, in order of preference (repeat it or give a comma list): ${ONNX_EXECUTION_PROVIDERS.join(', ')} (default: cpu, or the config's executionProviders; with --resume, the run's)`,
      executionProviders,
    )
    .option('--out <dir>', 'run directory (default: runs/azr-<date>-<time>)')
    .option('--resume <dir>', 'continue the run in this directory from its last checkpoint')
    .action(async ({ executionProvider, ...parsed }: ParsedOptions<TrainOptions>) => {
      const options: TrainOptions = { ...parsed, ...executionProvidersOption(executionProvider) };
      if (options.resume !== undefined) {
        const conflicting = (
          ['config', 'recipe', 'model', 'engine', 'language', 'seed', 'out'] as const
        ).filter((name) => options[name] !== undefined);
        if (conflicting.length > 0)
          throw new ConfigError(
            `--resume continues a run with its recorded config; drop ${conflicting.map((name) => `--${name}`).join(', ')} (--steps may set a new total, --execution-provider the devices).`,
            { field: 'resume' },
          );
      }
      const { signal, release } = interruptOnSigint(output);
      try {
        await train(options, { write: output.out, isTerminal: output.isTerminal ?? false }, signal);
      } finally {
        release();
      }
    });

  program
    .command('report')
    .description('write report.html for a run directory: learning curves, tasks, verdicts, flagged outputs')
    .argument('<run-dir>', 'the run directory')
    .action(async (directory: string) => {
      output.out(`${await writeReport(directory)}\n`);
    });

  program
    .command('eval')
    .description('evaluate a model or a run checkpoint on a suite and print the accuracy per mode')
    .requiredOption('--model <dir>', 'a model folder, an ONNX export folder, or a run directory')
    .requiredOption(
      '--suite <file>',
      'a JSONL suite (the @azr/core evaluation format; CRUXEval layout included)',
    )
    .addOption(new Option('--language <language>', 'language of the suite').choices(['javascript', 'python']))
    .addOption(
      new Option('--engine <engine>', 'engine that generates').choices(['onnx', 'tfjs']).default('onnx'),
    )
    .option('--samples <n>', 'completions per task (1: greedy; more: pass@k)', integer('--samples', 1), 1)
    .option('--max-tokens <n>', 'most tokens per completion', integer('--max-tokens', 1))
    .option(
      EXECUTION_PROVIDER_FLAG,
      `onnxruntime execution provider of the onnx engine, in order of preference (repeat it or give a comma list): ${ONNX_EXECUTION_PROVIDERS.join(', ')} (default: cpu)`,
      executionProviders,
    )
    .option('--out <file>', 'write the results as JSON (a run directory shows evaluation.json in its report)')
    .action(async ({ executionProvider, ...parsed }: ParsedOptions<EvalOptions>) => {
      await evaluateModel({ ...parsed, ...executionProvidersOption(executionProvider) }, output.out);
    });

  program
    .command('init')
    .description('write a commented starter azr.config.json')
    .option('--path <file>', 'where to write it', 'azr.config.json')
    .addOption(new Option('--recipe <name>', 'start from a named set of defaults').choices([...RECIPES]))
    .option('--force', 'overwrite an existing file')
    .action(async (options: { path: string; force?: boolean; recipe?: RecipeName }) => {
      await writeStarterConfig(options.path, options.force ?? false, options.recipe);
      output.out(`wrote ${options.path}; edit it, then run azr train\n`);
    });

  program
    .command('info')
    .description('show the SDK versions and which model runtimes are installed and load on this machine')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      const report = await collectEnvironmentReport();
      output.out(`${options.json ? JSON.stringify(report, null, 2) : formatEnvironmentReport(report)}\n`);
    });

  return program;
}

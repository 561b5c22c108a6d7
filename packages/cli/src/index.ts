import { AzrError } from '@azr/core';
import { CommanderError } from 'commander';
import { type CliOutput, createProgram } from './program.js';

export { type EvalOptions, type EvalRecord, evaluateModel } from './commands/eval.js';
export {
  collectEnvironmentReport,
  type EnvironmentReport,
  formatEnvironmentReport,
  type RuntimeStatus,
} from './commands/info.js';
export { starterConfig, writeStarterConfig } from './commands/init.js';
export { type TrainOptions, type TrainOutcome, train } from './commands/train.js';
export {
  DEFAULT_TRAIN_CONFIG,
  parseTrainConfig,
  readTrainConfig,
  resolveTrainConfig,
  TRAIN_ENGINES,
  type TrainConfig,
  type TrainConfigInput,
  type TrainEngine,
  trainConfigSchema,
} from './config/config.js';
export { type CliOutput, createProgram } from './program.js';
export { readRunData, renderReport, writeReport } from './report/write-report.js';

const processOutput: CliOutput = {
  out: (text) => process.stdout.write(text),
  error: (text) => process.stderr.write(text),
  isTerminal: process.stdout.isTTY === true,
};

/**
 * Runs the `azr` command line and resolves to the exit code. Errors end as one clear line on stderr, never a
 * stack trace (set `AZR_DEBUG=1` to see one).
 */
export async function main(argv: readonly string[], output: CliOutput = processOutput): Promise<number> {
  const program = createProgram(output);
  if (argv.length <= 2) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the message (or the help / version, which exit with 0).
      return error.exitCode;
    }
    if (AzrError.isInstance(error)) {
      output.error(`azr: ${error.message}\n`);
    } else {
      output.error(`azr: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
    }
    if (process.env.AZR_DEBUG) {
      output.error(`${(error as Error)?.stack ?? ''}\n`);
    }
    return 1;
  }
}

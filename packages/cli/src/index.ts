import { AzrError } from '@azr/core';
import { CommanderError } from 'commander';
import { type CliOutput, createProgram } from './program.js';

export {
  collectEnvironmentReport,
  type EnvironmentReport,
  formatEnvironmentReport,
  type RuntimeStatus,
} from './commands/info.js';
export { type CliOutput, createProgram } from './program.js';

const processOutput: CliOutput = {
  out: (text) => process.stdout.write(text),
  error: (text) => process.stderr.write(text),
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

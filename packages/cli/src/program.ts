import { createRequire } from 'node:module';
import { Command } from 'commander';
import { collectEnvironmentReport, formatEnvironmentReport } from './commands/info.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

/** Where the CLI writes; injectable for tests. */
export interface CliOutput {
  readonly out: (text: string) => void;
  readonly error: (text: string) => void;
}

/** Builds the `azr` command. Commands are added here as the SDK grows; `--help` lists exactly these. */
export function createProgram(output: CliOutput): Command {
  const program = new Command('azr')
    .description('Absolute Zero: train language models by self-play, with zero external data.')
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run azr --help for usage)')
    .configureOutput({ writeOut: output.out, writeErr: output.error })
    .exitOverride();

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

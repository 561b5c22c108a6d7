import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RUN_FILES } from '../train/run-directory.js';
import { renderReport } from './render-html.js';
import { readRunData } from './run-data.js';

// The package's entry point exports these from here.
export { renderReport } from './render-html.js';
export { readRunData } from './run-data.js';

/** Writes `report.html` into a run directory and returns its path. */
export async function writeReport(directory: string): Promise<string> {
  const path = join(directory, RUN_FILES.report);
  await writeFile(path, renderReport(await readRunData(directory)));
  return path;
}

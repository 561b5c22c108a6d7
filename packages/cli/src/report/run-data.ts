import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFormatError, type MonitorFlagEvent, type TrainerEvent } from '@azr/core';
import { type HeldOutRecord, RUN_FILES, type SampleRecord } from '../train/run-directory.js';

async function readJsonl<T>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const records: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      // A line cut short by a kill; the rest of the file is still worth showing.
    }
  }
  return records;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Everything a report shows, read from a run directory. */
export interface RunData {
  readonly directory: string;
  readonly config: unknown;
  readonly events: readonly TrainerEvent[];
  readonly samples: readonly SampleRecord[];
  readonly flagged: readonly MonitorFlagEvent[];
  readonly evaluation: unknown;
  /** The evaluation of the model before training, where the run made one. */
  readonly initialEvaluation?: unknown;
  /** A mini run's held-out accuracy during training (`heldout.jsonl`), step 0 the untrained model. */
  readonly heldOut?: readonly HeldOutRecord[];
}

/** Reads a run directory. Throws `ModelFormatError` when it has no metrics at all. */
export async function readRunData(directory: string): Promise<RunData> {
  const events = await readJsonl<TrainerEvent>(join(directory, RUN_FILES.metrics));
  if (events.length === 0)
    throw new ModelFormatError(`${directory} has no ${RUN_FILES.metrics}: is it an azr run directory?`, {
      path: directory,
    });
  return {
    directory,
    config: await readJson(join(directory, RUN_FILES.config)),
    events,
    samples: await readJsonl<SampleRecord>(join(directory, RUN_FILES.samples)),
    flagged: await readJsonl<MonitorFlagEvent>(join(directory, RUN_FILES.flagged)),
    evaluation: await readJson(join(directory, RUN_FILES.evaluation)),
    initialEvaluation: await readJson(join(directory, RUN_FILES.initialEvaluation)),
    heldOut: await readJsonl<HeldOutRecord>(join(directory, RUN_FILES.heldOut)),
  };
}

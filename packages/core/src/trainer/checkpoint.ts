import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskBuffer } from '../buffers/task-buffer.js';
import { ModelFormatError } from '../errors/errors.js';
import type { PolicyModelV1 } from '../spec/policy-model.js';
import type { RandomState } from '../spec/random-source.js';
import type { TaskBase, TaskModeName } from '../spec/task.js';
import type { TrainerSettings } from './settings.js';

const FORMAT = 'azr-checkpoint';
const VERSION = 1;

/** What a checkpoint holds besides the policy. */
export interface CheckpointState {
  readonly format: typeof FORMAT;
  readonly version: typeof VERSION;
  /** The number of completed steps. */
  readonly step: number;
  readonly random: RandomState;
  readonly settings: TrainerSettings;
  readonly modes: readonly TaskModeName[];
  /**
   * Whether the seeding stage is over (or there is none). Checkpoints written before seeding existed lack it:
   * they are seeded.
   */
  readonly seeded?: boolean;
}

/** A checkpoint read back from disk. */
export interface LoadedCheckpoint {
  readonly directory: string;
  readonly policyDirectory: string;
  readonly state: CheckpointState;
  readonly buffers: ReadonlyMap<TaskModeName, TaskBase[]>;
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncTree(directory: string): Promise<void> {
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else await syncPath(path);
  }
  await syncPath(directory);
}

function bufferFile(mode: TaskModeName): string {
  return `${encodeURIComponent(mode)}.jsonl`;
}

/**
 * Writes a checkpoint atomically: everything goes into a temporary folder, which is flushed to disk and then
 * renamed into place, and only then does the `latest` pointer (itself written to a temporary file, flushed
 * and renamed) move to it. A process killed at any moment leaves either the previous checkpoint or the new one
 * as `latest`, never a half-written one. Older checkpoints beyond `keep` are removed afterwards.
 */
export async function writeCheckpoint(
  runDirectory: string,
  state: CheckpointState,
  buffers: ReadonlyMap<TaskModeName, TaskBuffer<TaskBase>>,
  policy: PolicyModelV1,
  keep = 2,
): Promise<string> {
  const root = join(runDirectory, 'checkpoints');
  await mkdir(root, { recursive: true });
  const name = `step-${String(state.step).padStart(8, '0')}`;
  // One writer per run: temporary files left here were abandoned by a writer that was killed.
  for (const entry of await readdir(root)) {
    if (entry.startsWith('.tmp-')) await rm(join(root, entry), { recursive: true, force: true });
  }
  const temporary = join(root, `.tmp-${name}-${process.pid}`);
  await mkdir(join(temporary, 'policy'), { recursive: true });
  await mkdir(join(temporary, 'buffers'));
  await policy.doSave(join(temporary, 'policy'));
  for (const [mode, buffer] of buffers) {
    await writeFile(join(temporary, 'buffers', bufferFile(mode)), buffer.toJsonl());
  }
  await writeFile(join(temporary, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  await syncTree(temporary);
  const final = join(root, name);
  await rm(final, { recursive: true, force: true });
  await rename(temporary, final);
  const pointer = join(root, `.tmp-latest-${process.pid}`);
  await writeFile(pointer, `${name}\n`);
  await syncPath(pointer);
  await rename(pointer, join(root, 'latest'));
  await syncPath(root);
  const older = (await readdir(root)).filter((entry) => /^step-\d{8}$/.test(entry) && entry < name).sort();
  for (const entry of older.slice(0, Math.max(0, older.length - (keep - 1)))) {
    await rm(join(root, entry), { recursive: true, force: true });
  }
  return final;
}

/**
 * Finds the latest complete checkpoint of a run without reading it: its folder and its policy's folder, or
 * `undefined` when the run has none. For tools that only need the saved model (evaluating a run), so that they
 * follow the `latest` pointer the way {@link readLatestCheckpoint} does rather than by hand.
 */
export async function latestCheckpointDirectory(
  runDirectory: string,
): Promise<{ readonly directory: string; readonly policyDirectory: string } | undefined> {
  const root = join(runDirectory, 'checkpoints');
  let name: string;
  try {
    name = (await readFile(join(root, 'latest'), 'utf8')).trim();
  } catch {
    return undefined;
  }
  const directory = join(root, name);
  return { directory, policyDirectory: join(directory, 'policy') };
}

/** Reads the latest complete checkpoint of a run, or `undefined` when it has none. */
export async function readLatestCheckpoint(runDirectory: string): Promise<LoadedCheckpoint | undefined> {
  const latest = await latestCheckpointDirectory(runDirectory);
  if (latest === undefined) return undefined;
  const { directory, policyDirectory } = latest;
  const fail = (what: string, cause?: unknown): never => {
    throw new ModelFormatError(
      `The checkpoint ${directory} is unreadable: ${what}.`,
      { path: directory },
      { cause },
    );
  };
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(join(directory, 'state.json'), 'utf8')) as CheckpointState;
  } catch (error) {
    return fail('state.json is missing or not JSON', error);
  }
  if (state.format !== FORMAT || state.version !== VERSION || !Number.isInteger(state.step)) {
    fail(`state.json is not a version ${VERSION} checkpoint`);
  }
  const buffers = new Map<TaskModeName, TaskBase[]>();
  for (const mode of state.modes) {
    try {
      // The run's own file: read as written (custom modes' tasks included), without re-validation.
      const text = await readFile(join(directory, 'buffers', bufferFile(mode)), 'utf8');
      buffers.set(
        mode,
        text
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as TaskBase),
      );
    } catch (error) {
      fail(`the ${mode} buffer is missing or malformed`, error);
    }
  }
  return { directory, policyDirectory, state, buffers };
}

export { FORMAT as CHECKPOINT_FORMAT, VERSION as CHECKPOINT_VERSION };

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./fixtures/self-play-child.mjs', import.meta.url));
const directories: string[] = [];
afterAll(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function runDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'azr-kill-'));
  directories.push(directory);
  return directory;
}

/** Runs the child; with `killAfter`, kills it with SIGKILL as soon as it prints that line. */
function runChild(
  directory: string,
  untilStep: number,
  action: 'start' | 'resume',
  killAfter?: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const process_: ChildProcess = spawn(process.execPath, [child, directory, String(untilStep), action], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let pending = '';
    process_.stdout?.setEncoding('utf8');
    process_.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line === killAfter) process_.kill('SIGKILL');
      }
    });
    process_.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    process_.on('error', reject);
    process_.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`the child failed (${code}): ${stderr}`));
      else resolve({ code, signal, lines });
    });
  });
}

async function finalState(directory: string): Promise<Record<string, string>> {
  const checkpoint = join(directory, 'checkpoints', 'step-00000006');
  const state = JSON.parse(await readFile(join(checkpoint, 'state.json'), 'utf8')) as {
    step: number;
    random: unknown;
  };
  const files: Record<string, string> = { step: String(state.step), random: JSON.stringify(state.random) };
  for (const name of await readdir(join(checkpoint, 'buffers')))
    files[name] = await readFile(join(checkpoint, 'buffers', name), 'utf8');
  files.policy = await readFile(join(checkpoint, 'policy', 'mock-policy.json'), 'utf8');
  return files;
}

describe('a self-play run killed with SIGKILL', () => {
  it('resumes from its last checkpoint into the state of an uninterrupted run, wherever it was killed', async () => {
    const straight = await runDirectory();
    await runChild(straight, 6, 'start');
    const expected = await finalState(straight);

    // Killed between a step's end and its checkpoint, right after a checkpoint, and at the end of a later step.
    for (const killAfter of ['step 2', 'checkpoint 3', 'step 5']) {
      const directory = await runDirectory();
      const killed = await runChild(directory, 6, 'start', killAfter);
      expect(killed.signal, `killed after "${killAfter}"`).toBe('SIGKILL');
      const resumed = await runChild(directory, 6, 'resume');
      expect(resumed.code).toBe(0);
      const firstResumedStep = Number(resumed.lines.find((line) => line.startsWith('step '))?.split(' ')[1]);
      const lastCheckpoint = Math.max(
        ...killed.lines
          .filter((line) => line.startsWith('checkpoint '))
          .map((line) => Number(line.split(' ')[1])),
      );
      expect(firstResumedStep).toBe(lastCheckpoint + 1);
      expect(await finalState(directory)).toEqual(expected);
      expect(
        (await readdir(join(directory, 'checkpoints'))).filter((entry) => entry.startsWith('.tmp')),
      ).toEqual([]);
    }
  }, 120_000);
});

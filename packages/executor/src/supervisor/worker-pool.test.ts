import { fileURLToPath } from 'node:url';
import { AzrError, ResourceClosedError } from '@azr/core/spec';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Job, JobResult } from '../protocol.js';
import { type WorkerLoss, WorkerPool, type WorkerPoolSettings } from './worker-pool.js';

const workerPath = fileURLToPath(new URL('./testdata/scripted-worker.mjs', import.meta.url));
const losses: { job: Job; loss: WorkerLoss }[] = [];
const pools: WorkerPool[] = [];

function createPool(overrides: Partial<WorkerPoolSettings> = {}): WorkerPool {
  const pool = new WorkerPool({
    name: 'test pool',
    workerPath,
    workerArguments: [],
    size: 1,
    maxBatchSize: 8,
    deadlineSlackMs: 200,
    startupTimeoutMs: 10_000,
    environment: process.env,
    lossResult: (job, loss) => {
      losses.push({ job, loss });
      return { ok: false, error: { kind: loss.timedOut ? 'timeout' : 'crashed', message: 'lost' } };
    },
    ...overrides,
  });
  pools.push(pool);
  return pool;
}

function job(code: string): { type: 'run'; code: string; entry: string; args: string; timeoutMs: number } {
  return { type: 'run', code, entry: 'f', args: '', timeoutMs: 100 };
}

function outcomeOf(result: JobResult): string {
  return result.ok ? ('value' in result ? result.value : 'outputs') : result.error.kind;
}

afterEach(async () => {
  losses.length = 0;
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('WorkerPool with real worker processes', () => {
  it('answers jobs in batches', async () => {
    const pool = createPool();
    const results = await Promise.all(['a', 'b', 'c'].map((code) => pool.submit(job(code))));
    expect(results.map(outcomeOf)).toEqual(['"a"', '"b"', '"c"']);
    expect(pool.statistics).toMatchObject({ workersStarted: 1, workersLost: 0, jobsCompleted: 3 });
  });

  it('kills a worker that misses its deadline, blames only the job that hung, and keeps serving', async () => {
    const pool = createPool();
    const results = await Promise.all(['a', 'hang', 'b', 'c'].map((code) => pool.submit(job(code))));
    expect(results.map(outcomeOf)).toEqual(['"a"', 'timeout', '"b"', '"c"']);
    expect(losses).toHaveLength(1);
    expect(losses[0]?.job).toMatchObject({ code: 'hang' });
    expect(losses[0]?.loss).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(outcomeOf(await pool.submit(job('after')))).toBe('"after"');
    expect(pool.statistics.workersLost).toBe(2);
  });

  it('replaces a worker that dies, blaming the job that killed it', async () => {
    const pool = createPool({ size: 2 });
    const results = await Promise.all(['a', 'exit', 'b'].map((code) => pool.submit(job(code))));
    expect(results.map(outcomeOf)).toEqual(['"a"', 'crashed', '"b"']);
    expect(losses.map((loss) => loss.loss)).toEqual([
      expect.objectContaining({ timedOut: false, exitCode: 7 }),
    ]);
  });

  it('gives up with an AzrError carrying the worker output when workers cannot start', async () => {
    const pool = createPool({ workerArguments: ['broken'] });
    const failure = await pool.submit(job('a')).catch((error: unknown) => error);
    expect(AzrError.isInstance(failure)).toBe(true);
    expect((failure as Error).message).toContain('broken on purpose');
    await expect(pool.submit(job('b'))).rejects.toBe(failure);
  });

  it('rejects queued and later jobs with ResourceClosedError once closed', async () => {
    const pool = createPool();
    const rejection = expect(pool.submit(job('hang'))).rejects.toSatisfy((error: unknown) =>
      ResourceClosedError.isInstance(error),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close();
    await rejection;
    await expect(pool.submit(job('a'))).rejects.toSatisfy((error: unknown) =>
      ResourceClosedError.isInstance(error),
    );
  });
});

describe('WorkerPool with two batches outstanding per worker', () => {
  it('sends the next batch before the worker answered the first', async () => {
    const pool = createPool({ maxBatchSize: 1, deadlineSlackMs: 900 });
    const results = await Promise.all(['sleep:300', 'a'].map((code) => pool.submit(job(code))));
    // The first job answers with the number of batches its worker had received when it finished.
    expect(results.map(outcomeOf)).toEqual(['2', '"a"']);
  });

  it('counts a batch deadline from when the batch before it is answered', async () => {
    // Each batch may take 1,000 ms (one 100 ms job plus 900 ms slack) and takes 600; counted from sending,
    // the second would miss its deadline.
    const pool = createPool({ maxBatchSize: 1, deadlineSlackMs: 900 });
    const results = await Promise.all(['sleep:600', 'sleep:600'].map((code) => pool.submit(job(code))));
    expect(results.map((result) => result.ok)).toEqual([true, true]);
    expect(pool.statistics.workersLost).toBe(0);
  });

  it('runs every job a crashed worker held again alone, and blames only the one that crashed it', async () => {
    const pool = createPool({ maxBatchSize: 2 });
    // Batches [a, exit] and [b, c] are both on the worker when it dies during the first.
    const results = await Promise.all(['a', 'exit', 'b', 'c'].map((code) => pool.submit(job(code))));
    expect(results.map(outcomeOf)).toEqual(['"a"', 'crashed', '"b"', '"c"']);
    expect(losses.map((loss) => loss.job)).toEqual([expect.objectContaining({ code: 'exit' })]);
    expect(losses[0]?.loss).toMatchObject({ timedOut: false, exitCode: 7 });
    expect(pool.statistics).toMatchObject({ workersLost: 2, jobsCompleted: 3 });
  });

  it('blames the crash on the second batch when the first was answered', async () => {
    const pool = createPool({ maxBatchSize: 2 });
    const results = await Promise.all(['a', 'b', 'exit', 'c'].map((code) => pool.submit(job(code))));
    expect(results.map(outcomeOf)).toEqual(['"a"', '"b"', 'crashed', '"c"']);
    expect(losses.map((loss) => loss.job)).toEqual([expect.objectContaining({ code: 'exit' })]);
  });

  it('a stuck batch times out alone: the batch behind it gets its results', async () => {
    const pool = createPool({ maxBatchSize: 2 });
    const results = await Promise.all(['hang', 'a', 'b', 'c'].map((code) => pool.submit(job(code))));
    expect(results.map(outcomeOf)).toEqual(['timeout', '"a"', '"b"', '"c"']);
    expect(losses).toHaveLength(1);
    expect(losses[0]?.job).toMatchObject({ code: 'hang' });
    expect(losses[0]?.loss).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(outcomeOf(await pool.submit(job('after')))).toBe('"after"');
  });

  it('keeps serving many jobs with crashes among them on several workers', async () => {
    const pool = createPool({ size: 2, maxBatchSize: 4 });
    const codes = Array.from({ length: 40 }, (_, index) => (index % 13 === 5 ? 'exit' : `job${index}`));
    const results = await Promise.all(codes.map((code) => pool.submit(job(code))));
    expect(results.map(outcomeOf)).toEqual(
      codes.map((code) => (code === 'exit' ? 'crashed' : JSON.stringify(code))),
    );
    expect(losses.map((loss) => loss.job)).toEqual(
      codes.filter((code) => code === 'exit').map((code) => expect.objectContaining({ code })),
    );
  });

  it('holds the event loop only while it has work, also after a worker was replaced', async () => {
    // Referenced pipes: a worker's IPC channel and its stderr each count one while they hold the event loop.
    const pipes = () => process.getActiveResourcesInfo().filter((name) => name === 'PipeWrap').length;
    const before = pipes();
    const pool = createPool();
    expect(pipes()).toBe(before);
    const running = pool.submit(job('sleep:200'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pipes()).toBe(before + 2);
    await running;
    await vi.waitFor(() => expect(pipes()).toBe(before));
    expect(outcomeOf(await pool.submit(job('exit')))).toBe('crashed');
    await vi.waitFor(() => expect(pipes()).toBe(before));
    expect(outcomeOf(await pool.submit(job('after')))).toBe('"after"');
    await vi.waitFor(() => expect(pipes()).toBe(before));
  });

  it('with one batch per worker, sends the next batch only after the first is answered', async () => {
    const pool = createPool({ maxBatchSize: 1, maxBatchesPerWorker: 1, deadlineSlackMs: 900 });
    const results = await Promise.all(['sleep:300', 'a'].map((code) => pool.submit(job(code))));
    expect(results.map(outcomeOf)).toEqual(['1', '"a"']);
  });
});

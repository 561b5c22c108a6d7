import { fileURLToPath } from 'node:url';
import { AzrError, ResourceClosedError } from '@azr/core/spec';
import { afterEach, describe, expect, it } from 'vitest';
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

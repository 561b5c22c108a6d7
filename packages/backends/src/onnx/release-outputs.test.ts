import { afterEach, describe, expect, it, vi } from 'vitest';
import { adviseAllocator, allocatorAdvice } from './release-outputs.js';

describe('allocatorAdvice', () => {
  const situation = {
    platform: 'linux',
    glibc: true,
    environment: {},
    weightBytes: 2 * 2 ** 30,
    callPerMicroBatch: true,
  };

  it('tells a glibc process that returns weights-sized gradients every call how to reuse that memory', () => {
    const advice = allocatorAdvice(situation);
    expect(advice).toContain('MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736');
    expect(advice).toContain('2.0 GiB');
  });

  it('says nothing where it does not apply', () => {
    expect(allocatorAdvice({ ...situation, environment: { MALLOC_MMAP_MAX_: '0' } })).toBeUndefined();
    expect(allocatorAdvice({ ...situation, platform: 'darwin' })).toBeUndefined();
    expect(allocatorAdvice({ ...situation, glibc: false })).toBeUndefined();
    // One call a step (the micro-batch loop): measured no slower without the variables.
    expect(allocatorAdvice({ ...situation, callPerMicroBatch: false })).toBeUndefined();
    expect(allocatorAdvice({ ...situation, weightBytes: 100 * 2 ** 20 })).toBeUndefined();
  });
});

describe('adviseAllocator', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('warns only where the advice applies, and at most once per process', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    adviseAllocator(2 * 2 ** 30, false);
    adviseAllocator(10 * 2 ** 20, true);
    expect(warn).not.toHaveBeenCalled();
    adviseAllocator(2 * 2 ** 30, true);
    adviseAllocator(2 * 2 ** 30, true);
    const applies = allocatorAdvice({
      platform: process.platform,
      glibc:
        typeof (process.report?.getReport() as { header?: { glibcVersionRuntime?: unknown } } | undefined)
          ?.header?.glibcVersionRuntime === 'string',
      environment: process.env,
      weightBytes: 2 * 2 ** 30,
      callPerMicroBatch: true,
    });
    expect(warn).toHaveBeenCalledTimes(applies === undefined ? 0 : 1);
    if (applies !== undefined) expect(warn.mock.calls[0]?.[1]).toEqual({ code: 'AZR_GLIBC_ALLOCATOR' });
  });
});

import { join } from 'node:path';
import { type Completion, ConfigError, createByteTokenizer, type GenerateRequest } from '@azr/core/spec';
import { describe, expect, it } from 'vitest';
import { initializeLlamaWeights } from '../model/weights.js';
import { ContextClamp } from '../shared/sampling.js';
import { fixturesDirectory } from '../testing/fixtures.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { type ArrangedRow, type DecoderCache, DecoderSession, readDecoderLayout } from './decoder-session.js';
import { cacheSlack, generateCompletions } from './generation.js';
import { toGraphLayout } from './layout.js';
import { buildLlamaGraph } from './llama-graph.js';
import { createOnnxPolicy } from './policy.js';
import { generationRows } from './policy-parts.js';
import { openRolloutSession } from './rollout-session.js';
import { loadOnnxRuntime } from './runtime.js';
import { openSession } from './session.js';

/** One run of a decoder: a prefill (no cache in) or a decode step, its rows, and each row's last position id. */
interface RecordedRun {
  readonly prefill: boolean;
  readonly rows: number;
  readonly positions: readonly number[];
}

/**
 * The decoder with its runs recorded, and its cache layouts counted: `arrange` (buffers laid out anew) and
 * `place` (rows written in place).
 */
function recording(decoder: DecoderSession) {
  const runs: RecordedRun[] = [];
  const counts = { arrange: 0, place: 0 };
  const recorded = Object.create(decoder) as DecoderSession;
  recorded.run = (step) => {
    runs.push({
      prefill: step.cache === undefined,
      rows: step.tokenIds.length,
      positions: step.positionIds.map((row) => row.at(-1) as number),
    });
    return decoder.run(step);
  };
  recorded.arrange = (rows: readonly (ArrangedRow | undefined)[], length: number, capacity: number) => {
    counts.arrange += 1;
    return decoder.arrange(rows, length, capacity);
  };
  recorded.place = (cache: DecoderCache, rows: readonly (ArrangedRow & { readonly at: number })[]) => {
    counts.place += 1;
    decoder.place(cache, rows);
  };
  return { decoder: recorded, runs, counts };
}

function expectSameCompletions(
  actual: readonly Completion[],
  expected: readonly Completion[],
  tolerance: number,
) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((completion, index) => {
    const other = expected[index] as Completion;
    expect(completion.tokenIds, `prompt ${index}`).toEqual(other.tokenIds);
    expect(completion.finishReason, `prompt ${index}`).toBe(other.finishReason);
    completion.logProbs.forEach((logProb, position) => {
      expect(Math.abs(logProb - (other.logProbs[position] as number)), `prompt ${index}`).toBeLessThan(
        tolerance,
      );
    });
  });
}

const tokenizer = createByteTokenizer();

// Prompts of many lengths, repeated ones among them (their prefill shared when they join together), and a long
// one late in the queue (longer than the batch's filled positions when it joins).
const texts = [
  'f(4)=',
  'def f(a):\n    return a',
  'x = [1, 2',
  'q',
  'f(4)=',
  'f(4)=',
  'function g(y) {',
  'return',
  'abc',
  'def f(a):\n    return [b * 2 for b in a if b % 3 == 1] + sorted(a, reverse=True)',
  'let t = 0;',
  'f(4)=',
  'while True:',
];
const prompts = texts.map((prompt, index) => ({ prompt, index }));
// Any vowel or digit ends a completion: with the byte tokenizer, rows end at many different steps.
const stop = [...'aeiou0123456789'];
const requests: Omit<GenerateRequest, 'prompts'>[] = [
  { seed: 5, temperature: 1, topP: 1, maxTokens: 14, stop },
  { seed: 6, temperature: 0.7, topP: 1, maxTokens: 10, stop, greedy: true },
  // A nucleus below 1: every token from the logits, in JavaScript.
  { seed: 7, temperature: 1, topP: 0.9, maxTokens: 12, stop },
  // No stop: every row runs to maxTokens, and the batch takes the next prompts all at once.
  { seed: 8, temperature: 1, topP: 1, maxTokens: 6 },
];

/** The SDK's rollout graph (append cache, sampling) of the small test model, and generation bounds for it. */
async function smallRollout(seed: number) {
  const config = SMALL_TEST_CONFIG;
  const weights = toGraphLayout(initializeLlamaWeights(config, { seed, standardDeviation: 0.1 }));
  const runtime = await loadOnnxRuntime();
  const rollout = await openRolloutSession(runtime, config, () => weights, {}, 'shared');
  const bounds = {
    clamp: new ContextClamp('small', config.maxPositionEmbeddings),
    stopTokenIds: new Set<number>(),
  };
  return { rollout, bounds };
}

/** The same weights in the Hugging Face layout for other runtimes: a concat graph (its whole cache out). */
async function exportedDecoder(
  runtime: Awaited<ReturnType<typeof loadOnnxRuntime>>,
  weights: ReturnType<typeof initializeLlamaWeights>,
) {
  const session = await openSession(runtime, await buildLlamaGraph(SMALL_TEST_CONFIG, weights), {});
  return new DecoderSession(
    runtime,
    session,
    readDecoderLayout(session.inputMetadata, session.outputMetadata, undefined),
  );
}

describe('generateCompletions', () => {
  it('keeps the decode batch full while prompts wait, and gives every completion it gives alone', async () => {
    const { rollout, bounds } = await smallRollout(3);
    const totals = { arrange: 0, place: 0 };
    for (const request of requests) {
      const full = { ...request, prompts: texts };
      const alone = await generateCompletions(rollout, tokenizer, bounds, prompts, full, 1);
      const { decoder, runs, counts } = recording(rollout);
      const together = await generateCompletions(decoder, tokenizer, bounds, prompts, full, 3);
      expectSameCompletions(together, alone, 1e-5);
      // A row riding along runs position 0; a live row its next position (at least its prompt's length).
      const lastJoin = runs.findLastIndex((run) => run.prefill);
      const decodeRuns = runs.slice(0, lastJoin).filter((run) => !run.prefill);
      expect(decodeRuns.length, `seed ${request.seed}`).toBeGreaterThan(0);
      for (const run of decodeRuns) {
        expect(run.rows).toBe(3);
        expect(run.positions.every((position) => position > 0)).toBe(true);
      }
      // Prompts joined while others were decoding: a prefill after the first decode step.
      expect(lastJoin).toBeGreaterThan(runs.findIndex((run) => !run.prefill));
      totals.arrange += counts.arrange;
      totals.place += counts.place;
    }
    // Both ways of writing a joining prompt into the batch ran.
    expect(totals.place).toBeGreaterThan(0);
    expect(totals.arrange).toBeGreaterThan(0);
    await rollout.session.release();
  });

  it('runs fewer decode steps than batches of the same rows one after the other', async () => {
    const { rollout, bounds } = await smallRollout(3);
    const request = { ...(requests[0] as GenerateRequest), prompts: texts };
    const joined = recording(rollout);
    await generateCompletions(joined.decoder, tokenizer, bounds, prompts, request, 3);
    // The same prompts in batches of 3, one after the other.
    const batched = recording(rollout);
    await generateCompletions(batched.decoder, tokenizer, bounds, prompts, request, 3, false);
    const decodeSteps = (runs: RecordedRun[]) => runs.filter((run) => !run.prefill).length;
    expect(decodeSteps(joined.runs)).toBeLessThan(decodeSteps(batched.runs));
    await rollout.session.release();
  });

  it('runs the prompts in batches one after the other without joining, finished rows still leaving', async () => {
    const { rollout, bounds } = await smallRollout(3);
    const request = { ...(requests[0] as GenerateRequest), prompts: texts };
    const { decoder, runs } = recording(rollout);
    const inBatches = await generateCompletions(decoder, tokenizer, bounds, prompts, request, 3, false);
    expectSameCompletions(
      inBatches,
      await generateCompletions(rollout, tokenizer, bounds, prompts, request, 1),
      1e-5,
    );
    // One prefill per batch of 3, and within a batch, once half its rows have finished, the others go on alone.
    expect(runs.filter((run) => run.prefill).length).toBe(Math.ceil(texts.length / 3));
    const lastPrefill = runs.findLastIndex((run) => run.prefill);
    expect(runs.slice(0, lastPrefill).some((run) => !run.prefill && run.rows < 3)).toBe(true);
    await rollout.session.release();
  });

  it('refuses a prompt that encodes to no tokens with a ConfigError, before generating any', async () => {
    const { rollout, bounds } = await smallRollout(3);
    const { decoder, runs } = recording(rollout);
    const request = { seed: 1, temperature: 1, topP: 1, maxTokens: 4, prompts: ['abc', 'x', '', 'q'] };
    await expect(
      generateCompletions(
        decoder,
        tokenizer,
        bounds,
        request.prompts.map((prompt, index) => ({ prompt, index })),
        request,
        2,
      ),
    ).rejects.toSatisfy(
      (error: unknown) =>
        ConfigError.isInstance(error) && error.details.field === 'prompts' && /Prompt 2 /.test(error.message),
    );
    expect(runs).toEqual([]);
    await rollout.session.release();
  });

  it('counts the rows of a batch under a cache budget with the cache that joining prompts hold', async () => {
    const config = SMALL_TEST_CONFIG;
    const weights = initializeLlamaWeights(config, { seed: 3 });
    const runtime = await loadOnnxRuntime();
    const rollout = await openRolloutSession(runtime, config, () => toGraphLayout(weights), {}, 'shared');
    const exported = await exportedDecoder(runtime, weights);
    const { session } = exported;
    const perPosition = rollout.cacheBytesPerPosition();
    expect(exported.cacheBytesPerPosition()).toBe(perPosition);
    const [longest, maxTokens] = [9, 16];
    const cacheBytes = perPosition * (longest + maxTokens) * 5;
    const request = (count: number) => ({
      prompts: Array.from({ length: count }, (_, index) => 'x'.repeat(index === 0 ? longest : 2)),
      seed: 1,
      temperature: 1,
      topP: 1,
      maxTokens,
    });
    const rows = (decoder: DecoderSession, count: number, join: boolean) =>
      generationRows({ cacheBytes, join }, decoder, tokenizer, request(count), config.maxPositionEmbeddings);
    // Five rows of the longest prompt and maxTokens. In the SDK's graph, more prompts than that join without
    // more cache per row; in a graph whose rows share their positions, a row then holds more.
    for (const decoder of [rollout, exported]) {
      expect(rows(decoder, 5, true)).toBe(5);
      expect(rows(decoder, 6, false)).toBe(5);
    }
    expect(rows(rollout, 6, true)).toBe(5);
    expect(rows(exported, 6, true)).toBe(
      Math.floor(cacheBytes / (perPosition * (longest + 2 * maxTokens + cacheSlack(maxTokens)))),
    );
    expect(rows(exported, 6, true)).toBeLessThan(5);
    await rollout.session.release();
    await session.release();
  });

  it('holds the cache within the rows it needs and the slack, laying it out anew as the batch moves on', async () => {
    const config = SMALL_TEST_CONFIG;
    const weights = initializeLlamaWeights(config, { seed: 4, standardDeviation: 0.1 });
    const runtime = await loadOnnxRuntime();
    const rollout = await openRolloutSession(runtime, config, () => toGraphLayout(weights), {}, 'shared');
    const plain = await exportedDecoder(runtime, weights);
    const { session } = plain;
    const bounds = {
      clamp: new ContextClamp('small', config.maxPositionEmbeddings),
      stopTokenIds: new Set<number>(),
    };
    // Many short prompts through 2 rows: the batch's filled positions would grow with every join if the cache
    // were never laid out anew.
    const many = Array.from({ length: 40 }, (_, index) => ({ prompt: `p${index % 7}:`, index }));
    const request = {
      seed: 9,
      temperature: 1,
      topP: 1,
      maxTokens: 8,
      stop,
      prompts: many.map(({ prompt }) => prompt),
    };
    for (const base of [rollout, plain]) {
      const caches: DecoderCache[] = [];
      const decoder = Object.create(base) as DecoderSession;
      decoder.run = async (step) => {
        const result = await base.run(step);
        // The batch's cache (a prefill's own, of the prompts that join, is copied into it).
        if (step.cache !== undefined) caches.push(result.cache);
        return result;
      };
      const together = await generateCompletions(decoder, tokenizer, bounds, many, request, 2);
      const alone = await generateCompletions(base, tokenizer, bounds, many, request, 1);
      expectSameCompletions(together, alone, 1e-5);
      // A row reads its prompt (at most 4 tokens) and its completion. The SDK's graph fills each row from its
      // start, in buffers of the longest prompt and the longest completion, allocated once. In the export, the
      // rows share their positions, which run at most the slack past the widest row before they are laid out anew.
      if (base === rollout)
        for (const cache of caches) {
          expect(cache.capacity).toBe(3 + 8);
          expect(cache.length).toBe(cache.capacity);
        }
      else {
        const longest = Math.max(...caches.map((cache) => cache.length));
        expect(longest).toBeGreaterThan(4 + 1);
        expect(longest).toBeLessThanOrEqual(4 + 8 + cacheSlack(8));
      }
    }
    await rollout.session.release();
    await session.release();
  });

  it('joins rows in a graph that returns its whole cache (the Hugging Face layout) as it does alone', async () => {
    const config = SMALL_TEST_CONFIG;
    const weights = initializeLlamaWeights(config, { seed: 3, standardDeviation: 0.1 });
    const runtime = await loadOnnxRuntime();
    const plain = await exportedDecoder(runtime, weights);
    const { session } = plain;
    expect(plain.layout.cacheMode).toBe('concat');
    const bounds = {
      clamp: new ContextClamp('small', config.maxPositionEmbeddings),
      stopTokenIds: new Set<number>(),
    };
    for (const request of requests.slice(0, 2)) {
      const full = { ...request, prompts: texts };
      const alone = await generateCompletions(plain, tokenizer, bounds, prompts, full, 1);
      const { decoder, runs } = recording(plain);
      const together = await generateCompletions(decoder, tokenizer, bounds, prompts, full, 4);
      expectSameCompletions(together, alone, 1e-5);
      expect(runs.findLastIndex((run) => run.prefill)).toBeGreaterThan(runs.findIndex((run) => !run.prefill));
    }
    await session.release();
  });
});

const fixtures = fixturesDirectory();
const gpt2 = fixtures && join(fixtures, 'tiny-random-gpt2-fp32-onnx');

describe.runIf(gpt2 !== undefined)('generation on an export by others, prompts joining', () => {
  it("gives GPT-2's past_N layout the completions it gives one prompt at a time", async () => {
    const joined = await createOnnxPolicy({ model: { directory: gpt2 as string }, batchSize: 3 });
    const alone = await createOnnxPolicy({ model: { directory: gpt2 as string }, batchSize: 1 });
    const request = { seed: 11, temperature: 1, topP: 1, maxTokens: 10, prompts: texts, stop: [...'aeiou'] };
    const together = await joined.doGenerate(request);
    const separately = await alone.doGenerate(request);
    expectSameCompletions(together.completions, separately.completions, 1e-4);
    expect(
      new Set(together.completions.map((completion) => completion.tokenIds.length)).size,
    ).toBeGreaterThan(1);
    await joined.doDispose();
    await alone.doDispose();
  });
});

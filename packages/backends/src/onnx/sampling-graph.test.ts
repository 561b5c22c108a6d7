import { createByteTokenizer, createSeededRandom, type GenerateRequest } from '@azr/core/spec';
import type * as OnnxRuntime from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { initializeLlamaWeights } from '../model/weights.js';
import { ContextClamp, drawToken, GRAPH_SAMPLING_MIN_TEMPERATURE } from '../shared/sampling.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { DecoderSession, readDecoderLayout } from './decoder-session.js';
import { generateBatch } from './generation.js';
import { OnnxGraphBuilder } from './graph-builder.js';
import { toGraphLayout } from './layout.js';
import { buildLlamaGraph } from './llama-graph.js';
import { openRolloutSession } from './rollout-session.js';
import { loadOnnxRuntime } from './runtime.js';
import { SAMPLING_GRAPH_NAMES as NAMES, samplingBlocks, writeSampling } from './sampling-graph.js';
import { openSession } from './session.js';

describe('samplingBlocks', () => {
  it('cuts a vocabulary into blocks of its largest divisor up to 2048, or pads it', () => {
    expect(samplingBlocks(257)).toEqual({ size: 257, count: 1, padding: 0 });
    expect(samplingBlocks(2048)).toEqual({ size: 2048, count: 1, padding: 0 });
    // Qwen2.5's vocabulary, SmolLM2's, GPT-2's: each has a divisor in range.
    expect(samplingBlocks(151_936)).toEqual({ size: 1187, count: 128, padding: 0 });
    expect(samplingBlocks(49_152)).toEqual({ size: 2048, count: 24, padding: 0 });
    expect(samplingBlocks(50_257)).toEqual({ size: 1733, count: 29, padding: 0 });
    // A prime: blocks of 1024, the last padded.
    expect(samplingBlocks(4099)).toEqual({ size: 1024, count: 5, padding: 1021 });
  });
});

/** A graph of the sampling part alone, on logits fed as an input. */
async function samplingSession(runtime: Awaited<ReturnType<typeof loadOnnxRuntime>>, vocabulary: number) {
  const graph = new OnnxGraphBuilder('sampling');
  const logits = graph.input('logits', 'float32', ['batch', 'kept', vocabulary]);
  writeSampling(graph, logits, vocabulary);
  return openSession(runtime, await graph.encode(), { intraOpThreads: 1 });
}

describe('writeSampling', () => {
  it('draws the tokens and log probabilities the JavaScript sampler draws, and its greedy ones', async () => {
    const runtime = await loadOnnxRuntime();
    const random = createSeededRandom(7);
    const batch = 5;
    const kept = 2;
    // One block, blocks of a divisor, padded blocks; flat and peaked logits; three temperatures.
    for (const vocabulary of [257, 6144, 4099]) {
      const session = await samplingSession(runtime, vocabulary);
      for (const spread of [1, 12])
        for (const temperature of [0.7, 1, 1.6]) {
          const logits = Float32Array.from(
            { length: batch * kept * vocabulary },
            () => (random.nextFloat() - 0.5) * spread,
          );
          for (let draw = 0; draw < 8; draw += 1) {
            // The edges of [0, 1) among the draws.
            const uniforms = Array.from({ length: batch }, (_, row) =>
              draw === 0 ? [0, 1 - 2 ** -53, 0.5, 1e-12, 0.999][row] : random.nextFloat(),
            ) as number[];
            const results = await session.run({
              logits: new runtime.Tensor('float32', logits, [batch, kept, vocabulary]),
              [NAMES.uniforms]: new runtime.Tensor('float64', Float64Array.from(uniforms), [batch]),
              [NAMES.inverseTemperature]: new runtime.Tensor(
                'float32',
                Float32Array.of(1 / temperature),
                [1],
              ),
            });
            const read = (name: string) => (results[name] as OnnxRuntime.Tensor).data;
            for (let row = 0; row < batch; row += 1) {
              // The last kept position of the row.
              const offset = (row * kept + kept - 1) * vocabulary;
              const values = logits.subarray(offset, offset + vocabulary);
              const options = { temperature, topP: 1, allowed: undefined };
              const expected = drawToken(values, {
                ...options,
                greedy: false,
                uniform: () => uniforms[row] as number,
              });
              const where = `vocabulary ${vocabulary}, spread ${spread}, temperature ${temperature}, row ${row}`;
              expect(Number((read(NAMES.tokens) as BigInt64Array)[row]), where).toBe(expected.token);
              expect((read(NAMES.logProbs) as Float32Array)[row], where).toBeCloseTo(expected.logProb, 4);
              const greedy = drawToken(values, { ...options, greedy: true, uniform: () => 0 });
              expect(Number((read(NAMES.greedyTokens) as BigInt64Array)[row]), where).toBe(greedy.token);
              expect((read(NAMES.greedyLogProbs) as Float32Array)[row], where).toBeCloseTo(greedy.logProb, 4);
            }
          }
        }
      await session.release();
    }
  });
});

describe('generation with a graph that samples', () => {
  it('gives the completions that sampling from the logits in JavaScript gives, without copying the logits out', async () => {
    const config = SMALL_TEST_CONFIG;
    const weights = initializeLlamaWeights(config, { seed: 3, standardDeviation: 0.1 });
    const runtime = await loadOnnxRuntime();
    const graphWeights = toGraphLayout(weights);
    const decoder = await openRolloutSession(runtime, config, () => graphWeights, {}, 'shared');
    expect(decoder.layout.sampling).toBe(true);
    // The rollout session, its fetches recorded.
    const fetched: (readonly string[])[] = [];
    const session = Object.create(decoder.session) as OnnxRuntime.InferenceSession;
    session.run = ((feeds: OnnxRuntime.InferenceSession.FeedsType, fetches: readonly string[]) => {
      fetched.push(fetches);
      return decoder.session.run(feeds, fetches);
    }) as OnnxRuntime.InferenceSession['run'];
    const sampling = new DecoderSession(runtime, session, decoder.layout, () => graphWeights);
    // The same weights in the Hugging Face layout for other runtimes, which gives logits only: JavaScript samples.
    const exported = await openSession(runtime, await buildLlamaGraph(config, weights), {});
    const plain = new DecoderSession(
      runtime,
      exported,
      readDecoderLayout(exported.inputMetadata, exported.outputMetadata, undefined),
    );
    expect(plain.layout.sampling).toBe(false);
    const tokenizer = createByteTokenizer();
    const bounds = {
      clamp: new ContextClamp('small', config.maxPositionEmbeddings),
      stopTokenIds: new Set<number>(),
    };
    // A repeated prompt (its prefill shared, so its first tokens come from the logits), rows that stop early.
    const prompts = ['f(4)=', 'def f(a):', 'f(4)=', 'x = [1, 2', 'q'].map((prompt, index) => ({
      prompt,
      index,
    }));
    const requests: Omit<GenerateRequest, 'prompts'>[] = [
      { seed: 3, temperature: 1, topP: 1, maxTokens: 12 },
      { seed: 4, temperature: 0.6, topP: 1, maxTokens: 12, stop: [...'aeiou'] },
      { seed: 5, temperature: 1, topP: 1, maxTokens: 12, greedy: true },
      // Too cold for the graph's float32 scaling, and a nucleus below 1: both from the logits.
      { seed: 6, temperature: 1e-30, topP: 1, maxTokens: 6 },
      { seed: 7, temperature: 1, topP: 0.9, maxTokens: 6 },
    ];
    for (const request of requests) {
      const full = { ...request, prompts: prompts.map(({ prompt }) => prompt) };
      fetched.length = 0;
      const drawn = await generateBatch(sampling, tokenizer, bounds, prompts, full);
      const expected = await generateBatch(plain, tokenizer, bounds, prompts, full);
      drawn.forEach((completion, index) => {
        const other = expected[index];
        expect(completion.tokenIds, `seed ${request.seed}, prompt ${index}`).toEqual(other?.tokenIds);
        expect(completion.finishReason).toBe(other?.finishReason);
        completion.logProbs.forEach((logProb, position) => {
          expect(logProb).toBeCloseTo(other?.logProbs[position] as number, 4);
        });
      });
      // After the shared prefill, the runs drew every token in the graph and left the logits in it.
      expect(fetched[0]).toContain('logits');
      expect(fetched.slice(1).length).toBeGreaterThan(0);
      const inGraph = request.temperature >= GRAPH_SAMPLING_MIN_TEMPERATURE && request.topP === 1;
      for (const fetches of fetched.slice(1)) {
        expect(fetches.includes('logits')).toBe(!inGraph);
        if (inGraph) expect(fetches).toContain(request.greedy ? NAMES.greedyTokens : NAMES.tokens);
      }
    }
    await decoder.session.release();
    await exported.release();
  });
});

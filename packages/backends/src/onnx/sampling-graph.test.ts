import {
  createByteTokenizer,
  createSeededRandom,
  type GenerateRequest,
  ModelFormatError,
} from '@azr/core/spec';
import type * as OnnxRuntime from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { initializeLlamaWeights } from '../model/weights.js';
import { ContextClamp, drawToken, GRAPH_SAMPLING_MIN_TEMPERATURE } from '../shared/sampling.js';
import { SMALL_TEST_CONFIG } from '../testing/small-model.js';
import { DecoderSession, readDecoderLayout } from './decoder-session.js';
import { generateCompletions } from './generation.js';
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
  it('never draws a token without probability where float32 block totals and the double running sum part', async () => {
    // The block totals are float32 sums, the running sum within a block a double one: a threshold between the
    // two once passed no token of the block, and the draw fell on its last token, whatever its probability.
    const runtime = await loadOnnxRuntime();
    const vocabulary = 151_936;
    const { size, count } = samplingBlocks(vocabulary);
    const probe = new OnnxGraphBuilder('probe');
    const logitsInput = probe.input('logits', 'float32', [1, 1, vocabulary]);
    const inverse = probe.input('inverse', 'float32', [1]);
    const probabilities = probe.node(
      'Softmax',
      [probe.node('Mul', [probe.node('Squeeze', [logitsInput, probe.int64s([1])]), inverse])],
      { axis: -1 },
    );
    probe.output(probabilities, 'probabilities', 'float32', [1, vocabulary]);
    const blocks = probe.node('Reshape', [probabilities, probe.int64s([0, count, size])]);
    probe.output(
      probe.node('ReduceSum', [blocks, probe.int64s([-1])], { keepdims: 0 }),
      'totals',
      'float32',
      [1, count],
    );
    const probeSession = await openSession(runtime, await probe.encode(), { intraOpThreads: 1 });
    const sampler = await samplingSession(runtime, vocabulary);
    const random = createSeededRandom(11);
    let probed = 0;
    for (const temperature of [1, 0.3]) {
      // In every block, 30 tokens with probability and the rest (its last token among them) without: their
      // logits underflow to probability 0.
      const logits = new Float32Array(vocabulary).fill(-400);
      for (let block = 0; block < count; block += 1)
        for (let k = 0; k < 30; k += 1)
          logits[block * size + Math.floor(random.nextFloat() * (size - 1))] = random.nextFloat() * 3;
      const inverseTemperature = new runtime.Tensor('float32', Float32Array.of(1 / temperature), [1]);
      const probed32 = await probeSession.run({
        logits: new runtime.Tensor('float32', logits, [1, 1, vocabulary]),
        inverse: inverseTemperature,
      });
      const p = (probed32.probabilities as OnnxRuntime.Tensor).data as Float32Array;
      const totals = (probed32.totals as OnnxRuntime.Tensor).data as Float32Array;
      const grand = totals.reduce((sum, value) => sum + value, 0);
      let before = 0;
      for (let block = 0; block < count; block += 1) {
        let exact = 0;
        for (let index = 0; index < size; index += 1) exact += p[block * size + index] as number;
        const rounded = totals[block] as number;
        // Gaps far wider than double precision's rounding of the threshold, so that it falls inside.
        if (rounded - exact > 1e-12) {
          probed += 1;
          const uniform = (before + (exact + rounded) / 2) / grand;
          const results = await sampler.run({
            logits: new runtime.Tensor('float32', logits, [1, 1, vocabulary]),
            [NAMES.uniforms]: new runtime.Tensor('float64', Float64Array.of(uniform), [1]),
            [NAMES.inverseTemperature]: inverseTemperature,
          });
          const token = Number(((results[NAMES.tokens] as OnnxRuntime.Tensor).data as BigInt64Array)[0]);
          const logProb = ((results[NAMES.logProbs] as OnnxRuntime.Tensor).data as Float32Array)[0];
          expect(p[token], `temperature ${temperature}, block ${block}`).toBeGreaterThan(0);
          expect(Number.isFinite(logProb)).toBe(true);
          // The draw stays in the block whose total holds the threshold.
          expect(Math.floor(token / size)).toBe(block);
        }
        before += rounded;
      }
    }
    // The case occurred (about half of the blocks round up).
    expect(probed).toBeGreaterThan(10);
    await probeSession.release();
    await sampler.release();
  });

  it('takes the lowest id among equal largest logits, within a block and across blocks', async () => {
    const runtime = await loadOnnxRuntime();
    const vocabulary = 6144;
    const session = await samplingSession(runtime, vocabulary);
    const logits = new Float32Array(2 * vocabulary);
    // Row 0: ties at 5 and 9 (one block); row 1: ties at 2050 and 4100 (two blocks of 2048).
    for (const index of [9, 5]) logits[index] = 3;
    for (const index of [4100, 2050]) logits[vocabulary + index] = 3;
    const results = await session.run({
      logits: new runtime.Tensor('float32', logits, [2, 1, vocabulary]),
      [NAMES.uniforms]: new runtime.Tensor('float64', Float64Array.of(0.5, 0.5), [2]),
      [NAMES.inverseTemperature]: new runtime.Tensor('float32', Float32Array.of(1), [1]),
    });
    expect(
      Array.from((results[NAMES.greedyTokens] as OnnxRuntime.Tensor).data as BigInt64Array, Number),
    ).toEqual([5, 2050]);
    await session.release();
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
    // With a repeated prompt (its prefill shared, so its first tokens come from the logits) and without one
    // (every token from the graph); rows that stop early.
    const promptSets = [
      ['f(4)=', 'def f(a):', 'f(4)=', 'x = [1, 2', 'q'],
      ['def f(a):', 'x = [1, 2', 'q', 'function g(y) {'],
    ].map((texts) => texts.map((prompt, index) => ({ prompt, index })));
    const requests: Omit<GenerateRequest, 'prompts'>[] = [
      { seed: 3, temperature: 1, topP: 1, maxTokens: 12 },
      { seed: 4, temperature: 0.6, topP: 1, maxTokens: 12, stop: [...'aeiou'] },
      { seed: 5, temperature: 1, topP: 1, maxTokens: 12, greedy: true },
      // Too cold for the graph's float32 scaling, and a nucleus below 1: both from the logits.
      { seed: 6, temperature: 1e-30, topP: 1, maxTokens: 6 },
      { seed: 7, temperature: 1, topP: 0.9, maxTokens: 6 },
    ];
    for (const [set, prompts] of promptSets.entries())
      for (const request of requests) {
        const full = { ...request, prompts: prompts.map(({ prompt }) => prompt) };
        fetched.length = 0;
        const drawn = await generateCompletions(sampling, tokenizer, bounds, prompts, full, prompts.length);
        const expected = await generateCompletions(plain, tokenizer, bounds, prompts, full, prompts.length);
        drawn.forEach((completion, index) => {
          const other = expected[index];
          expect(completion.tokenIds, `seed ${request.seed}, prompt ${index}`).toEqual(other?.tokenIds);
          expect(completion.finishReason).toBe(other?.finishReason);
          completion.logProbs.forEach((logProb, position) => {
            expect(logProb).toBeCloseTo(other?.logProbs[position] as number, 4);
          });
        });
        // Every run but a shared prefill drew its tokens in the graph and left the logits in it.
        expect(fetched.length).toBeGreaterThan(1);
        const inGraph = request.temperature >= GRAPH_SAMPLING_MIN_TEMPERATURE && request.topP === 1;
        for (const [run, fetches] of fetched.entries()) {
          const sharedPrefill = set === 0 && run === 0;
          expect(fetches.includes('logits'), `set ${set}, run ${run}`).toBe(!inGraph || sharedPrefill);
          if (inGraph && !sharedPrefill)
            expect(fetches).toContain(request.greedy ? NAMES.greedyTokens : NAMES.tokens);
        }
      }
    await decoder.session.release();
    await exported.release();
  });

  it('refuses a decoder with part of the sampling inputs and outputs, naming them', async () => {
    const config = SMALL_TEST_CONFIG;
    const weights = toGraphLayout(initializeLlamaWeights(config, { seed: 3 }));
    const runtime = await loadOnnxRuntime();
    const decoder = await openRolloutSession(runtime, config, () => weights, {}, 'shared');
    const { inputMetadata, outputMetadata } = decoder.session;
    const without = outputMetadata.filter((value) => value.name !== NAMES.greedyLogProbs);
    expect(() => readDecoderLayout(inputMetadata, without, 'model.onnx')).toThrow(ModelFormatError);
    expect(() => readDecoderLayout(inputMetadata, without, 'model.onnx')).toThrow(/sampling_uniforms/);
    await decoder.session.release();
  });
});

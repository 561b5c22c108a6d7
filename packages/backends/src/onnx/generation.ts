import type {
  Completion,
  GenerateRequest,
  LogProbsRequest,
  LogProbsResult,
  TokenizerV1,
} from '@azr/core/spec';
import {
  assertFitsContext,
  CompletionDecoder,
  encodePrompt,
  type GenerationBounds,
  temperedLogProbability,
} from '../shared/sampling.js';
import type { DecoderCache, DecoderSession } from './decoder-session.js';

/**
 * Generates the completions of one batch of prompts with a key/value cache: the prompts left-padded to one
 * width; finished rows ride along until half the batch has finished, then leave it (their cache rows dropped).
 * With a graph that samples, the graph draws each token a completion would draw from its logits (see
 * `CompletionDecoder.graphSampling`).
 */
export async function generateBatch(
  decoder: DecoderSession,
  tokenizer: TokenizerV1,
  bounds: GenerationBounds,
  prompts: readonly { prompt: string; index: number }[],
  request: GenerateRequest,
): Promise<Completion[]> {
  const padding = tokenizer.paddingTokenId ?? tokenizer.endOfSequenceTokenId;
  let longestCompletion = 0;
  const decoders = prompts.map(({ prompt, index }) => {
    const ids = encodePrompt(tokenizer, prompt);
    const maxTokens = bounds.clamp.budget(ids.length, request.maxTokens, index);
    longestCompletion = Math.max(longestCompletion, maxTokens);
    return new CompletionDecoder(tokenizer, request, prompt, index, ids, {
      maxTokens,
      stopTokenIds: bounds.stopTokenIds,
    });
  });
  // Rows with the same prompt (the answers to one task) share its prefill: the prompt runs once, and the
  // cache row it leaves is copied to each of them before the second token.
  const prefillOf = new Map<string, number>();
  const prefilled: CompletionDecoder[] = [];
  let cacheRowOf = decoders.map((row) => {
    const key = row.promptTokenIds.join(',');
    let cacheRow = prefillOf.get(key);
    if (cacheRow === undefined) {
      cacheRow = prefilled.push(row) - 1;
      prefillOf.set(key, cacheRow);
    }
    return cacheRow;
  });
  // Left padding: every row's last prompt token sits at the same position, so one run serves them all.
  const width = Math.max(...prefilled.map((row) => row.promptTokenIds.length));
  let masks: number[][] = prefilled.map((row) => {
    const pad = width - row.promptTokenIds.length;
    return Array.from({ length: width }, (_, position) => (position < pad ? 0 : 1));
  });
  const nextPositions = decoders.map((row) => row.promptTokenIds.length);
  let tokenIds: number[][] = prefilled.map((row) => [
    ...new Array<number>(width - row.promptTokenIds.length).fill(padding),
    ...row.promptTokenIds,
  ]);
  let positionIds = prefilled.map((row) => {
    const pad = width - row.promptTokenIds.length;
    return Array.from({ length: width }, (_, position) => Math.max(0, position - pad));
  });
  let cache: DecoderCache | undefined;
  // `active[p]`: the completion row `p` of the next run decodes, or undefined for a finished row that rides along.
  let active: (number | undefined)[] = decoders.map((_, row) => row);
  while (true) {
    request.signal?.throwIfAborted();
    // A graph that samples draws the token of each run row that is one completion's own (not a prompt's shared
    // prefill) and needs no logits (no constraint, nucleus 1), with the uniform the completion would have drawn;
    // the logits come out only for the other rows.
    const ownRows =
      decoder.layout.sampling &&
      active.length === tokenIds.length &&
      cacheRowOf.every((cacheRow, position) => cacheRow === position);
    const plans = active.map((row) =>
      ownRows && row !== undefined ? (decoders[row] as CompletionDecoder).graphSampling() : undefined,
    );
    const uniforms = plans.map((plan, position) =>
      plan === 'draw' ? (decoders[active[position] as number] as CompletionDecoder).nextUniform() : 0,
    );
    const result = await decoder.run({
      tokenIds,
      attentionMask: masks,
      positionIds,
      cache,
      logitsToKeep: 1,
      // The cache never holds more than the padded prompts and the longest completion (the last token is not
      // run): its buffers are allocated once.
      capacity: width + longestCompletion,
      ...(plans.some((plan) => plan !== undefined)
        ? {
            sampling: { uniforms, temperature: request.temperature },
            logits: active.some((row, position) => row !== undefined && plans[position] === undefined),
          }
        : {}),
    });
    cache = result.cache;
    const chosen = active.map((row, position) => {
      if (row === undefined) return undefined;
      const completion = decoders[row] as CompletionDecoder;
      const plan = plans[position];
      const { sampled, logits } = result;
      if (plan !== undefined) {
        if (sampled === undefined) throw new Error('a sampling decoder run without its draws');
        const greedy = plan === 'greedy';
        const token = (greedy ? sampled.greedyTokens : sampled.tokens)[position] as number;
        completion.accept(token, (greedy ? sampled.greedyLogProbs : sampled.logProbs)[position] as number);
        return token;
      }
      if (logits === undefined) throw new Error('a decoder run without the logits a row needs');
      return completion.next(logits.row(cacheRowOf[position] as number, logits.sequenceLength - 1));
    });
    const live = active.flatMap((row, position) =>
      row !== undefined && !(decoders[row] as CompletionDecoder).finished ? [position] : [],
    );
    if (live.length === 0) break;
    const runRows = tokenIds.length;
    const expanded =
      active.length !== runRows || cacheRowOf.some((cacheRow, position) => cacheRow !== position);
    if (expanded || live.length <= runRows / 2) {
      // The cache of the live rows only: after a shared prefill (each row its own copy of its prompt's), or once
      // half the rows have finished (copying the cache then costs less than running the finished rows on).
      const rows = live.map((position) => cacheRowOf[position] as number);
      cache = decoder.selectRows(cache, rows);
      masks = rows.map((cacheRow) => masks[cacheRow] as number[]);
      tokenIds = live.map((position) => [chosen[position] as number]);
      active = live.map((position) => active[position]);
    } else {
      // Finished rows stay in the batch with a padding token, their logits unread: no cache is copied.
      const liveSet = new Set(live);
      active = active.map((row, position) => (liveSet.has(position) ? row : undefined));
      tokenIds = active.map((row, position) => [row === undefined ? padding : (chosen[position] as number)]);
    }
    cacheRowOf = active.map((_, position) => position);
    masks = masks.map((mask) => [...mask, 1]);
    positionIds = active.map((row) => [row === undefined ? 0 : (nextPositions[row] as number)]);
    for (const row of active) if (row !== undefined) nextPositions[row] = (nextPositions[row] as number) + 1;
  }
  return decoders.map((row) => row.completion());
}

/** The tempered log probability of each completion token, one sequence at a time, without a cache. */
export async function computeLogProbs(
  decoder: DecoderSession,
  maxSequenceLength: number,
  request: LogProbsRequest,
): Promise<LogProbsResult> {
  const logProbs: number[][] = [];
  for (const sequence of request.sequences) {
    const count = sequence.completionTokenIds.length;
    if (count === 0) {
      logProbs.push([]);
      continue;
    }
    const ids = [...sequence.promptTokenIds, ...sequence.completionTokenIds];
    assertFitsContext(sequence.promptTokenIds.length, count, maxSequenceLength);
    const { logits } = await decoder.run({
      tokenIds: [ids],
      attentionMask: [ids.map(() => 1)],
      positionIds: [ids.map((_, position) => position)],
      cache: undefined,
    });
    if (logits === undefined) throw new Error('a decoder run without logits');
    const start = sequence.promptTokenIds.length - 1;
    logProbs.push(
      sequence.completionTokenIds.map((token, offset) =>
        temperedLogProbability(logits.row(0, start + offset), request.temperature, token),
      ),
    );
  }
  return { logProbs };
}

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
  temperedLogSoftmax,
} from '../shared/sampling.js';
import type { DecoderCache, DecoderSession } from './decoder-session.js';

/**
 * Generates the completions of one batch of prompts with a key/value cache: the prompts left-padded to one
 * width, finished rows leaving the batch (their cache rows dropped) as they end.
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
  let active = decoders.map((_, row) => row);
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
  while (active.length > 0) {
    request.signal?.throwIfAborted();
    const result = await decoder.run({
      tokenIds,
      attentionMask: masks,
      positionIds,
      cache,
      logitsToKeep: 1,
      // The cache never holds more than the padded prompts and the longest completion (the last token is not
      // run): its buffers are allocated once.
      capacity: width + longestCompletion,
    });
    cache = result.cache;
    const last = result.logits.sequenceLength - 1;
    const chosen = active.map((row, position) =>
      (decoders[row] as CompletionDecoder).next(result.logits.row(cacheRowOf[position] as number, last)),
    );
    const kept = active.flatMap((row, position) =>
      (decoders[row] as CompletionDecoder).finished ? [] : [position],
    );
    if (kept.length === 0) break;
    const rows = kept.map((position) => cacheRowOf[position] as number);
    if (rows.length < tokenIds.length || rows.some((cacheRow, position) => cacheRow !== position)) {
      cache = decoder.selectRows(cache, rows);
      masks = rows.map((cacheRow) => masks[cacheRow] as number[]);
    }
    active = kept.map((position) => active[position] as number);
    cacheRowOf = active.map((_, position) => position);
    tokenIds = kept.map((position) => [chosen[position] as number]);
    masks = masks.map((mask) => [...mask, 1]);
    positionIds = active.map((row) => [nextPositions[row] as number]);
    for (const row of active) nextPositions[row] = (nextPositions[row] as number) + 1;
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
    const start = sequence.promptTokenIds.length - 1;
    logProbs.push(
      sequence.completionTokenIds.map(
        (token, offset) =>
          temperedLogSoftmax(logits.row(0, start + offset), request.temperature)[token] as number,
      ),
    );
  }
  return { logProbs };
}

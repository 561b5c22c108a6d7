import {
  type Completion,
  ConfigError,
  type GenerateRequest,
  type LogProbsRequest,
  type LogProbsResult,
  type TokenizerV1,
} from '@azr/core/spec';
import {
  assertFitsContext,
  CompletionDecoder,
  encodePrompt,
  type GenerationBounds,
  temperedLogProbability,
} from '../shared/sampling.js';
import type { ArrangedRow, DecoderCache, DecoderSession } from './decoder-session.js';

/**
 * Generates the completions of a request's prompts with a key/value cache, in a decode batch of at most `rows`
 * rows that stays full while prompts wait: when completions end, the next waiting prompts are prefilled (in one
 * run, left-padded to one width) and written into the freed rows of the batch's cache: from each row's start in
 * an append graph (the SDK's; each row then writes its keys and values at its own position), or ending where
 * the batch's filled positions end in a concat graph (an export; the positions before them masked). A prompt
 * repeated among the prompts that join together
 * is prefilled once and its cache row copied to each of its completions. Once no prompt waits, finished rows ride
 * along until half the batch has finished, then leave it (their cache rows dropped). Every completion samples
 * from its own stream (see `CompletionDecoder`), so its tokens do not depend on the rows it ran beside. With a
 * graph that samples, the graph draws each token a completion would draw from its logits (see
 * `CompletionDecoder.graphSampling`).
 *
 * A graph without an attention mask or position ids cannot hold rows that started at different steps: its prompts
 * run in batches of `rows`, one batch after the other.
 */
export async function generateCompletions(
  decoder: DecoderSession,
  tokenizer: TokenizerV1,
  bounds: GenerationBounds,
  prompts: readonly { prompt: string; index: number }[],
  request: GenerateRequest,
  rows: number,
  /** `false`: the prompts run in batches of `rows` one after the other, as in a graph that cannot join them. */
  joinPrompts = true,
): Promise<Completion[]> {
  const padding = tokenizer.paddingTokenId ?? tokenizer.endOfSequenceTokenId;
  let longestCompletion = 0;
  const decoders = prompts.map(({ prompt, index }) => {
    const ids = encodePrompt(tokenizer, prompt);
    // A model's first token needs something before it: a beginning-of-sequence token or the prompt's own.
    if (ids.length === 0)
      throw new ConfigError(
        `Prompt ${index} encodes to no tokens, and the tokenizer adds no beginning-of-sequence token: there is nothing to generate from.`,
        { field: 'prompts' },
      );
    const maxTokens = bounds.clamp.budget(ids.length, request.maxTokens, index);
    longestCompletion = Math.max(longestCompletion, maxTokens);
    return new CompletionDecoder(tokenizer, request, prompt, index, ids, {
      maxTokens,
      stopTokenIds: bounds.stopTokenIds,
    });
  });
  const completion = (row: number) => decoders[row] as CompletionDecoder;
  // In a concat graph, joined rows end where the batch's filled positions end, so a batch's cache can hold more
  // positions than the model's context (up to the longest prompt, twice the longest completion and the slack):
  // each row's position ids stay within it, and exports with masks built from their inputs attend by the mask.
  const joinsMidway = joinPrompts && joinsMidwayIn(decoder);
  const append = decoder.layout.cacheMode === 'append';
  // In an append graph, each row writes its keys and values at its own position (`writeAt`): a joining prompt
  // fills its row from position 0, whatever the other rows hold, so a row's buffers hold the request's longest
  // prompt and longest completion (new buffers only when the batch grows, or starts again after every row
  // finished). A concat graph appends at the same position in every row: a joining prompt ends where the
  // batch's filled positions end.
  const perRow = joinsMidway && append;
  const perRowCapacity = perRow
    ? Math.max(...decoders.map((row) => row.promptTokenIds.length)) + longestCompletion
    : 0;
  /** Per cache row, in a per-row cache: where its next keys and values go. */
  let fills: number[] = [];
  /** The next prompt to join. */
  let waiting = 0;
  /** Each completion's position of the token it runs next, and that token. */
  const nextPositions = decoders.map((row) => row.promptTokenIds.length);
  const nextTokens = new Map<number, number>();
  let cache: DecoderCache | undefined;
  // Per cache row: the completion it decodes (undefined: finished, riding along, or empty) and its attention mask
  // over the cache's filled positions (in a per-row cache, over its whole buffer).
  let active: (number | undefined)[] = [];
  let masks: number[][] = [];
  const liveRows = () => active.flatMap((row) => (row === undefined ? [] : [row]));
  /** Positions the cache needs after its filled ones for these completions' remaining tokens. */
  const needed = (rows: readonly number[]) => Math.max(0, ...rows.map((row) => completion(row).remaining));

  /**
   * One run of the decoder on `step.rows` (completions, or undefined for a row riding along): each takes the token
   * drawn at run row `logitRow(p)` (its own row, unless it shares a prompt's prefill).
   */
  async function run(step: {
    rows: readonly (number | undefined)[];
    tokenIds: number[][];
    attentionMask: number[][];
    positionIds: number[][];
    cache: DecoderCache | undefined;
    capacity: number;
    writeAt?: readonly number[];
    logitRow?: (position: number) => number;
  }): Promise<DecoderCache> {
    // A graph that samples draws the token of each run row that is one completion's own (not a prompt's shared
    // prefill) and needs no logits (no constraint, nucleus 1); the logits come out only for the other rows.
    const own = decoder.layout.sampling && step.logitRow === undefined;
    const plans = step.rows.map((row) =>
      own && row !== undefined ? completion(row).graphSampling() : undefined,
    );
    const uniforms = plans.map((plan, position) =>
      plan === 'draw' ? completion(step.rows[position] as number).nextUniform() : 0,
    );
    const result = await decoder.run({
      tokenIds: step.tokenIds,
      attentionMask: step.attentionMask,
      positionIds: step.positionIds,
      cache: step.cache,
      logitsToKeep: 1,
      capacity: step.capacity,
      ...(step.writeAt === undefined ? {} : { writeAt: step.writeAt }),
      ...(plans.some((plan) => plan !== undefined)
        ? {
            sampling: { uniforms, temperature: request.temperature },
            logits: step.rows.some((row, position) => row !== undefined && plans[position] === undefined),
          }
        : {}),
    });
    const { sampled, logits } = result;
    step.rows.forEach((row, position) => {
      if (row === undefined) return;
      const decoding = completion(row);
      const plan = plans[position];
      if (plan !== undefined) {
        if (sampled === undefined) throw new Error('a sampling decoder run without its draws');
        const greedy = plan === 'greedy';
        const token = (greedy ? sampled.greedyTokens : sampled.tokens)[position] as number;
        decoding.accept(token, (greedy ? sampled.greedyLogProbs : sampled.logProbs)[position] as number);
        nextTokens.set(row, token);
        return;
      }
      if (logits === undefined) throw new Error('a decoder run without the logits a row needs');
      const logitRow = step.logitRow?.(position) ?? position;
      const token = decoding.next(logits.row(logitRow, logits.sequenceLength - 1));
      if (token !== undefined) nextTokens.set(row, token);
    });
    return result.cache;
  }

  /**
   * Prefills the prompts that join (one run; a repeated prompt once) and chooses their first tokens, then writes
   * the completions that go on into the batch. In a per-row cache, see `placeInRows`. Otherwise into its free
   * rows in place, ending at its filled positions, when they fit there; else into buffers laid out anew, where
   * every live row keeps only the positions it reads.
   */
  async function join(joining: readonly number[]): Promise<void> {
    const prefillOf = new Map<string, number>();
    const firsts: number[] = [];
    const prefillRowOf = joining.map((row) => {
      const key = completion(row).promptTokenIds.join(',');
      let prefillRow = prefillOf.get(key);
      if (prefillRow === undefined) {
        prefillRow = firsts.push(row) - 1;
        prefillOf.set(key, prefillRow);
      }
      return prefillRow;
    });
    const promptIds = firsts.map((row) => completion(row).promptTokenIds);
    // Left padding: every row's last prompt token sits at the same position, so one run serves them all.
    const width = Math.max(...promptIds.map((ids) => ids.length));
    const prefillMasks = promptIds.map((ids) =>
      Array.from({ length: width }, (_, position) => (position < width - ids.length ? 0 : 1)),
    );
    const filled = cache !== undefined && liveRows().length > 0 ? cache : undefined;
    const own = firsts.length === joining.length;
    const prefilled = await run({
      rows: joining,
      tokenIds: promptIds.map((ids) => [...new Array<number>(width - ids.length).fill(padding), ...ids]),
      attentionMask: prefillMasks,
      positionIds: promptIds.map((ids) =>
        Array.from({ length: width }, (_, position) => Math.max(0, position - (width - ids.length))),
      ),
      cache: undefined,
      // Alone, the prefill's cache is the batch's; joining a batch, it is copied into the batch's.
      capacity: filled === undefined && own ? (perRow ? perRowCapacity : width + needed(joining)) : width,
      ...(own ? {} : { logitRow: (position: number) => prefillRowOf[position] as number }),
    });
    // A completion that ended at its first token takes no row.
    const placed = joining.flatMap((row, position) =>
      completion(row).finished ? [] : [{ row, prefillRow: prefillRowOf[position] as number }],
    );
    const prefillMask = (prefillRow: number, length: number) => [
      ...new Array<number>(length - width).fill(0),
      ...(prefillMasks[prefillRow] as number[]),
    ];
    if (perRow) {
      placeInRows(filled, prefilled, placed, width, prefillMasks);
      return;
    }
    if (filled === undefined) {
      if (own && placed.length === joining.length) cache = prefilled;
      else
        cache = decoder.arrange(
          placed.map(({ prefillRow }) => ({ source: prefilled, row: prefillRow, span: width })),
          width,
          width + needed(placed.map(({ row }) => row)),
        );
      active = placed.map(({ row }) => row);
      masks = placed.map(({ prefillRow }) => prefillMask(prefillRow, width));
      return;
    }
    // Free rows first, then new ones (the batch has fewer than `rows` rows).
    const free = active.flatMap((row, position) => (row === undefined ? [position] : []));
    const targets = placed.map((_, index) => free[index] ?? active.length + index - free.length);
    const { length } = filled;
    // The positions each live row reads: from its first unmasked one on.
    const spans = active.map((row, position) => {
      const first = row === undefined ? -1 : (masks[position] as number[]).indexOf(1);
      return first < 0 ? 0 : length - first;
    });
    const need = needed([...liveRows(), ...placed.map(({ row }) => row)]);
    const widest = Math.max(width, ...spans);
    // (A batch that takes joining prompts here is a concat graph's: its cache is as long as its filled positions.)
    if (
      width <= length &&
      targets.every((target) => target < active.length) &&
      length - widest <= cacheSlack(longestCompletion)
    ) {
      decoder.place(
        filled,
        placed.map(({ prefillRow }, index) => ({
          at: targets[index] as number,
          source: prefilled,
          row: prefillRow,
          span: width,
        })),
      );
      placed.forEach(({ row, prefillRow }, index) => {
        const target = targets[index] as number;
        active[target] = row;
        masks[target] = prefillMask(prefillRow, length);
      });
      return;
    }
    const size = Math.max(active.length, ...targets.map((target) => target + 1));
    const entries: (ArrangedRow | undefined)[] = new Array(size).fill(undefined);
    const nextActive: (number | undefined)[] = new Array(size).fill(undefined);
    const nextMasks = Array.from({ length: size }, () => new Array<number>(widest).fill(0));
    active.forEach((row, position) => {
      if (row === undefined) return;
      const span = spans[position] as number;
      entries[position] = { source: filled, row: position, span };
      nextActive[position] = row;
      nextMasks[position] = [
        ...new Array<number>(widest - span).fill(0),
        ...(masks[position] as number[]).slice(length - span),
      ];
    });
    placed.forEach(({ row, prefillRow }, index) => {
      const target = targets[index] as number;
      entries[target] = { source: prefilled, row: prefillRow, span: width };
      nextActive[target] = row;
      nextMasks[target] = prefillMask(prefillRow, widest);
    });
    cache = decoder.arrange(entries, widest, widest + need);
    active = nextActive;
    masks = nextMasks;
  }

  /**
   * Writes joining completions into a per-row cache: each into a free row from position 0 (the batch grows by
   * new rows, laid out anew, while it has fewer than `rows`), the rest of its mask 0.
   */
  function placeInRows(
    filled: DecoderCache | undefined,
    prefilled: DecoderCache,
    placed: readonly { row: number; prefillRow: number }[],
    width: number,
    prefillMasks: readonly (readonly number[])[],
  ): void {
    const own = (prefillRow: number) => ({ source: prefilled, row: prefillRow, span: width, end: width });
    const mask = (prefillRow: number) => [
      ...(prefillMasks[prefillRow] as number[]),
      ...new Array<number>(perRowCapacity - width).fill(0),
    ];
    if (filled === undefined) {
      cache =
        placed.length === prefilled.batch &&
        prefilled.capacity === perRowCapacity &&
        placed.every(({ prefillRow }, index) => prefillRow === index)
          ? { ...prefilled, length: perRowCapacity }
          : decoder.arrange(
              placed.map(({ prefillRow }) => own(prefillRow)),
              perRowCapacity,
              perRowCapacity,
            );
      active = placed.map(({ row }) => row);
      masks = placed.map(({ prefillRow }) => mask(prefillRow));
      fills = placed.map(() => width);
      return;
    }
    const free = active.flatMap((row, position) => (row === undefined ? [position] : []));
    const targets = placed.map((_, index) => free[index] ?? active.length + index - free.length);
    const size = Math.max(active.length, ...targets.map((target) => target + 1));
    if (size === active.length)
      decoder.place(
        filled,
        placed.map(({ prefillRow }, index) => ({ at: targets[index] as number, ...own(prefillRow) })),
      );
    else {
      const entries: (ArrangedRow | undefined)[] = Array.from({ length: size }, (_, position) =>
        position < active.length && active[position] !== undefined
          ? { source: filled, row: position, span: perRowCapacity }
          : undefined,
      );
      placed.forEach(({ prefillRow }, index) => {
        entries[targets[index] as number] = own(prefillRow);
      });
      cache = decoder.arrange(entries, perRowCapacity, perRowCapacity);
    }
    active = Array.from({ length: size }, (_, position) => active[position]);
    masks = Array.from(
      { length: size },
      (_, position) => masks[position] ?? new Array<number>(perRowCapacity).fill(0),
    );
    fills = Array.from({ length: size }, (_, position) => fills[position] ?? 0);
    placed.forEach(({ row, prefillRow }, index) => {
      const target = targets[index] as number;
      active[target] = row;
      masks[target] = mask(prefillRow);
      fills[target] = width;
    });
  }

  while (true) {
    request.signal?.throwIfAborted();
    const live = liveRows().length;
    const free = joinsMidway ? rows - live : live === 0 ? rows : 0;
    if (waiting < decoders.length && free > 0) {
      const joining = Array.from(
        { length: Math.min(free, decoders.length - waiting) },
        (_, index) => waiting + index,
      );
      waiting += joining.length;
      await join(joining);
      // Completions that ended at their first token leave rows free for the next prompts.
      continue;
    }
    if (live === 0 || cache === undefined) {
      if (waiting >= decoders.length) break;
      continue;
    }
    const running = active;
    cache = await run({
      rows: running,
      tokenIds: running.map((row) => [row === undefined ? padding : (nextTokens.get(row) as number)]),
      attentionMask: masks.map((mask) => [...mask, 1]),
      positionIds: running.map((row) => [row === undefined ? 0 : (nextPositions[row] as number)]),
      cache,
      capacity: cache.length + 1 + needed(liveRows()),
      // A row riding along writes where its next token would have gone: nothing reads it.
      ...(perRow
        ? { writeAt: running.map((_, position) => Math.min(fills[position] as number, perRowCapacity - 1)) }
        : {}),
    });
    if (perRow)
      running.forEach((row, position) => {
        if (row === undefined) return;
        (masks[position] as number[])[fills[position] as number] = 1;
        fills[position] = (fills[position] as number) + 1;
      });
    else masks = masks.map((mask) => [...mask, 1]);
    for (const row of running) if (row !== undefined) nextPositions[row] = (nextPositions[row] as number) + 1;
    active = running.map((row) => (row === undefined || completion(row).finished ? undefined : row));
    const stillLive = active.flatMap((row, position) => (row === undefined ? [] : [position]));
    if (
      (!joinsMidway || waiting >= decoders.length) &&
      stillLive.length > 0 &&
      stillLive.length <= active.length / 2
    ) {
      // No prompt will take the finished rows and half of them have finished: the cache of the live rows only
      // (copying it then costs less than running the finished rows on).
      cache = decoder.selectRows(cache, stillLive);
      masks = stillLive.map((position) => masks[position] as number[]);
      fills = stillLive.map((position) => fills[position] ?? 0);
      active = stillLive.map((position) => active[position]);
    }
  }
  return decoders.map((row) => row.completion());
}

/** Whether a decoder can take rows that start at different steps: it needs an attention mask and position ids. */
export function joinsMidwayIn(decoder: DecoderSession): boolean {
  return decoder.layout.attentionMask !== undefined && decoder.layout.positionIds !== undefined;
}

/**
 * In a concat graph (an export), whose rows share their positions: the most positions no row reads any more that
 * a batch keeps before its cache is laid out anew when prompts join, a quarter of the longest completion. Laid out
 * at every join, the whole cache would be copied each time; never, every step would attend over more and more
 * masked positions.
 */
export function cacheSlack(longestCompletion: number): number {
  return Math.max(1, Math.ceil(longestCompletion / 4));
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

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CharacterAutomaton,
  createAutomatonConstraint,
  runAutomaton,
} from '../constraints/automaton-constraint.js';
import { AzrError } from '../errors/azr-error.js';
import { UnsupportedCapabilityError } from '../errors/errors.js';
import type { Completion, GenerateRequest, PolicyModelV1, TrainSequence } from '../spec/policy-model.js';
import type { ConformanceCheck } from './executor-conformance.js';

/** Options of the policy model conformance suite. */
export interface PolicyModelConformanceOptions {
  /** Prompts to generate from. Default: two short code-like prompts. */
  readonly prompts?: readonly string[];
  /** Tokens per completion in the checks. Default `12`. */
  readonly maxTokens?: number;
  /**
   * Largest allowed difference between the log probabilities reported by generation and those recomputed by
   * `doComputeLogProbs`. Default `1e-3` (float32 engines); use more for float16 models.
   */
  readonly logProbTolerance?: number;
  /** Training steps the "training reinforces" check may take. Default `5`. */
  readonly trainSteps?: number;
  /** Loads a model saved with `doSave`; when given, a save/load round trip is checked. */
  readonly load?: (directory: string) => Promise<PolicyModelV1>;
}

const DEFAULT_PROMPTS = ['def f(a):\n    return', 'function f(x) {'];

function request(
  prompts: readonly string[],
  maxTokens: number,
  overrides: Partial<GenerateRequest> = {},
): GenerateRequest {
  return { prompts, seed: 7, temperature: 1, topP: 1, maxTokens, ...overrides };
}

function sequenceOf(completion: Completion): {
  promptTokenIds: readonly number[];
  completionTokenIds: readonly number[];
} {
  return { promptTokenIds: completion.promptTokenIds, completionTokenIds: completion.tokenIds };
}

/** Where {@link CALL_AUTOMATON} is: in the name, before a digit, after one, or past the closing parenthesis. */
type CallState =
  | { readonly phase: 'name'; readonly prefix: string }
  | { readonly phase: 'digit' | 'separator'; readonly digits: number }
  | { readonly phase: 'done' };

const CALL_NAMES = ['max', 'min', 'sum'] as const;
const CALL_MAX_DIGITS = 3;

/**
 * The language of the constrained-decoding check: calls such as `max(3,0,7)`, one of three names (two share a
 * prefix) and one to three digits. Every word needs several tokens of any tokenizer (at least 6 characters,
 * at most 10, so a correct backend finishes well within the check's 16 tokens), and the only accepting state is
 * the end of a word, so completions must stop exactly there.
 */
const CALL_AUTOMATON: CharacterAutomaton<CallState> = {
  start: { phase: 'name', prefix: '' },
  step(state, character) {
    switch (state.phase) {
      case 'name': {
        if (character === '(')
          return (CALL_NAMES as readonly string[]).includes(state.prefix)
            ? { phase: 'digit', digits: 0 }
            : undefined;
        const prefix = state.prefix + character;
        return CALL_NAMES.some((name) => name.startsWith(prefix)) ? { phase: 'name', prefix } : undefined;
      }
      case 'digit':
        return /^[0-9]$/.test(character) ? { phase: 'separator', digits: state.digits + 1 } : undefined;
      case 'separator':
        if (character === ')') return { phase: 'done' };
        return character === ',' && state.digits < CALL_MAX_DIGITS
          ? { phase: 'digit', digits: state.digits }
          : undefined;
      case 'done':
        return undefined;
    }
  },
  accepting: (state) => state.phase === 'done',
  key: (state) =>
    state.phase === 'name'
      ? `name:${state.prefix}`
      : state.phase === 'done'
        ? 'done'
        : `${state.phase}:${state.digits}`,
};

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * The behaviours every {@link PolicyModelV1} must show. Each check gets a fresh model from the factory and
 * disposes of it. Use {@link describePolicyModelConformance} to run them under vitest.
 *
 * Long on purpose: it is the list of checks, one entry each; the list reads as the contract's specification,
 * which splitting would scatter.
 */
export function policyModelConformanceChecks(
  options: PolicyModelConformanceOptions = {},
): readonly ConformanceCheck<PolicyModelV1>[] {
  const prompts = options.prompts ?? DEFAULT_PROMPTS;
  const maxTokens = options.maxTokens ?? 12;
  const tolerance = options.logProbTolerance ?? 1e-3;
  const trainSteps = options.trainSteps ?? 5;
  const checks: ConformanceCheck<PolicyModelV1>[] = [
    {
      name: 'declares the v1 contract, its capabilities and a working tokenizer',
      run: async (model) => {
        assert.equal(model.specificationVersion, 'v1');
        assert.ok(model.provider.length > 0 && model.modelId.length > 0, 'provider and modelId are set');
        assert.equal(typeof model.capabilities.training, 'boolean');
        assert.equal(typeof model.capabilities.constrainedDecoding, 'boolean');
        assert.ok(model.capabilities.maxSequenceLength > 0, 'maxSequenceLength is positive');
        const { tokenizer } = model;
        assert.ok(tokenizer.vocabularySize > 0, 'vocabulary is not empty');
        const text = 'def f(a):\n    return a + 1';
        const ids = tokenizer.encode(text);
        assert.ok(ids.length > 0, 'text encodes to tokens');
        assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabularySize));
        assert.equal(tokenizer.decode(ids), text, 'decode(encode(text)) gives the text back');
      },
    },
    {
      name: 'generates one completion per prompt, with one log probability per token',
      run: async (model) => {
        const { completions } = await model.doGenerate(request(prompts, maxTokens));
        assert.equal(completions.length, prompts.length);
        for (const completion of completions) {
          assert.equal(
            completion.logProbs.length,
            completion.tokenIds.length,
            'one log probability per token',
          );
          assert.ok(
            completion.tokenIds.length >= 1 && completion.tokenIds.length <= maxTokens,
            'respects maxTokens',
          );
          assert.ok(
            completion.tokenIds.every(
              (id) => Number.isInteger(id) && id >= 0 && id < model.tokenizer.vocabularySize,
            ),
            'token ids are in the vocabulary',
          );
          assert.ok(
            completion.logProbs.every((value) => Number.isFinite(value) && value <= 1e-6),
            'log probabilities are finite and not positive',
          );
          assert.equal(
            completion.text,
            model.tokenizer.decode(completion.tokenIds),
            'text is the decoded tokens',
          );
          assert.ok(completion.promptTokenIds.length > 0, 'the prompt tokens are reported');
          if (completion.finishReason === 'length') {
            assert.equal(completion.tokenIds.length, maxTokens, '"length" means maxTokens were generated');
          }
        }
      },
    },
    {
      name: 'reproduces sampled completions from the same seed, and varies them with the seed',
      run: async (model) => {
        const first = await model.doGenerate(request(prompts, maxTokens, { seed: 11 }));
        const again = await model.doGenerate(request(prompts, maxTokens, { seed: 11 }));
        assert.deepEqual(
          again.completions.map((completion) => completion.tokenIds),
          first.completions.map((completion) => completion.tokenIds),
          'same seed, same tokens',
        );
        const seeds = [12, 13, 14, 15];
        const others = await Promise.all(
          seeds.map((seed) => model.doGenerate(request(prompts, maxTokens, { seed }))),
        );
        const reference = JSON.stringify(first.completions.map((completion) => completion.tokenIds));
        assert.ok(
          others.some((other) => JSON.stringify(other.completions.map((c) => c.tokenIds)) !== reference),
          'five seeds at temperature 1 all gave the same completions: sampling ignores the seed',
        );
      },
    },
    {
      name: 'decodes greedily whatever the seed',
      run: async (model) => {
        const one = await model.doGenerate(request(prompts, maxTokens, { seed: 1, greedy: true }));
        const two = await model.doGenerate(request(prompts, maxTokens, { seed: 2, greedy: true }));
        assert.deepEqual(
          two.completions.map((completion) => completion.tokenIds),
          one.completions.map((completion) => completion.tokenIds),
        );
      },
    },
    {
      name: 'holds sampled and greedy completions to a constraint, when it declares constrained decoding',
      run: async (model) => {
        if (!model.capabilities.constrainedDecoding) return;
        // Calls such as `max(3,0,7)`: a grammar whose words need several tokens.
        const constraint = createAutomatonConstraint('conformance', CALL_AUTOMATON, model.tokenizer);
        for (const greedy of [false, true]) {
          const { completions } = await model.doGenerate(
            request(prompts, 16, { constraint, greedy, seed: 3 }),
          );
          for (const completion of completions) {
            const text = model.tokenizer.decode(
              completion.tokenIds.filter((id) => id !== model.tokenizer.endOfSequenceTokenId),
            );
            const state = runAutomaton(CALL_AUTOMATON, text);
            assert.ok(state !== undefined, `${JSON.stringify(text)} leaves the grammar`);
            assert.equal(completion.logProbs.length, completion.tokenIds.length);
            if (completion.finishReason !== 'length')
              assert.ok(CALL_AUTOMATON.accepting(state), `${JSON.stringify(text)} ended unfinished`);
          }
        }
      },
    },
    {
      name: 'stops at a stop string and keeps it in the completion',
      run: async (model) => {
        const greedy = await model.doGenerate(request(prompts.slice(0, 1), maxTokens, { greedy: true }));
        const completion = greedy.completions[0] as Completion;
        const firstText = model.tokenizer.decode(completion.tokenIds.slice(0, 1));
        if (firstText.length === 0 || completion.tokenIds.length < 2) {
          return; // The first token is special or the only one: no stop string can be taken from it.
        }
        const stopped = await model.doGenerate(
          request(prompts.slice(0, 1), maxTokens, { greedy: true, stop: [firstText] }),
        );
        const result = stopped.completions[0] as Completion;
        assert.equal(result.finishReason, 'stop');
        assert.equal(result.tokenIds.length, 1, 'generation stops right after the stop string');
        assert.ok(result.text.includes(firstText), 'the stop string is kept');
      },
    },
    {
      name: 'recomputes the log probabilities that generation reported',
      run: async (model) => {
        const temperature = 0.8;
        const { completions } = await model.doGenerate(request(prompts, maxTokens, { temperature }));
        const { logProbs } = await model.doComputeLogProbs({
          sequences: completions.map(sequenceOf),
          temperature,
        });
        completions.forEach((completion, index) => {
          const recomputed = logProbs[index] as readonly number[];
          assert.equal(recomputed.length, completion.logProbs.length);
          completion.logProbs.forEach((value, position) => {
            const difference = Math.abs(value - (recomputed[position] as number));
            assert.ok(difference <= tolerance, `token ${position}: ${value} vs ${recomputed[position]}`);
          });
        });
      },
    },
    {
      name: 'rejects a generation whose signal is already aborted',
      run: async (model) => {
        const controller = new AbortController();
        controller.abort(new Error('stop now'));
        await assert.rejects(model.doGenerate(request(prompts, maxTokens, { signal: controller.signal })));
      },
    },
    {
      name: 'trains: a positive advantage makes the completion more likely (or training is refused with a typed error)',
      run: async (model) => {
        const { completions } = await model.doGenerate(request(prompts.slice(0, 1), maxTokens, { seed: 3 }));
        const completion = completions[0] as Completion;
        const sequence = sequenceOf(completion);
        const before =
          (await model.doComputeLogProbs({ sequences: [sequence], temperature: 1 })).logProbs[0] ?? [];
        const trainSequence: TrainSequence = {
          ...sequence,
          oldLogProbs: before,
          advantages: before.map(() => 1),
        };
        const batch = {
          sequences: [trainSequence],
          temperature: 1,
          loss: { clipRatio: 0.2, entropyCoefficient: 0 },
        };
        if (!model.capabilities.training) {
          await assert.rejects(model.doTrainStep(batch), (error: unknown) =>
            UnsupportedCapabilityError.isInstance(error),
          );
          return;
        }
        let oldLogProbs = before;
        for (let step = 0; step < trainSteps; step += 1) {
          const result = await model.doTrainStep({
            ...batch,
            sequences: [{ ...trainSequence, oldLogProbs }],
          });
          for (const [key, value] of Object.entries(result)) {
            assert.ok(Number.isFinite(value), `${key} is finite, got ${value}`);
          }
          assert.equal(result.tokenCount, completion.tokenIds.length, 'every token counted');
          oldLogProbs =
            (await model.doComputeLogProbs({ sequences: [sequence], temperature: 1 })).logProbs[0] ?? [];
        }
        assert.ok(
          sum(oldLogProbs) > sum(before),
          `log probability of the reinforced completion went from ${sum(before)} to ${sum(oldLogProbs)}`,
        );
      },
    },
    {
      name: `saves into a directory${options.load ? ' and loads back the same policy' : ''}`,
      run: async (model) => {
        const directory = await mkdtemp(join(tmpdir(), 'azr-policy-conformance-'));
        try {
          await model.doSave(directory);
          assert.ok((await readdir(directory)).length > 0, 'doSave wrote nothing');
          if (options.load) {
            const loaded = await options.load(directory);
            try {
              const greedy = request(prompts, maxTokens, { greedy: true });
              const expected = await model.doGenerate(greedy);
              const actual = await loaded.doGenerate(greedy);
              assert.deepEqual(
                actual.completions.map((completion) => completion.tokenIds),
                expected.completions.map((completion) => completion.tokenIds),
              );
            } finally {
              await loaded.doDispose();
            }
          }
        } finally {
          await rm(directory, { recursive: true, force: true });
        }
      },
    },
    {
      name: 'rejects calls after doDispose() with an AzrError, and doDispose() twice is harmless',
      run: async (model) => {
        await model.doDispose();
        await model.doDispose();
        await assert.rejects(model.doGenerate(request(prompts, maxTokens)), (error: unknown) =>
          AzrError.isInstance(error),
        );
      },
    },
  ];
  return checks;
}

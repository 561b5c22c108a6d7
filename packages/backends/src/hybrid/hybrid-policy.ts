import {
  ConfigError,
  type GenerateRequest,
  type GenerateResult,
  type LogProbsRequest,
  type LogProbsResult,
  ResourceClosedError,
  type TrainBatch,
  type TrainStepResult,
  UnsupportedCapabilityError,
} from '@azr/core/spec';
import { llamaConfigToJson } from '../model/config.js';
import type { LlamaWeights } from '../model/weights.js';
import type { LlamaPolicyModel } from '../shared/llama-policy.js';

/** Settings of {@link createHybridPolicy}. */
export interface HybridPolicySettings {
  /** The engine that trains (`createTfjsPolicy`); it also scores log probabilities. */
  readonly learner: LlamaPolicyModel;
  /** The engine that generates (`createOnnxPolicy`), kept in step with the learner's weights. */
  readonly rollout: LlamaPolicyModel;
  /** Names the model in events. Default `hybrid:<learner's id>`. */
  readonly modelId?: string;
}

/** A policy that generates on one engine and trains on another. */
export interface HybridPolicy extends LlamaPolicyModel {
  /** Copies the learner's weights into the rollout engine now; returns how long that took, in ms. */
  syncWeights(): Promise<number>;
  /** How long the last weight sync took, in milliseconds. */
  readonly lastWeightSyncMs: number;
}

/**
 * Pairs a learner with a fast rollout engine: `doGenerate` runs on the rollout engine, `doComputeLogProbs` and
 * `doTrainStep` on the learner, and after every update the learner's weights are copied into the rollout
 * engine, so that generation always samples from the policy being trained. The two must hold the same
 * architecture; the rollout starts from the learner's weights. `doSave` saves the learner (load it back with
 * its factory and pair it again); `doDispose` releases both.
 *
 * ```ts
 * const learner = await createTfjsPolicy({ model: { preset: 'tiny', seed: 1 } });
 * const rollout = await createOnnxPolicy({ model: { config: learner.config!, weights: await learner.readWeights(), tokenizer: learner.tokenizer } });
 * const policy = await createHybridPolicy({ learner, rollout });
 * ```
 */
export async function createHybridPolicy(settings: HybridPolicySettings): Promise<HybridPolicy> {
  const { learner, rollout } = settings;
  if (!learner.capabilities.training)
    throw new ConfigError(`The learner (${learner.provider} ${learner.modelId}) cannot train.`, {
      field: 'learner',
    });
  if (learner.config === undefined || rollout.config === undefined)
    throw new UnsupportedCapabilityError(
      "createHybridPolicy needs two Llama-family policies whose weights the SDK owns; an imported ONNX export cannot take a learner's weights.",
      { component: 'hybrid policy', capability: 'weight sync' },
    );
  if (JSON.stringify(llamaConfigToJson(learner.config)) !== JSON.stringify(llamaConfigToJson(rollout.config)))
    throw new ConfigError('The learner and the rollout engine hold different model configs.', {
      field: 'rollout',
    });
  if (learner.tokenizer.tokenizerId !== rollout.tokenizer.tokenizerId)
    throw new ConfigError(
      `The learner and the rollout engine use different tokenizers (${learner.tokenizer.tokenizerId}, ${rollout.tokenizer.tokenizerId}).`,
      { field: 'rollout' },
    );
  // The learner's update would take rollouts at another precision as its own: refused rather than trained wrong.
  if (rollout.capabilities.rolloutLogProbs === 'approximate')
    throw new ConfigError(
      `The rollout engine (${rollout.provider} ${rollout.modelId}) samples at a lower precision than it learns in (int8 rollouts), and the learner does not correct its update for that. Create the rollout engine with float32 rollouts, or train on the onnx engine alone with rolloutPrecision "int8".`,
      { field: 'rollout' },
    );
  const modelId = settings.modelId ?? `hybrid:${learner.modelId}`;
  let disposed = false;
  let lastWeightSyncMs = 0;
  const assertOpen = () => {
    if (disposed) throw new ResourceClosedError({ resource: `hybrid policy ${modelId}` });
  };
  const syncWeights = async (): Promise<number> => {
    const started = performance.now();
    await rollout.writeWeights(await learner.readWeights());
    lastWeightSyncMs = performance.now() - started;
    return lastWeightSyncMs;
  };
  await syncWeights();
  return {
    specificationVersion: 'v1',
    provider: `hybrid(${learner.provider}+${rollout.provider})`,
    modelId,
    config: learner.config,
    tokenizer: learner.tokenizer,
    capabilities: {
      training: true,
      constrainedDecoding: rollout.capabilities.constrainedDecoding,
      maxSequenceLength: Math.min(
        learner.capabilities.maxSequenceLength,
        rollout.capabilities.maxSequenceLength,
      ),
    },
    get lastWeightSyncMs() {
      return lastWeightSyncMs;
    },
    syncWeights: async () => {
      assertOpen();
      return syncWeights();
    },
    async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
      assertOpen();
      return rollout.doGenerate(request);
    },
    async doComputeLogProbs(request: LogProbsRequest): Promise<LogProbsResult> {
      assertOpen();
      return learner.doComputeLogProbs(request);
    },
    async doTrainStep(batch: TrainBatch): Promise<TrainStepResult> {
      assertOpen();
      const started = performance.now();
      const result = await learner.doTrainStep(batch);
      await syncWeights();
      return { ...result, durationMs: performance.now() - started };
    },
    async doSave(directory: string): Promise<void> {
      assertOpen();
      await learner.doSave(directory);
    },
    async readWeights(): Promise<LlamaWeights> {
      assertOpen();
      return learner.readWeights();
    },
    async writeWeights(weights: LlamaWeights): Promise<void> {
      assertOpen();
      await learner.writeWeights(weights);
      await syncWeights();
    },
    async doDispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await Promise.all([learner.doDispose(), rollout.doDispose()]);
    },
  };
}

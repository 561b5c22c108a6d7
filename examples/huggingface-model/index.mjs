// Bringing a Hugging Face model folder (config.json, model.safetensors, tokenizer.json): generate with it on
// onnxruntime, train it on TensorFlow.js, and check that both engines agree on it.
//
//   node index.mjs path/to/model-folder
//
// Without an argument it makes such a folder from the tiny random Llama in the SDK's test fixtures
// (../shared/fixtures beside the repository, or AZR_FIXTURES), converting its ONNX weights to safetensors.
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHybridPolicy, loadHuggingFaceTokenizer, writeModelDirectory } from '@azr/backends';
import { createOnnxPolicy, importGenaiLlamaWeights } from '@azr/backends/onnx';
import { createTfjsPolicy } from '@azr/backends/tfjs';

let folder = process.argv[2];
let made = false;
if (folder === undefined) {
  const here = dirname(fileURLToPath(import.meta.url));
  const fixture = join(
    process.env.AZR_FIXTURES ?? resolve(here, '../../../shared/fixtures'),
    'tiny-random-LlamaForCausalLM-fp16-onnx',
  );
  const present = await access(fixture).then(
    () => true,
    () => false,
  );
  if (!present) {
    console.log(`No model folder given and no fixture at ${fixture}: pass a Hugging Face model folder.`);
    process.exit(0);
  }
  const { config, weights } = await importGenaiLlamaWeights(join(fixture, 'model.onnx'));
  folder = await mkdtemp(join(tmpdir(), 'azr-hf-model-'));
  made = true;
  await writeModelDirectory(folder, { config, weights, tokenizer: await loadHuggingFaceTokenizer(fixture) });
  console.log(`made ${folder} from ${fixture}`);
}

const rollout = await createOnnxPolicy({ model: { directory: folder } });
const learner = await createTfjsPolicy({ model: { directory: folder }, optimizer: { learningRate: 1e-3 } });
console.log(
  `loaded ${rollout.config.modelType}: ${rollout.config.layerCount} layers, width ${rollout.config.hiddenSize}, vocabulary ${rollout.config.vocabularySize}`,
);

const request = {
  prompts: ['def add(a, b):', 'The capital of France is'],
  seed: 0,
  temperature: 1,
  topP: 1,
  maxTokens: 12,
  greedy: true,
};
const [onnx, tfjs] = [await rollout.doGenerate(request), await learner.doGenerate(request)];
for (const [index, completion] of onnx.completions.entries()) {
  const same = completion.tokenIds.join() === tfjs.completions[index].tokenIds.join();
  console.log(
    `prompt ${index}: ${JSON.stringify(completion.text)} (onnx and tfjs ${same ? 'agree' : 'DISAGREE'})`,
  );
}

// One PPO update on the hybrid: the rollout engine takes the learner's new weights.
const policy = await createHybridPolicy({ learner, rollout });
const sampled = (await policy.doGenerate({ ...request, greedy: false })).completions;
const result = await policy.doTrainStep({
  sequences: sampled.map((completion) => ({
    promptTokenIds: completion.promptTokenIds,
    completionTokenIds: completion.tokenIds,
    oldLogProbs: completion.logProbs,
    advantages: completion.tokenIds.map(() => 1),
  })),
  temperature: 1,
  loss: { clipRatio: 0.2, entropyCoefficient: 0 },
});
console.log(
  `trained one step: loss ${result.loss.toFixed(4)}, ${result.tokenCount} tokens, synced in ${policy.lastWeightSyncMs.toFixed(0)} ms`,
);
await policy.doDispose();
if (made) await rm(folder, { recursive: true, force: true });

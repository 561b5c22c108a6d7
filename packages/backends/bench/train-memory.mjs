#!/usr/bin/env node
// Peak resident memory of onnx train steps of the benchmark model, in a process of its own (run by
// engines.mjs): the resident set before the first step, and the process's peak after three steps, on the
// benchmark's batch (16 completions of 120 tokens after 8-token prompts).
import { createOnnxPolicy } from '../dist/onnx/index.js';
import { generateRequest, model, trainBatchOf } from './benchmark-model.mjs';

const policy = await createOnnxPolicy({ model, intraOpThreads: Number(process.argv[2] ?? 1) });
const batch = trainBatchOf((await policy.doGenerate(generateRequest(99))).completions);
const before = process.memoryUsage().rss;
for (let step = 0; step < 3; step += 1) await policy.doTrainStep(batch);
const peak = process.resourceUsage().maxRSS * 1024;
await policy.doDispose();
process.stdout.write(JSON.stringify({ before, peak }));

// The machine's practical matmul peak, shared by the benches: the fastest run of onnxruntime's MatMul on float32
// squares. A peak is a maximum, and on a shared machine noise only ever slows a run down, so the best run
// estimates it (the engines' figures are medians).
import { loadOnnxRuntime, OnnxGraphBuilder } from '../dist/onnx/index.js';

/** GFLOP/s of the fastest MatMul run over `sizes` on `threads` threads (`runs` timed runs each; fewer at 2048). */
export async function onnxMatmulPeak({ threads, sizes, runs = 20, runsAt2048 = runs }) {
  const runtime = await loadOnnxRuntime();
  let best = 0;
  for (const size of sizes) {
    const graph = new OnnxGraphBuilder('matmul');
    const left = graph.input('left', 'float32', [size, size]);
    const right = graph.weight(
      'right',
      [size, size],
      Float32Array.from({ length: size * size }, (_, i) => (i % 7) / 7),
    );
    graph.output(graph.node('MatMul', [left, right]), 'product', 'float32', [size, size]);
    const session = await runtime.InferenceSession.create(await graph.encode(), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    const feeds = {
      left: new runtime.Tensor(
        'float32',
        Float32Array.from({ length: size * size }, (_, i) => (i % 5) / 5),
        [size, size],
      ),
    };
    await session.run(feeds);
    for (let run = 0; run < (size === 2048 ? runsAt2048 : runs); run += 1) {
      const started = performance.now();
      await session.run(feeds);
      best = Math.max(best, (2 * size ** 3) / ((performance.now() - started) / 1000) / 1e9);
    }
    await session.release();
  }
  return best;
}

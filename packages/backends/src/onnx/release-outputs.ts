import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/**
 * Runs V8's garbage collector now. onnxruntime-node (1.30) returns every output of a run as a new JavaScript copy,
 * even an output written into a buffer of the caller's (a preallocated fetch). The training graph's outputs are
 * the size of the model's weights: 2 GB for a 0.5B model in float32. Dropped at once, those copies still stay
 * resident until V8 next collects, which it does only once the following run's copies have been allocated: two
 * weight-sized copies in memory at a time. Collecting after each run keeps it to one, and costs a few
 * milliseconds against runs of seconds.
 *
 * Uses `globalThis.gc` when the process was started with `--expose-gc`; otherwise exposes it once, in a context
 * of its own, so that the program's global object is not touched (the flag stays set for the process: contexts
 * and workers made later also get a `gc`). Where the runtime offers neither, it does nothing.
 */
export function collectGarbage(): void {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') collect = exposed;
    else {
      try {
        setFlagsFromString('--expose-gc');
        const found = runInNewContext('gc') as unknown;
        // A runtime that ignores V8 flags (not Node) leaves the copies to its own collector.
        collect = typeof found === 'function' ? (found as () => void) : () => {};
      } catch {
        collect = () => {};
      }
    }
  }
  collect();
}

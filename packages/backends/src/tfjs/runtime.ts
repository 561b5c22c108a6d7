import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { assertOneOf, ConfigError } from '@azr/core/spec';
import { importOptional } from '../shared/import-optional.js';

/**
 * Which TensorFlow.js backend runs the math.
 *
 * - `auto`: `node-gpu` if `@tensorflow/tfjs-node-gpu` is installed, else `node` if `@tensorflow/tfjs-node` is,
 *   else `wasm`.
 * - `wasm`: `@tensorflow/tfjs-backend-wasm` (SIMD), bundled with this package. Works everywhere.
 * - `node`, `node-gpu`: libtensorflow through the optional packages of those names (their installers download
 *   libtensorflow, so they are not installed by default).
 * - `cpu`: plain JavaScript kernels. Very slow; for debugging.
 */
export type TfjsBackendName = 'auto' | 'wasm' | 'node' | 'node-gpu' | 'cpu';

/** Every {@link TfjsBackendName}. */
export const TFJS_BACKEND_NAMES: readonly TfjsBackendName[] = ['auto', 'wasm', 'node', 'node-gpu', 'cpu'];

/** Settings of {@link initializeTfjs}. */
export interface InitializeTfjsSettings {
  /** Default `auto`. */
  readonly backend?: TfjsBackendName;
}

/** The `@tensorflow/tfjs-core` namespace. */
export type TfjsModule = typeof import('@tensorflow/tfjs-core');

/** The initialised TensorFlow.js namespace and the backend it runs on. */
export interface TfjsRuntime {
  readonly tf: TfjsModule;
  readonly backend: Exclude<TfjsBackendName, 'auto'>;
}

const require = createRequire(import.meta.url);

function isInstalled(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads TensorFlow.js and selects a backend. TensorFlow.js keeps its backend in one engine per process, so
 * every tfjs model in a process shares the backend chosen here; asking for another one later switches it.
 * Throws `MissingDependencyError` when the requested backend's package is not installed.
 */
export async function initializeTfjs(settings: InitializeTfjsSettings = {}): Promise<TfjsRuntime> {
  const requested = assertOneOf('backend', settings.backend ?? 'auto', TFJS_BACKEND_NAMES);
  const backend =
    requested !== 'auto'
      ? requested
      : isInstalled('@tensorflow/tfjs-node-gpu')
        ? 'node-gpu'
        : isInstalled('@tensorflow/tfjs-node')
          ? 'node'
          : 'wasm';
  const tf = await importOptional(
    '@tensorflow/tfjs-core',
    'The tfjs engine of @azr/backends',
    () => import('@tensorflow/tfjs-core'),
  );
  // tfjs-core's own gradient registration is published only as bundler-style ES modules that Node cannot load;
  // the @tensorflow/tfjs bundle registers them (into the same engine). Training needs them.
  await importOptional('@tensorflow/tfjs', 'Training with the tfjs engine', () => import('@tensorflow/tfjs'));
  let backendName: string;
  switch (backend) {
    case 'wasm': {
      const wasm = await importOptional(
        '@tensorflow/tfjs-backend-wasm',
        'The tfjs wasm backend',
        () => import('@tensorflow/tfjs-backend-wasm'),
      );
      const wasmDirectory = dirname(
        require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'),
      );
      wasm.setWasmPaths(`${wasmDirectory}/`);
      backendName = 'wasm';
      break;
    }
    case 'node':
    case 'node-gpu': {
      // Optional peers: imported by a computed name so that builds and type checks do not need them.
      const packageName: string = backend === 'node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
      await importOptional(packageName, `The tfjs ${backend} backend`, () => import(packageName));
      backendName = 'tensorflow';
      break;
    }
    case 'cpu':
      await importOptional(
        '@tensorflow/tfjs-backend-cpu',
        'The tfjs cpu backend',
        () => import('@tensorflow/tfjs-backend-cpu'),
      );
      backendName = 'cpu';
      break;
  }
  const selected = await tf.setBackend(backendName);
  if (!selected) {
    throw new ConfigError(`TensorFlow.js could not start its "${backend}" backend.`, {
      field: 'backend',
      allowed: TFJS_BACKEND_NAMES,
    });
  }
  await tf.ready();
  return { tf, backend };
}

import { ConfigError, ModelFormatError } from '@azr/core/spec';
import type * as OnnxRuntime from 'onnxruntime-node';
import type { OnnxRuntimeModule } from './runtime.js';

/** Execution providers onnxruntime-node can be asked for. Which ones a host has is checked at run time. */
export const ONNX_EXECUTION_PROVIDERS = ['cpu', 'cuda', 'webgpu', 'tensorrt', 'dml', 'coreml'] as const;

/** One of {@link ONNX_EXECUTION_PROVIDERS}. */
export type OnnxExecutionProvider = (typeof ONNX_EXECUTION_PROVIDERS)[number];

/** How the SDK opens onnxruntime sessions. */
export interface OnnxSessionSettings {
  /** Providers in order of preference. Default `['cpu']`. */
  readonly executionProviders?: readonly OnnxExecutionProvider[];
  /** Threads one operator may use. Default `1`, so that results do not depend on the machine. */
  readonly intraOpThreads?: number;
}

const PROVIDER_HINTS: Partial<Record<OnnxExecutionProvider, string>> = {
  cuda: 'CUDA needs CUDA 12 and the provider library, which the SDK does not download: run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`.',
  tensorrt: 'TensorRT needs the CUDA and TensorRT provider libraries (`ONNXRUNTIME_NODE_INSTALL=cuda12`).',
  webgpu: 'WebGPU needs a GPU adapter that Dawn can open on this host.',
};

/** Checks the session settings against what this host's onnxruntime-node build provides. */
export function checkSessionSettings(
  runtime: OnnxRuntimeModule,
  settings: OnnxSessionSettings,
): { providers: readonly OnnxExecutionProvider[]; intraOpThreads: number } {
  const providers = settings.executionProviders ?? ['cpu'];
  const intraOpThreads = settings.intraOpThreads ?? 1;
  if (!Number.isInteger(intraOpThreads) || intraOpThreads < 1)
    throw new ConfigError(`intraOpThreads must be a positive integer, got ${intraOpThreads}.`, {
      field: 'intraOpThreads',
    });
  if (providers.length === 0)
    throw new ConfigError('executionProviders is empty; name at least one (cpu is always there).', {
      field: 'executionProviders',
      allowed: [...ONNX_EXECUTION_PROVIDERS],
    });
  const available = runtime.listSupportedBackends().map((backend) => backend.name);
  for (const provider of providers) {
    if (!(ONNX_EXECUTION_PROVIDERS as readonly string[]).includes(provider))
      throw new ConfigError(`Unknown execution provider "${provider}".`, {
        field: 'executionProviders',
        allowed: [...ONNX_EXECUTION_PROVIDERS],
      });
    if (!available.includes(provider))
      throw new ConfigError(
        `The execution provider "${provider}" is not in this onnxruntime-node build for ${process.platform}-${process.arch} (it has ${available.join(', ')}). ${PROVIDER_HINTS[provider] ?? ''}`.trim(),
        { field: 'executionProviders', allowed: available },
      );
  }
  return { providers, intraOpThreads };
}

/**
 * Opens an onnxruntime session on the given providers. A provider the host lacks gives a `ConfigError` that
 * says how to get it; a graph onnxruntime cannot load gives a `ModelFormatError`.
 */
export async function openSession(
  runtime: OnnxRuntimeModule,
  model: string | Uint8Array,
  settings: OnnxSessionSettings,
): Promise<OnnxRuntime.InferenceSession> {
  const { providers, intraOpThreads } = checkSessionSettings(runtime, settings);
  const options: OnnxRuntime.InferenceSession.SessionOptions = {
    executionProviders: [...providers],
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  try {
    return typeof model === 'string'
      ? await runtime.InferenceSession.create(model, options)
      : await runtime.InferenceSession.create(model, options);
  } catch (error) {
    const message = (error as Error).message;
    const failed = providers.find(
      (provider) => provider !== 'cpu' && message.toLowerCase().includes(provider.toLowerCase()),
    );
    if (failed !== undefined)
      throw new ConfigError(
        `onnxruntime could not start the "${failed}" execution provider (${message.trim()}). ${PROVIDER_HINTS[failed] ?? ''}`.trim(),
        { field: 'executionProviders', allowed: ['cpu'] },
        { cause: error },
      );
    const path = typeof model === 'string' ? model : undefined;
    throw new ModelFormatError(
      `onnxruntime could not load ${path ?? 'the graph'}: ${message}`,
      { path },
      { cause: error },
    );
  }
}

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';

/** One runtime package the SDK can use, and whether it works here. */
export interface RuntimeStatus {
  readonly packageName: string;
  readonly role: string;
  readonly version: string | undefined;
  /** `ok`, `not installed`, or the error met while loading it. */
  readonly status: string;
}

/** What `azr info` reports. */
export interface EnvironmentReport {
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly packages: Readonly<Record<string, string | undefined>>;
  readonly runtimes: readonly RuntimeStatus[];
  /**
   * The execution providers this onnxruntime-node build can load (`listSupportedBackends`), for
   * `executionProviders`; `bundled: false` means its provider library is not in the npm package and must be
   * installed beside it (CUDA and TensorRT on linux-x64). Empty when onnxruntime-node does not load.
   */
  readonly executionProviders: readonly { readonly name: string; readonly bundled: boolean }[];
}

const require = createRequire(import.meta.url);

function versionOf(packageName: string): string | undefined {
  try {
    return (require(`${packageName}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

async function probe(
  packageName: string,
  role: string,
  load: () => Promise<unknown>,
): Promise<RuntimeStatus> {
  const version = versionOf(packageName);
  if (version === undefined) {
    return { packageName, role, version, status: 'not installed' };
  }
  try {
    await load();
    return { packageName, role, version, status: 'ok' };
  } catch (error) {
    return { packageName, role, version, status: `failed to load: ${(error as Error).message}` };
  }
}

/** Checks which runtimes are installed and load on this machine. */
export async function collectEnvironmentReport(): Promise<EnvironmentReport> {
  const { loadOnnxRuntime } = await import('@azr/backends/onnx');
  const { initializeTfjs } = await import('@azr/backends/tfjs');
  let executionProviders: EnvironmentReport['executionProviders'] = [];
  const runtimes = [
    await probe('onnxruntime-node', 'onnx engine (generation)', async () => {
      const runtime = await loadOnnxRuntime();
      executionProviders = runtime.listSupportedBackends().map(({ name, bundled }) => ({ name, bundled }));
    }),
    await probe('@tensorflow/tfjs-core', 'tfjs engine (training), wasm backend', () =>
      initializeTfjs({ backend: 'wasm' }),
    ),
    await probe('@tensorflow/tfjs-node', 'tfjs engine, native CPU backend (optional)', () =>
      initializeTfjs({ backend: 'node' }),
    ),
    await probe('@tensorflow/tfjs-node-gpu', 'tfjs engine, CUDA backend (optional)', () =>
      initializeTfjs({ backend: 'node-gpu' }),
    ),
  ];
  return {
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    packages: Object.fromEntries(
      ['@azr/core', '@azr/executor', '@azr/backends', '@azr/cli'].map((name) => [name, versionOf(name)]),
    ),
    runtimes,
    executionProviders,
  };
}

/** Formats the report for a terminal. */
export function formatEnvironmentReport(report: EnvironmentReport): string {
  const lines = [
    `node ${report.node} on ${report.platform}, ${report.cpus} CPUs`,
    ...Object.entries(report.packages).map(([name, version]) => `${name} ${version ?? '(not installed)'}`),
    '',
    'runtimes:',
    ...report.runtimes.map(
      (runtime) =>
        `  ${runtime.packageName}${runtime.version ? `@${runtime.version}` : ''}: ${runtime.status} - ${runtime.role}`,
    ),
    ...(report.executionProviders.length === 0
      ? []
      : [
          '',
          `onnxruntime execution providers: ${report.executionProviders
            .map(({ name, bundled }) => (bundled ? name : `${name} (provider library installed separately)`))
            .join(', ')}`,
        ]),
  ];
  return lines.join('\n');
}

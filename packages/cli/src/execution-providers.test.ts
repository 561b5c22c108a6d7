import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `azr` as a user runs it: the built bin in a child process, for its real exit code and stderr.
const azr = fileURLToPath(new URL('../bin/azr.js', import.meta.url));

// Where onnxruntime-node keeps the CUDA provider library that its install script downloads (this project turns
// the download off). Without it, asking for cuda must fail with the onnx engine's ConfigError.
const onnxruntimeBin = join(
  dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')),
  'bin/napi-v6',
  process.platform,
  process.arch,
);
const cudaInstalled = existsSync(join(onnxruntimeBin, 'libonnxruntime_providers_cuda.so'));

// The backends' message for a cuda this host lacks: not in the build (most platforms), or in the build without
// its provider library (linux-x64); both name the provider and how to get it.
const MISSING_CUDA =
  /^azr: .*"cuda".*CUDA needs CUDA 12 .*`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`/m;

const directories: string[] = [];
afterAll(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

let workspace: string;
let run: string;

function runAzr(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [azr, ...args], { cwd: workspace }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file of a folder with the hash of its bytes, to show that a failed command changed nothing. */
async function snapshot(directory: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return files;
}

function expectOneClearError(result: { code: number; stderr: string }, pattern: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

// A one-step run of the tiny preset with small budgets (about 2 s), to resume and evaluate.
beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'azr-devices-'));
  directories.push(workspace);
  await writeFile(
    join(workspace, 'azr.config.json'),
    JSON.stringify({
      steps: 1,
      trainer: { batchSize: 2, solveRollouts: 2, learnabilityRollouts: 2, sampling: { maxTokens: 16 } },
      executor: { workers: 1 },
      tasks: { evaluateEvery: false },
    }),
  );
  run = join(workspace, 'run');
  const trained = await runAzr(['train', '--out', run]);
  expect(trained.code, trained.stderr).toBe(0);
}, 120_000);

describe.skipIf(cudaInstalled)('execution providers this host lacks', { timeout: 60_000 }, () => {
  it('azr train --execution-provider cuda: the engine says how to get it, exits 1 and creates no run', async () => {
    const out = join(workspace, 'cuda-run');
    expectOneClearError(await runAzr(['train', '--execution-provider', 'cuda', '--out', out]), MISSING_CUDA);
    await expect(access(out)).rejects.toThrow();
  });

  it('the same from the config file, and with cpu after it', async () => {
    const config = join(workspace, 'cuda.config.json');
    await writeFile(config, '{ "executionProviders": ["cuda", "cpu"], "steps": 1 }');
    const out = join(workspace, 'cuda-config-run');
    expectOneClearError(await runAzr(['train', '--config', config, '--out', out]), MISSING_CUDA);
    await expect(access(out)).rejects.toThrow();
  });

  it('resuming on cuda fails before the run is touched; the run recorded on cuda resumes with --execution-provider cpu', async () => {
    const before = await snapshot(run);
    expectOneClearError(
      await runAzr(['train', '--resume', run, '--steps', '2', '--execution-provider', 'cuda']),
      MISSING_CUDA,
    );
    expect(await snapshot(run)).toEqual(before);
    // A run started on a GPU machine, resumed here: the error adds how to resume it on the CPU.
    const configPath = join(run, 'config.json');
    const recorded = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    expect(recorded.executionProviders).toEqual(['cpu']);
    await writeFile(configPath, JSON.stringify({ ...recorded, executionProviders: ['cuda'] }, null, 2));
    const onGpu = await snapshot(run);
    const resumed = await runAzr(['train', '--resume', run, '--steps', '2']);
    expectOneClearError(resumed, MISSING_CUDA);
    expect(resumed.stderr).toContain(
      'The run recorded executionProviders cuda; --execution-provider resumes it on others',
    );
    expect(await snapshot(run)).toEqual(onGpu);
    const onCpu = await runAzr(['train', '--resume', run, '--steps', '2', '--execution-provider', 'cpu']);
    expect(onCpu.code).toBe(0);
    expect(onCpu.stdout).toMatch(/finished at step 2/);
  });

  it('azr eval --execution-provider cuda: the same error and exit code', async () => {
    const suite = fileURLToPath(new URL('../suites/mini-javascript.jsonl', import.meta.url));
    const out = join(workspace, 'evaluation.json');
    expectOneClearError(
      await runAzr(['eval', '--model', run, '--suite', suite, '--execution-provider', 'cuda', '--out', out]),
      MISSING_CUDA,
    );
    await expect(access(out)).rejects.toThrow();
  });
});

describe('execution providers on the command line', { timeout: 60_000 }, () => {
  it('refuses a provider onnxruntime has no name for, listing the allowed ones', async () => {
    expectOneClearError(
      await runAzr(['train', '--execution-provider', 'cuda,gpu']),
      /argument 'cuda,gpu' is invalid\. Allowed execution providers are cpu, cuda, webgpu, tensorrt, dml, coreml/,
    );
    expectOneClearError(
      await runAzr(['train', '--execution-provider', 'cpu', '--execution-provider', 'cpu']),
      /"cpu" is named twice/,
    );
  });

  it('refuses a provider other than cpu for the tfjs engine instead of ignoring it', async () => {
    const out = join(workspace, 'tfjs-run');
    const tfjs = /^azr: The tfjs engine has no execution providers .*"cuda"/m;
    expectOneClearError(
      await runAzr(['train', '--engine', 'tfjs', '--execution-provider', 'cpu,cuda', '--out', out]),
      tfjs,
    );
    await expect(access(out)).rejects.toThrow();
    const suite = fileURLToPath(new URL('../suites/mini-javascript.jsonl', import.meta.url));
    expectOneClearError(
      await runAzr([
        'eval',
        '--model',
        run,
        '--suite',
        suite,
        '--engine',
        'tfjs',
        '--execution-provider',
        'cuda',
      ]),
      tfjs,
    );
  });
});

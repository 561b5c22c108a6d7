import { describe, expect, it } from 'vitest';
import { main } from './index.js';

async function run(...args: string[]) {
  let out = '';
  let error = '';
  const code = await main(['node', 'azr', ...args], {
    out: (text) => {
      out += text;
    },
    error: (text) => {
      error += text;
    },
  });
  return { code, out, error };
}

describe('azr', () => {
  it('lists the commands that exist in --help', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(0);
    expect(out).toContain('Usage: azr');
    const commands = [...out.slice(out.indexOf('Commands:')).matchAll(/^ {2}(\w+)/gm)].map(
      (match) => match[1],
    );
    expect(commands).toEqual(['train', 'report', 'eval', 'init', 'info', 'help']);
  });

  it('prints help when run without arguments', async () => {
    const result = await run();
    expect(result.code).toBe(0);
  });

  it('prints its version', async () => {
    const { code, out } = await run('--version');
    expect(code).toBe(0);
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects an unknown command with one message and a non-zero exit', async () => {
    const { code, error } = await run('bogus');
    expect(code).toBe(1);
    expect(error).toContain("unknown command 'bogus'");
    expect(error).not.toMatch(/\n\s+at /);
  });

  it('reports the runtimes as JSON', async () => {
    const { code, out } = await run('info', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(out) as {
      runtimes: { packageName: string; status: string }[];
      executionProviders: { name: string; bundled: boolean }[];
    };
    // What executionProviders can name here: the CPU build is always in the package.
    expect(report.executionProviders).toContainEqual({ name: 'cpu', bundled: true });
    const status = Object.fromEntries(
      report.runtimes.map((runtime) => [runtime.packageName, runtime.status]),
    );
    expect(status['onnxruntime-node']).toBe('ok');
    expect(status['@tensorflow/tfjs-core']).toBe('ok');
  });
});

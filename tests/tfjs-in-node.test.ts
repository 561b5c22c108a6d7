import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCommand } from './helpers.js';

describe('the tfjs policy in plain Node', () => {
  it('generates and trains outside vitest, with the packages as published', async () => {
    const script = fileURLToPath(new URL('./fixtures/tfjs-train-step.mjs', import.meta.url));
    const { code, stdout, stderr } = await runCommand(process.execPath, [script]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { tokens: number; loss: number; gradientNorm: number };
    expect(result.tokens).toBe(4);
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(result.gradientNorm).toBeGreaterThan(0);
  }, 60_000);
});

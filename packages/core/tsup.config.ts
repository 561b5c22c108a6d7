import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', spec: 'src/spec-entry.ts', 'test/index': 'src/test/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['vitest'],
});

import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'javascript/worker': 'src/javascript/worker.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['isolated-vm', 'pyodide'],
});

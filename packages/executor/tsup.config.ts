import { cp } from 'node:fs/promises';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'javascript/worker': 'src/javascript/worker.ts',
    'python/worker': 'src/python/worker.ts',
    'python/interpreter': 'src/python/interpreter.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['isolated-vm', 'pyodide'],
  // The Python half of the sandbox is loaded by the interpreter thread from beside its script.
  onSuccess: () => cp('src/python/sandbox.py', 'dist/python/sandbox.py'),
});

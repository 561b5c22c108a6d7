// Entry point of a JavaScript worker process, started by createJavaScriptExecutor. It owns one isolate and
// answers batches of jobs over IPC; the parent kills and replaces it if it misses a deadline or dies.
import { createRequire } from 'node:module';
import type { JavaScriptWorkerSettings, ParentMessage, WorkerMessage } from '../protocol.js';
import { IsolateRunner } from './isolate-runner.js';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

try {
  const settings = JSON.parse(process.argv[2] ?? '') as JavaScriptWorkerSettings;
  // isolated-vm is a native addon published as CommonJS.
  const isolatedVm = createRequire(import.meta.url)('isolated-vm');
  const runner = new IsolateRunner(isolatedVm, settings);
  process.on('message', (message: ParentMessage) => {
    if (message.type !== 'batch') return;
    const results = message.jobs.map((job) => ({ id: job.id, result: runner.execute(job) }));
    send({ type: 'results', batchId: message.batchId, results });
  });
  process.on('disconnect', () => {
    runner.dispose();
    process.exit(0);
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
}

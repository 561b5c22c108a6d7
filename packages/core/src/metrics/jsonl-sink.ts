import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MetricsSinkV1 } from '../spec/metrics-sink.js';
import type { TrainerEvent } from '../spec/trainer-event.js';

/**
 * Appends every event as one JSON line to a file (created with its folder if needed). Appending, so that a
 * resumed run continues the same file. Each event is written before `write` resolves.
 */
export function createJsonlMetricsSink(path: string): MetricsSinkV1 {
  let ready: Promise<unknown> | undefined;
  return {
    specificationVersion: 'v1',
    sinkId: `jsonl:${path}`,
    async write(event: TrainerEvent): Promise<void> {
      ready ??= mkdir(dirname(path), { recursive: true });
      await ready;
      await appendFile(path, `${JSON.stringify(event)}\n`);
    },
  };
}

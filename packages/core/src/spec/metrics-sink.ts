import type { TrainerEvent } from './trainer-event.js';

/**
 * Receives the trainer's events (a JSONL file, the console, a dashboard). The trainer awaits `write`, so a
 * sink that must not slow training buffers internally. Sinks must not throw for a well-formed event.
 */
export interface MetricsSinkV1 {
  readonly specificationVersion: 'v1';
  readonly sinkId: string;
  write(event: TrainerEvent): void | Promise<void>;
  /** Flushes and releases resources. Called once, at the end of a run. */
  close?(): void | Promise<void>;
}

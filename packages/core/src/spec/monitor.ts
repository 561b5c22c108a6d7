import type { TaskModeName, TaskRole } from './task.js';

/** A piece of generated text offered to monitors, with where it came from. */
export interface MonitoredText {
  readonly step: number;
  readonly mode: TaskModeName;
  readonly role: TaskRole;
  readonly text: string;
}

/** Something a monitor found in generated text. Recorded, reported, never acted on by the trainer. */
export interface MonitorFlag {
  /** The monitor that raised the flag. */
  readonly monitorId: string;
  /** A short category, e.g. `uh-oh` for the concerning statements the paper reports. */
  readonly category: string;
  /** The matched excerpt, short enough to show in a report. */
  readonly excerpt: string;
  /** Character offset of the excerpt in the text. */
  readonly offset: number;
}

/**
 * Flags content in generated text, such as the paper's "uh-oh moment" (a model writing about outsmarting its
 * overseers). Monitors are pure and fast: they run on every completion.
 */
export interface MonitorV1 {
  readonly specificationVersion: 'v1';
  readonly monitorId: string;
  inspect(sample: MonitoredText): MonitorFlag[];
}

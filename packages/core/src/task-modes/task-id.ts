import { createHash } from 'node:crypto';
import type { TaskBase } from '../spec/task.js';

/** JSON with object keys sorted at every level, so that equal content gives equal text. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The content hash that identifies a task: equal tasks (same mode, language, entry, program with trailing
 * spaces removed, inputs, outputs, message) get equal ids, whatever step produced them. Buffers deduplicate
 * on it.
 */
export function taskId(task: Omit<TaskBase, 'id' | 'step'> & Record<string, unknown>): string {
  const { id: _id, step: _step, ...content } = task as Record<string, unknown>;
  if (typeof content.program === 'string') {
    content.program = content.program.replace(/[ \t]+$/gm, '').trim();
  }
  return createHash('sha256').update(stableJson(content)).digest('hex').slice(0, 32);
}

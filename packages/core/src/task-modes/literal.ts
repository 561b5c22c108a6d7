import { decodeCanonical, TaggedValue } from '../canonical/decoder.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import type { TaskLanguage } from '../spec/task-language.js';

/**
 * Writes a canonical value as a literal of the task language, the way a solver is shown an output and is
 * expected to write one: `Map{"a"=>Tuple[1,2]}` becomes `{"a": (1, 2)}` in Python. Kinds with no literal
 * (functions, class instances) are shown in their canonical form.
 */
export function canonicalToLiteral(value: CanonicalValue, language: TaskLanguage): string {
  let decoded: unknown;
  try {
    decoded = decodeCanonical(value);
  } catch {
    return value;
  }
  return language === 'python' ? python(decoded, value) : javascript(decoded, value);
}

function pythonNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (Number.isNaN(value)) return "float('nan')";
  if (!Number.isFinite(value)) return value > 0 ? "float('inf')" : "float('-inf')";
  if (Object.is(value, -0)) return '-0.0';
  return String(value);
}

function python(value: unknown, fallback: string): string {
  const print = (item: unknown): string => python(item, fallback);
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'bigint') return pythonNumber(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(print).join(', ')}]`;
  if (value instanceof Map)
    return `{${[...value].map(([key, item]) => `${print(key)}: ${print(item)}`).join(', ')}}`;
  if (value instanceof Set) return value.size === 0 ? 'set()' : `{${[...value].map(print).join(', ')}}`;
  if (value instanceof TaggedValue) {
    if (value.tag === 'Tuple') {
      return value.items.length === 1
        ? `(${print(value.items[0])},)`
        : `(${value.items.map(print).join(', ')})`;
    }
    if (value.tag === 'Bytes') return `bytes([${value.items.map(print).join(', ')}])`;
    if (value.tag === 'Complex') return `complex(${value.text.join(', ')})`;
    if (value.tag === 'Range') return `range(${value.text.join(', ')})`;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}: ${print(item)}`)
      .join(', ')}}`;
  }
  return fallback;
}

function javascript(value: unknown, fallback: string): string {
  const print = (item: unknown): string => javascript(item, fallback);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(print).join(', ')}]`;
  if (value instanceof Map)
    return `new Map([${[...value].map(([key, item]) => `[${print(key)}, ${print(item)}]`).join(', ')}])`;
  if (value instanceof Set) return `new Set([${[...value].map(print).join(', ')}])`;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return `new ${value.constructor.name}([${Array.from(value as unknown as ArrayLike<number>).join(', ')}])`;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return `{ ${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}: ${print(item)}`)
      .join(', ')} }`;
  }
  return fallback;
}

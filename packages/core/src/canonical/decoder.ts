import { InvalidTaskError } from '../errors/errors.js';

/**
 * A value whose kind JavaScript has no native form for, as the decoder returns it: Python's tuples, bytes,
 * complex numbers and ranges, class instances, errors, functions and symbols. `items` holds the elements of
 * sequence-like tags, `fields` the attributes of instances, `text` the payload of the others.
 */
export class TaggedValue {
  constructor(
    readonly tag: string,
    readonly items: readonly unknown[] = [],
    readonly fields: Readonly<Record<string, unknown>> = {},
    readonly text: readonly string[] = [],
  ) {}
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Reads a canonical string back into a value of this realm: plain objects, arrays, `Map`, `Set`, typed arrays,
 * `Date`, `RegExp`, `BigInt` (integers beyond 2^53), `undefined` and the special numbers come back as
 * themselves; other tags (class instances, Python tuples, errors, ...) come back as {@link TaggedValue}.
 * For values made of the first kinds, `encodeCanonical(decodeCanonical(s))` gives `s` back. Throws
 * `InvalidTaskError` for text that is not canonical.
 *
 * One function on purpose: it is a recursive-descent parser whose readers share one cursor (`position`), and
 * splitting them apart would pass that cursor through every call.
 */
export function decodeCanonical(text: string): unknown {
  let position = 0;

  function fail(message: string): never {
    throw new InvalidTaskError(`Not a canonical value at offset ${position}: ${message}.`, {
      reason: 'canonical',
    });
  }

  function startsWith(prefix: string): boolean {
    return text.startsWith(prefix, position);
  }

  function expect(token: string): void {
    if (!startsWith(token)) fail(`expected ${JSON.stringify(token)}`);
    position += token.length;
  }

  function readString(): string {
    const start = position;
    position += 1;
    while (position < text.length && text[position] !== '"') {
      position += text[position] === '\\' ? 2 : 1;
    }
    if (position >= text.length) fail('unterminated string');
    position += 1;
    try {
      return JSON.parse(text.slice(start, position)) as string;
    } catch {
      return fail('bad string escape');
    }
  }

  function readList(close: string): unknown[] {
    const items: unknown[] = [];
    if (startsWith(close)) {
      position += close.length;
      return items;
    }
    for (;;) {
      items.push(readValue());
      if (startsWith(',')) {
        position += 1;
      } else {
        expect(close);
        return items;
      }
    }
  }

  function readNumber(): number | bigint {
    const match = /^-?(?:\d+(?:\.\d+)?(?:e[+-]\d+)?|Infinity|NaN)/.exec(text.slice(position, position + 400));
    if (match === null) fail('expected a value');
    const token = match[0];
    position += token.length;
    if (token === '-0') return -0;
    if (/^-?\d+$/.test(token)) {
      const integer = BigInt(token);
      return integer <= MAX_SAFE && integer >= -MAX_SAFE ? Number(integer) : integer;
    }
    return Number(token);
  }

  function readArguments(): string[] {
    // Tags whose payload is a list of strings and numbers: Error("Name","message"), Complex(1,2), ...
    expect('(');
    const parts: string[] = [];
    while (!startsWith(')')) {
      if (startsWith('"')) {
        parts.push(readString());
      } else {
        const match = /^[^,)]+/.exec(text.slice(position));
        if (match === null) fail('expected an argument');
        parts.push(match[0]);
        position += match[0].length;
      }
      if (startsWith(',')) position += 1;
    }
    position += 1;
    return parts;
  }

  function readValue(): unknown {
    const character = text[position];
    if (character === '"') return readString();
    if (character === '[') {
      position += 1;
      return readList(']');
    }
    if (character === '{') {
      position += 1;
      return readObject(Object.create(Object.prototype) as Record<string, unknown>);
    }
    for (const [word, value] of [
      ['null', null],
      ['undefined', undefined],
      ['true', true],
      ['false', false],
    ] as const) {
      if (startsWith(word) && !/[A-Za-z0-9_$[{(]/.test(text[position + word.length] ?? '')) {
        position += word.length;
        return value;
      }
    }
    if (character === '-' || /[0-9]/.test(character ?? '') || startsWith('Infinity') || startsWith('NaN')) {
      if (
        !(startsWith('Infinity') || startsWith('NaN')) ||
        !/[[{(]/.test(text[position + (startsWith('NaN') ? 3 : 8)] ?? '')
      ) {
        return readNumber();
      }
    }
    const tag = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(position, position + 200))?.[0];
    if (tag === undefined) fail('expected a value');
    position += tag.length;
    return readTagged(tag);
  }

  function readObject(target: Record<string, unknown>): Record<string, unknown> {
    if (startsWith('}')) {
      position += 1;
      return target;
    }
    for (;;) {
      if (!startsWith('"')) fail('expected a property name');
      const key = readString();
      expect(':');
      Object.defineProperty(target, key, {
        value: readValue(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      if (startsWith(',')) {
        position += 1;
      } else {
        expect('}');
        return target;
      }
    }
  }

  function readTagged(tag: string): unknown {
    switch (tag) {
      case 'Map': {
        expect('{');
        const map = new Map<unknown, unknown>();
        if (startsWith('}')) {
          position += 1;
          return map;
        }
        for (;;) {
          const key = readValue();
          expect('=>');
          map.set(key, readValue());
          if (startsWith(',')) {
            position += 1;
          } else {
            expect('}');
            return map;
          }
        }
      }
      case 'Set':
        expect('[');
        return new Set(readList(']'));
      case 'Date': {
        const [iso] = readArguments();
        return new Date(iso === 'Invalid' ? Number.NaN : (iso ?? ''));
      }
      case 'RegExp': {
        const [literal = '//'] = readArguments();
        const end = literal.lastIndexOf('/');
        return new RegExp(literal.slice(1, end), literal.slice(end + 1));
      }
      default:
        break;
    }
    if (startsWith('[')) {
      position += 1;
      const items = readList(']');
      const typed = (globalThis as Record<string, unknown>)[tag];
      if (/Array$/.test(tag) && typeof typed === 'function' && tag !== 'Array') {
        return new (typed as new (values: unknown[]) => unknown)(items);
      }
      return new TaggedValue(tag, items);
    }
    if (startsWith('{')) {
      position += 1;
      return new TaggedValue(tag, [], readObject(Object.create(null) as Record<string, unknown>));
    }
    if (startsWith('(')) {
      return new TaggedValue(tag, [], {}, readArguments());
    }
    return fail(`unknown tag ${tag}`);
  }

  const value = readValue();
  if (position !== text.length) fail('unexpected text after the value');
  return value;
}

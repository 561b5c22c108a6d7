/**
 * Limits on one encoded value. Programs written by a model may return anything; the encoder refuses values
 * beyond these bounds instead of building a huge string.
 */
export interface CanonicalLimits {
  /** Deepest nesting of collections. Default 64. */
  readonly maxDepth: number;
  /** Most values (collections and leaves) in one encoded value. Default 100,000. */
  readonly maxNodes: number;
  /** Longest encoded string, in UTF-16 code units. Default 1,000,000. */
  readonly maxLength: number;
}

/** The default {@link CanonicalLimits}. */
export const DEFAULT_CANONICAL_LIMITS: CanonicalLimits = Object.freeze({
  maxDepth: 64,
  maxNodes: 100_000,
  maxLength: 1_000_000,
});

/** Why a value could not be encoded. */
export type CanonicalRefusal = 'cycle' | 'depth' | 'nodes' | 'length';

/** The result of encoding: the canonical string, or why the value was refused. */
export type CanonicalEncoding =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly refusal: CanonicalRefusal; readonly message: string };

/** Encodes one value. Getters and `toString`-like hooks of the value are never called, except own data reads. */
export type CanonicalEncoder = (value: unknown, limits: CanonicalLimits) => CanonicalEncoding;

/**
 * Creates the encoder of the canonical value format (see `CanonicalValue` in the contracts).
 *
 * This function is self-contained on purpose: it references nothing outside its own body, so its source text
 * (`createCanonicalEncoder.toString()`) can be evaluated inside a sandbox, where the encoding must happen.
 * It captures the built-ins it needs when it is called, so code that runs later in the same realm and
 * tampers with `Array.prototype`, `JSON` or `Object` cannot change how values are encoded.
 */
export function createCanonicalEncoder(): CanonicalEncoder {
  const apply = Reflect.apply;
  const objectKeys = Object.keys;
  const getPrototypeOf = Object.getPrototypeOf;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const isArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const objectIs = Object.is;
  const isInteger = Number.isInteger;
  const isFiniteNumber = Number.isFinite;
  const isNotANumber = Number.isNaN;
  const stringify = JSON.stringify;
  const toBigInt = BigInt;
  const toStringValue = String;
  const arrayPush = Array.prototype.push;
  const arraySort = Array.prototype.sort;
  const arrayJoin = Array.prototype.join;
  const mapEntries = Map.prototype.entries;
  const mapIteratorNext = getPrototypeOf(new Map().entries()).next as (
    this: Iterator<unknown>,
  ) => IteratorResult<unknown>;
  const setValues = Set.prototype.values;
  const setIteratorNext = getPrototypeOf(new Set().values()).next as (
    this: Iterator<unknown>,
  ) => IteratorResult<unknown>;
  const mapSize = (getOwnPropertyDescriptor(Map.prototype, 'size') as PropertyDescriptor).get as () => number;
  const setSize = (getOwnPropertyDescriptor(Set.prototype, 'size') as PropertyDescriptor).get as () => number;
  const dateGetTime = Date.prototype.getTime;
  const dateToIsoString = Date.prototype.toISOString;
  const regExpSource = (getOwnPropertyDescriptor(RegExp.prototype, 'source') as PropertyDescriptor)
    .get as () => string;
  const regExpFlags = (getOwnPropertyDescriptor(RegExp.prototype, 'flags') as PropertyDescriptor)
    .get as () => string;
  const numberValueOf = Number.prototype.valueOf;
  const stringValueOf = String.prototype.valueOf;
  const booleanValueOf = Boolean.prototype.valueOf;
  const bigintValueOf = BigInt.prototype.valueOf;
  const symbolDescription = (getOwnPropertyDescriptor(Symbol.prototype, 'description') as PropertyDescriptor)
    .get as () => string | undefined;
  const typedArrayPrototype = getPrototypeOf(Uint8Array.prototype) as object;
  const typedArrayTag = (
    getOwnPropertyDescriptor(typedArrayPrototype, Symbol.toStringTag) as PropertyDescriptor
  ).get as () => string | undefined;
  const typedArrayLength = (getOwnPropertyDescriptor(typedArrayPrototype, 'length') as PropertyDescriptor)
    .get as () => number;
  const errorPrototype = Error.prototype;
  const objectPrototype = Object.prototype;
  const identifierPattern = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  const regExpTest = RegExp.prototype.test;

  class Refusal {
    constructor(
      readonly refusal: CanonicalRefusal,
      readonly message: string,
    ) {}
  }

  function compareStrings(left: string, right: string): number {
    return left < right ? -1 : left > right ? 1 : 0;
  }

  function sortStrings(values: string[]): string[] {
    return apply(arraySort, values, [compareStrings]) as string[];
  }

  function join(values: string[]): string {
    return apply(arrayJoin, values, [',']) as string;
  }

  function push<T>(values: T[], value: T): void {
    apply(arrayPush, values, [value]);
  }

  function tryUnbox(
    value: object,
    unbox: () => unknown,
  ): { readonly unboxed: boolean; readonly value: unknown } {
    try {
      return { unboxed: true, value: apply(unbox, value, []) };
    } catch {
      return { unboxed: false, value: undefined };
    }
  }

  function isBrand(value: object, getter: () => unknown): boolean {
    try {
      apply(getter, value, []);
      return true;
    } catch {
      return false;
    }
  }

  function hasInPrototypeChain(value: object, prototype: object): boolean {
    let current: unknown = getPrototypeOf(value);
    for (let guard = 0; current !== null && guard < 1000; guard += 1) {
      if (current === prototype) {
        return true;
      }
      current = getPrototypeOf(current);
    }
    return false;
  }

  function className(value: object): string {
    const prototype: unknown = getPrototypeOf(value);
    if (prototype === null || prototype === objectPrototype) {
      return '';
    }
    const descriptor = getOwnPropertyDescriptor(prototype, 'constructor');
    const ownConstructor: unknown = descriptor && 'value' in descriptor ? descriptor.value : undefined;
    if (typeof ownConstructor !== 'function') {
      return 'Object';
    }
    const nameDescriptor = getOwnPropertyDescriptor(ownConstructor, 'name');
    const name: unknown = nameDescriptor && 'value' in nameDescriptor ? nameDescriptor.value : undefined;
    return typeof name === 'string' && apply(regExpTest, identifierPattern, [name]) ? name : 'Object';
  }

  function encodeNumber(value: number): string {
    if (isNotANumber(value)) {
      return 'NaN';
    }
    if (!isFiniteNumber(value)) {
      return value > 0 ? 'Infinity' : '-Infinity';
    }
    if (objectIs(value, -0)) {
      return '-0';
    }
    if (isInteger(value)) {
      return toStringValue(toBigInt(value));
    }
    return toStringValue(value);
  }

  return function encodeCanonical(root: unknown, limits: CanonicalLimits): CanonicalEncoding {
    let nodes = 0;
    let length = 0;
    const ancestors: object[] = [];

    function count(text: string): string {
      length += text.length;
      if (length > limits.maxLength) {
        throw new Refusal('length', `the value is longer than ${limits.maxLength} characters when encoded`);
      }
      return text;
    }

    function encodeItems(items: unknown[], depth: number): string[] {
      const parts: string[] = [];
      for (let index = 0; index < items.length; index += 1) {
        push(parts, encode(items[index], depth));
        length += 1;
      }
      return parts;
    }

    function encode(value: unknown, depth: number): string {
      nodes += 1;
      if (nodes > limits.maxNodes) {
        throw new Refusal('nodes', `the value has more than ${limits.maxNodes} parts`);
      }
      switch (typeof value) {
        case 'undefined':
          return count('undefined');
        case 'boolean':
          return count(value ? 'true' : 'false');
        case 'number':
          return count(encodeNumber(value));
        case 'bigint':
          return count(toStringValue(value));
        case 'string':
          if (value.length > limits.maxLength) {
            throw new Refusal(
              'length',
              `the value is longer than ${limits.maxLength} characters when encoded`,
            );
          }
          return count(stringify(value));
        case 'symbol':
          return count(`Symbol(${stringify(apply(symbolDescription, value, []) ?? '')})`);
        case 'function': {
          const nameDescriptor = getOwnPropertyDescriptor(value, 'name');
          const name: unknown = nameDescriptor && 'value' in nameDescriptor ? nameDescriptor.value : '';
          return count(`Function(${stringify(typeof name === 'string' ? name : '')})`);
        }
        default:
          break;
      }
      if (value === null) {
        return count('null');
      }
      const object = value as object;
      for (let index = 0; index < ancestors.length; index += 1) {
        if (ancestors[index] === object) {
          throw new Refusal('cycle', 'the value contains a reference to itself');
        }
      }
      if (depth >= limits.maxDepth) {
        throw new Refusal('depth', `the value is nested deeper than ${limits.maxDepth} levels`);
      }
      push(ancestors, object);
      try {
        return encodeObject(object, depth + 1);
      } finally {
        ancestors.length -= 1;
      }
    }

    function encodeObject(object: object, depth: number): string {
      if (isArray(object)) {
        const items: unknown[] = [];
        const arrayLength = (object as unknown[]).length;
        if (arrayLength > limits.maxNodes) {
          throw new Refusal('nodes', `the value has more than ${limits.maxNodes} parts`);
        }
        for (let index = 0; index < arrayLength; index += 1) {
          push(items, (object as unknown[])[index]);
        }
        count('[]');
        return `[${join(encodeItems(items, depth))}]`;
      }
      if (isBrand(object, mapSize)) {
        const entries: string[] = [];
        const iterator = apply(mapEntries, object, []) as Iterator<[unknown, unknown]>;
        for (
          let step = apply(mapIteratorNext, iterator, []);
          !step.done;
          step = apply(mapIteratorNext, iterator, [])
        ) {
          const entry = step.value as [unknown, unknown];
          push(entries, `${encode(entry[0], depth)}=>${encode(entry[1], depth)}`);
          length += 3;
        }
        count('Map{}');
        return `Map{${join(sortStrings(entries))}}`;
      }
      if (isBrand(object, setSize)) {
        const members: string[] = [];
        const iterator = apply(setValues, object, []) as Iterator<unknown>;
        for (
          let step = apply(setIteratorNext, iterator, []);
          !step.done;
          step = apply(setIteratorNext, iterator, [])
        ) {
          push(members, encode(step.value, depth));
          length += 1;
        }
        const sorted = sortStrings(members);
        const unique: string[] = [];
        for (let index = 0; index < sorted.length; index += 1) {
          if (index === 0 || sorted[index] !== sorted[index - 1]) {
            push(unique, sorted[index] as string);
          }
        }
        count('Set[]');
        return `Set[${join(unique)}]`;
      }
      if (isView(object)) {
        const tag = apply(typedArrayTag, object, []) as string | undefined;
        if (tag !== undefined) {
          const elementCount = apply(typedArrayLength, object, []) as number;
          if (elementCount > limits.maxNodes) {
            throw new Refusal('nodes', `the value has more than ${limits.maxNodes} parts`);
          }
          const items: unknown[] = [];
          for (let index = 0; index < elementCount; index += 1) {
            push(items, (object as unknown as ArrayLike<unknown>)[index]);
          }
          count(`${tag}[]`);
          return `${tag}[${join(encodeItems(items, depth))}]`;
        }
        return count('DataView[]');
      }
      if (isBrand(object, dateGetTime)) {
        const time = apply(dateGetTime, object, []) as number;
        return count(isNotANumber(time) ? 'Date(Invalid)' : `Date(${apply(dateToIsoString, object, [])})`);
      }
      if (isBrand(object, regExpSource)) {
        const source = apply(regExpSource, object, []) as string;
        const flags = apply(regExpFlags, object, []) as string;
        return count(`RegExp(${stringify(`/${source}/${flags}`)})`);
      }
      const boxedNumber = tryUnbox(object, numberValueOf);
      if (boxedNumber.unboxed) {
        return count(encodeNumber(boxedNumber.value as number));
      }
      const boxedString = tryUnbox(object, stringValueOf);
      if (boxedString.unboxed) {
        return count(stringify(boxedString.value));
      }
      const boxedBoolean = tryUnbox(object, booleanValueOf);
      if (boxedBoolean.unboxed) {
        return count(boxedBoolean.value ? 'true' : 'false');
      }
      const boxedBigInt = tryUnbox(object, bigintValueOf);
      if (boxedBigInt.unboxed) {
        return count(toStringValue(boxedBigInt.value));
      }
      if (hasInPrototypeChain(object, errorPrototype)) {
        const nameDescriptor = getOwnPropertyDescriptor(object, 'name');
        const messageDescriptor = getOwnPropertyDescriptor(object, 'message');
        const name = className(object) || 'Error';
        const ownName: unknown = nameDescriptor && 'value' in nameDescriptor ? nameDescriptor.value : name;
        const message: unknown =
          messageDescriptor && 'value' in messageDescriptor ? messageDescriptor.value : '';
        return count(
          `Error(${stringify(typeof ownName === 'string' ? ownName : name)},${stringify(
            typeof message === 'string' ? message : '',
          )})`,
        );
      }
      const keys = sortStrings(objectKeys(object));
      if (keys.length > limits.maxNodes) {
        throw new Refusal('nodes', `the value has more than ${limits.maxNodes} parts`);
      }
      const properties: string[] = [];
      for (let index = 0; index < keys.length; index += 1) {
        const key = keys[index] as string;
        const encodedKey = count(stringify(key));
        push(properties, `${encodedKey}:${encode((object as Record<string, unknown>)[key], depth)}`);
        length += 2;
      }
      const prefix = className(object);
      count(`${prefix}{}`);
      return `${prefix}{${join(properties)}}`;
    }

    try {
      return { ok: true, value: encode(root, 0) };
    } catch (error) {
      if (error instanceof Refusal) {
        return { ok: false, refusal: error.refusal, message: error.message };
      }
      throw error;
    }
  };
}

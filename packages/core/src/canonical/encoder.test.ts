import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createCanonicalEncoder, DEFAULT_CANONICAL_LIMITS } from './encoder.js';
import { encodeCanonical } from './index.js';

function encoded(value: unknown): string {
  const result = encodeCanonical(value);
  if (!result.ok) {
    throw new Error(`refused: ${result.message}`);
  }
  return result.value;
}

class Point {
  constructor(
    readonly y: number,
    readonly x: number,
  ) {}
}

describe('canonical encoding', () => {
  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [true, 'true'],
    [42, '42'],
    [1.0, '1'],
    [-7, '-7'],
    [0.5, '0.5'],
    [1e-7, '1e-7'],
    [1e21, '1000000000000000000000'],
    [2 ** 53 + 2, '9007199254740994'],
    [12345678901234567890n, '12345678901234567890'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    [-0, '-0'],
    ['Hello world', '"Hello world"'],
    ['quote " and \\ and \n', '"quote \\" and \\\\ and \\n"'],
    [[1, [2, 'x']], '[1,[2,"x"]]'],
    // biome-ignore lint/suspicious/noSparseArray: holes in arrays are a case the encoding defines.
    [[1, , 3], '[1,undefined,3]'],
    [{ b: 1, a: { d: [], c: null } }, '{"a":{"c":null,"d":[]},"b":1}'],
    [
      new Map<unknown, unknown>([
        ['b', 1],
        [2, 'a'],
      ]),
      'Map{"b"=>1,2=>"a"}',
    ],
    [new Set([3, 1, 2, 1]), 'Set[1,2,3]'],
    [new Uint8Array([1, 2]), 'Uint8Array[1,2]'],
    [new Date(0), 'Date(1970-01-01T00:00:00.000Z)'],
    [/a+b/gi, 'RegExp("/a+b/gi")'],
    [new RangeError('too big'), 'Error("RangeError","too big")'],
    [new Point(2, 1), 'Point{"x":1,"y":2}'],
    [Object.create(null), '{}'],
    [Symbol('tag'), 'Symbol("tag")'],
    [function named() {}, 'Function("named")'],
    [Object(5), '5'],
  ])('encodes %o as %s', (value, expected) => {
    expect(encoded(value)).toBe(expected);
  });

  it('gives equal strings for collections that differ only in order', () => {
    expect(encoded({ a: 1, b: 2 })).toBe(encoded({ b: 2, a: 1 }));
    expect(encoded(new Set(['x', 'y']))).toBe(encoded(new Set(['y', 'x'])));
    expect(
      encoded(
        new Map([
          [1, 'a'],
          [2, 'b'],
        ]),
      ),
    ).toBe(
      encoded(
        new Map([
          [2, 'b'],
          [1, 'a'],
        ]),
      ),
    );
    expect(encoded([1, 2])).not.toBe(encoded([2, 1]));
  });

  it('refuses cycles, deep nesting, too many parts and too much text', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(encodeCanonical(cyclic)).toMatchObject({ ok: false, refusal: 'cycle' });
    let deep: unknown = 1;
    for (let level = 0; level < 100; level += 1) {
      deep = [deep];
    }
    expect(encodeCanonical(deep)).toMatchObject({ ok: false, refusal: 'depth' });
    expect(encodeCanonical(new Array(200_000).fill(0))).toMatchObject({ ok: false, refusal: 'nodes' });
    expect(encodeCanonical('a'.repeat(2_000_000))).toMatchObject({ ok: false, refusal: 'length' });
    expect(encodeCanonical(Array.from({ length: 50_000 }, () => 'abcdefghijklmnopqrstuvwxyz'))).toMatchObject(
      {
        ok: false,
        refusal: 'length',
      },
    );
  });

  it('accepts a shared (non-cyclic) reference twice', () => {
    const shared = { a: 1 };
    expect(encoded([shared, shared])).toBe('[{"a":1},{"a":1}]');
  });

  it("is self-contained: its source text works in another realm, on that realm's values", () => {
    const source = `(${createCanonicalEncoder.toString()})()`;
    const result = runInNewContext(
      `
      const encode = ${source};
      encode([{ b: new Set([2, 1]), a: new Map([['k', -0]]) }], limits);
    `,
      { limits: DEFAULT_CANONICAL_LIMITS },
    ) as { ok: boolean; value: string };
    expect(result).toEqual({ ok: true, value: '[{"a":Map{"k"=>-0},"b":Set[1,2]}]' });
  });

  it('keeps encoding correctly after later code tampers with the built-ins of its realm', () => {
    const result = runInNewContext(
      `
      const encode = (${createCanonicalEncoder.toString()})();
      Array.prototype.sort = function () { return this; };
      Array.prototype.join = function () { return 'forged'; };
      Array.prototype.push = function () { return 0; };
      JSON.stringify = () => '"forged"';
      Object.keys = () => [];
      encode({ b: 'x', a: new Set([2, 1]) }, limits);
    `,
      { limits: DEFAULT_CANONICAL_LIMITS },
    ) as { ok: boolean; value: string };
    expect(result).toEqual({ ok: true, value: '{"a":Set[1,2],"b":"x"}' });
  });
});

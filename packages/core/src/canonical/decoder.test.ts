import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidTaskError } from '../errors/errors.js';
import { decodeCanonical, TaggedValue } from './decoder.js';
import { encodeCanonical } from './index.js';

function encoded(value: unknown): string {
  const result = encodeCanonical(value);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

/** Values of JavaScript origin that the decoder gives back as themselves. */
const jsValue = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.bigInt(),
    fc.string({ unit: 'binary' }),
    fc.date(),
    fc.uint8Array({ maxLength: 5 }),
  ),
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
    fc.array(fc.tuple(fc.string(), tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.array(tie('leaf'), { maxLength: 4 }).map((members) => new Set(members)),
  ),
})).value;

describe('decodeCanonical', () => {
  it('reads back every value of JavaScript origin so that it encodes to the same string', () => {
    fc.assert(
      fc.property(jsValue, (value) => {
        const text = encoded(value);
        expect(encoded(decodeCanonical(text))).toBe(text);
      }),
      { numRuns: 500, seed: 42 },
    );
  });

  it('gives back the values themselves', () => {
    expect(decodeCanonical('{"a":[1,2.5,NaN,-0,Infinity],"b":Map{"k"=>undefined},"c":Set[1,2]}')).toEqual({
      a: [1, 2.5, Number.NaN, -0, Number.POSITIVE_INFINITY],
      b: new Map([['k', undefined]]),
      c: new Set([1, 2]),
    });
    expect(decodeCanonical('12345678901234567890')).toBe(12345678901234567890n);
    expect(decodeCanonical('-7')).toBe(-7);
    expect(Object.is(decodeCanonical('-0'), -0)).toBe(true);
    expect(decodeCanonical('Date(1970-01-01T00:00:00.000Z)')).toEqual(new Date(0));
    expect(decodeCanonical('Uint8Array[1,2]')).toEqual(new Uint8Array([1, 2]));
  });

  it('keeps Python and class tags as TaggedValue', () => {
    expect(decodeCanonical('Tuple[1,"a"]')).toEqual(new TaggedValue('Tuple', [1, 'a']));
    expect(decodeCanonical('Point{"x":1}')).toEqual(new TaggedValue('Point', [], { x: 1 }));
    expect(decodeCanonical('Error("ValueError","bad")')).toEqual(
      new TaggedValue('Error', [], {}, ['ValueError', 'bad']),
    );
    expect(decodeCanonical('Complex(1,-2.5)')).toEqual(new TaggedValue('Complex', [], {}, ['1', '-2.5']));
  });

  it('refuses text that is not canonical with an InvalidTaskError', () => {
    for (const text of ['', '[1,', '{a:1}', '"open', '1 2', 'Nope', '{"a"1}']) {
      expect(() => decodeCanonical(text), text).toThrow(InvalidTaskError);
    }
  });
});

declare const canonicalBrand: unique symbol;

/**
 * A value produced by a program, written in the SDK's canonical encoding.
 *
 * Values never cross the sandbox boundary as objects: the executor serialises them inside the sandbox and
 * hands out this string. Two values are equal exactly when their canonical strings are equal, which is how
 * gold outputs are compared with predictions, how buffers deduplicate tasks, and how determinism is checked.
 *
 * The encoding (version 1) is a JSON superset with tags for what JSON cannot say:
 *
 * | value | encoding |
 * | --- | --- |
 * | `null` / Python `None` | `null` |
 * | `undefined` | `undefined` |
 * | booleans | `true`, `false` |
 * | integers (numbers with no fraction, `BigInt`, Python `int`) | decimal digits, exact: `42`, `-7`, `12345678901234567890` |
 * | other finite numbers | the shortest round-trip decimal, as JavaScript's `String(x)`: `0.5`, `1e-7`, `1.5e+300` |
 * | special numbers | `NaN`, `Infinity`, `-Infinity`, `-0` |
 * | strings | a JSON string literal (`JSON.stringify`) |
 * | arrays / Python `list` | `[a,b]` |
 * | Python `tuple` | `Tuple[a,b]` |
 * | plain objects | `{"k":v}` with keys sorted by UTF-16 code units |
 * | class instances | `ClassName{"k":v}` (own enumerable properties, sorted) |
 * | `Map` / Python `dict` | `Map{k=>v,...}` with entries sorted by the canonical key |
 * | `Set` / Python `set`, `frozenset` | `Set[a,b]` with members sorted and deduplicated by canonical string |
 * | typed arrays | `Uint8Array[1,2]` (the constructor name, then the elements) |
 * | `Date` | `Date(<ISO string>)`, `Date(Invalid)` |
 * | `RegExp` | `RegExp(/source/flags)` |
 * | errors | `Error(Name,"message")` |
 * | functions | `Function(name)` |
 * | symbols | `Symbol("description")` |
 *
 * Integers and floats share one numeric encoding because both languages compare them by value (`1 == 1.0` in
 * Python; JavaScript has one number type). Collections are ordered deterministically so that Python's
 * order-independent `dict` and `set` equality holds. Encoders cap depth, node count and length, and refuse
 * cycles, so an encoded value is always finite and bounded.
 *
 * The type is branded: only an encoder (the executor, or `encodeCanonical` in `@azr/core`) makes one.
 */
export type CanonicalValue = string & { readonly [canonicalBrand]: 'CanonicalValue' };

/** The version of the canonical encoding described on {@link CanonicalValue}. Stored in buffers and checkpoints. */
export const CANONICAL_ENCODING_VERSION = 1 as const;

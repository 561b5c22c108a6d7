import type { CanonicalValue } from '../spec/canonical-value.js';
import {
  type CanonicalEncoding,
  type CanonicalLimits,
  createCanonicalEncoder,
  DEFAULT_CANONICAL_LIMITS,
} from './encoder.js';

export { decodeCanonical, TaggedValue } from './decoder.js';
export {
  type CanonicalEncoder,
  type CanonicalEncoding,
  type CanonicalLimits,
  type CanonicalRefusal,
  createCanonicalEncoder,
  DEFAULT_CANONICAL_LIMITS,
} from './encoder.js';

const encodeInThisRealm = createCanonicalEncoder();

/**
 * Encodes a value of this realm in the canonical format (see `CanonicalValue`). Executors encode inside their
 * sandbox with the same code (`createCanonicalEncoder`); this host-side entry point serves tests, importers
 * of task files, and custom executors.
 */
export function encodeCanonical(
  value: unknown,
  limits: CanonicalLimits = DEFAULT_CANONICAL_LIMITS,
): { readonly ok: true; readonly value: CanonicalValue } | Extract<CanonicalEncoding, { ok: false }> {
  return encodeInThisRealm(value, limits) as
    | { readonly ok: true; readonly value: CanonicalValue }
    | Extract<CanonicalEncoding, { ok: false }>;
}

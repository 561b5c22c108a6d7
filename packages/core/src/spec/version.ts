/**
 * The version of the contracts in this folder. Every implementation of a contract carries it as
 * `specificationVersion`, so that a trainer built against v1 can refuse, with a clear error, a model or
 * executor written against another version instead of failing somewhere deep inside a training step.
 */
export const SPECIFICATION_VERSION = 'v1' as const;

/** The literal type of {@link SPECIFICATION_VERSION}. */
export type SpecificationVersion = typeof SPECIFICATION_VERSION;

/**
 * `@azr/core`: the contracts of the Absolute Zero SDK and the algorithm around them.
 *
 * Contracts (`PolicyModelV1`, `ExecutorV1`, `TaskModeV1`, ...) are types only; implementations live in
 * `@azr/executor` and `@azr/backends`, or in your code. Test doubles and conformance suites are in
 * `@azr/core/test`.
 */
export * from './canonical/index.js';
export * from './errors/index.js';
export { createSeededRandom, restoreSeededRandom } from './random/seeded-random.js';
export {
  DEFAULT_ANSWER_FORMAT,
  DEFAULT_OPTIMIZER_SETTINGS,
  DEFAULT_POLICY_LOSS_SETTINGS,
  DEFAULT_REWARD_SETTINGS,
  DEFAULT_SAMPLING_SETTINGS,
} from './settings/defaults.js';
export { assertNumberInRange, assertOneOf } from './settings/validate.js';
export * from './spec/index.js';
export { assertSpecificationVersion } from './spec-version.js';
export { createByteTokenizer } from './tokenizer/byte-tokenizer.js';

/**
 * `@azr/core/spec`: the contract boundary of the Absolute Zero SDK, what an implementation of a contract (an
 * executor, a policy model, a custom task mode) depends on and nothing more.
 *
 * - The v1 contracts (`PolicyModelV1`, `ExecutorV1`, `TaskModeV1`, `TokenizerV1`, ...) and their constants.
 * - The errors: `AzrError` and its subclasses, recognised across package copies with `isInstance`.
 * - The canonical value encoding, which every executor must produce (`createCanonicalEncoder`, ...).
 * - The helpers implementations share so that they behave alike: settings validation with errors that list the
 *   allowed values, the contract version check, the seeded random source, the built-in byte tokenizer,
 *   character-automaton generation constraints, and the default settings of a policy model's update.
 *
 * The algorithm (trainer, task modes, buffers, rewards, advantages, evaluation) is not here: it is in `@azr/core`,
 * which also exports everything this entry point does.
 */
export * from './canonical/index.js';
export {
  automatonAccepts,
  type CharacterAutomaton,
  createAutomatonConstraint,
  runAutomaton,
} from './constraints/automaton-constraint.js';
export * from './errors/index.js';
export { createSeededRandom, restoreSeededRandom } from './random/seeded-random.js';
export { DEFAULT_OPTIMIZER_SETTINGS, DEFAULT_POLICY_LOSS_SETTINGS } from './settings/defaults.js';
export { assertNumberInRange, assertOneOf } from './settings/validate.js';
export * from './spec/index.js';
export { assertSpecificationVersion } from './spec-version.js';
export { createByteTokenizer } from './tokenizer/byte-tokenizer.js';

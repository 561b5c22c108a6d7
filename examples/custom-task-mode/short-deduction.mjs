// A mode built on a built-in one: deduction restricted to programs of at most `limit` characters. It keeps
// deduction's prompts, parsing, checking and seeds under a name of its own, and adds a rule to its validation.
import { createDeductionMode } from '@azr/core';

/** @param {{ readonly limit?: number }} [settings] */
export function createShortDeductionMode({ limit = 160 } = {}) {
  const deduction = createDeductionMode({ name: 'short-deduction' });
  return {
    ...deduction,
    buildProposePrompt: (context) =>
      `${deduction.buildProposePrompt(context)}\nThe program must be at most ${limit} characters long.`,
    async validateProposal(proposal, executor, context) {
      if (proposal.program.length > limit)
        return {
          ok: false,
          reason: `the program has ${proposal.program.length} characters, more than ${limit}`,
        };
      return deduction.validateProposal(proposal, executor, context);
    },
  };
}

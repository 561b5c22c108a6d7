import type { TaskBase } from '../../spec/task.js';
import type { ProposalRollout, TrainerRuntime } from '../runtime.js';

/**
 * Phase 2: parse each proposal and validate it through the executor. Valid tasks enter their mode's buffer
 * (deduplicated); invalid and malformed proposals stay in the batch to be penalised; excluded ones (see
 * `ProposalValidation.exclude`) are dropped from the step's training later.
 */
export async function validate(
  runtime: TrainerRuntime,
  step: number,
  proposals: ProposalRollout[],
): Promise<void> {
  const modes = new Map(runtime.modes.map((mode) => [mode.name, mode]));
  await Promise.all(
    proposals.map(async (proposal) => {
      const mode = modes.get(proposal.mode);
      if (mode === undefined) return;
      const parsed = mode.parseProposal(proposal.completion.text, proposal.context);
      proposal.wellFormed = parsed.wellFormed;
      if (!parsed.ok) {
        proposal.status = parsed.wellFormed ? 'invalid' : 'malformed';
        proposal.reason = parsed.reason;
        return;
      }
      if (!parsed.wellFormed) {
        proposal.status = 'malformed';
        proposal.reason = 'the completion does not follow the answer format';
        return;
      }
      const validation = await mode.validateProposal(parsed.value, runtime.executor, {
        language: runtime.settings.language,
        step,
      });
      if (validation.ok) {
        proposal.status = 'valid';
        proposal.task = validation.task;
      } else {
        proposal.status = validation.exclude === true ? 'excluded' : 'invalid';
        proposal.reason = validation.reason;
      }
    }),
  );
  // Added in proposal order, so that the buffers do not depend on which validation finished first.
  const known = new Map<string, Set<string>>();
  for (const proposal of proposals) {
    const task = proposal.task;
    if (task === undefined) continue;
    const buffer = runtime.buffers.get(proposal.mode);
    if (runtime.settings.rejectDuplicates && buffer !== undefined) {
      const mode = modes.get(proposal.mode);
      const key = (each: TaskBase) => mode?.noveltyKey?.(each) ?? each.id;
      let keys = known.get(proposal.mode);
      if (keys === undefined) {
        keys = new Set(buffer.tasks().map(key));
        known.set(proposal.mode, keys);
      }
      if (keys.has(key(task))) {
        proposal.status = 'invalid';
        proposal.reason = 'a duplicate: the buffer already holds this task';
        proposal.task = undefined;
        continue;
      }
      keys.add(key(task));
    }
    buffer?.add(task as TaskBase);
  }
}

import type { TaskBuffer } from '../../buffers/task-buffer.js';
import type { ExecutorV1 } from '../../spec/executor.js';
import type { TaskBase, TaskModeName } from '../../spec/task.js';
import type { TaskLanguage } from '../../spec/task-language.js';
import type { TaskModeV1 } from '../../spec/task-mode.js';
import type { Proposal, ValidatedProposal } from '../rollouts.js';

/** What validation needs. */
export interface ValidateInput {
  readonly modes: readonly TaskModeV1[];
  readonly executor: ExecutorV1;
  readonly language: TaskLanguage;
}

/**
 * Phase 2: parse each proposal and validate it through the executor. Malformed and invalid proposals stay to
 * be penalised; excluded ones (see `ProposalValidation.exclude`) are left out of the step's training later.
 */
export async function validate(
  input: ValidateInput,
  step: number,
  proposals: readonly Proposal[],
): Promise<ValidatedProposal[]> {
  const modes = new Map(input.modes.map((mode) => [mode.name, mode]));
  return Promise.all(
    proposals.map(async (proposal): Promise<ValidatedProposal> => {
      const mode = modes.get(proposal.mode) as TaskModeV1;
      const parsed = mode.parseProposal(proposal.completion.text, proposal.context);
      const verdict = (status: ValidatedProposal['status'], reason?: string, task?: TaskBase) => ({
        ...proposal,
        wellFormed: parsed.wellFormed,
        status,
        reason,
        task,
      });
      if (!parsed.ok) return verdict(parsed.wellFormed ? 'invalid' : 'malformed', parsed.reason);
      if (!parsed.wellFormed) return verdict('malformed', 'the completion does not follow the answer format');
      const validation = await mode.validateProposal(parsed.value, input.executor, {
        language: input.language,
        step,
      });
      if (validation.ok) return verdict('valid', undefined, validation.task);
      return verdict(validation.exclude === true ? 'excluded' : 'invalid', validation.reason);
    }),
  );
}

/** What admitting tasks to the buffers needs. */
export interface AdmitInput {
  readonly modes: readonly TaskModeV1[];
  readonly buffers: ReadonlyMap<TaskModeName, TaskBuffer<TaskBase>>;
  /** The trainer's `rejectDuplicates`. */
  readonly rejectDuplicates: boolean;
}

/**
 * The valid proposals' tasks enter their modes' buffers (deduplicated), in proposal order so that the buffers
 * do not depend on which validation finished first. With `rejectDuplicates`, a task the buffer already holds
 * (by the mode's `noveltyKey`, else its id), or one an earlier proposal of the step made, is returned as
 * invalid instead.
 */
export function admit(input: AdmitInput, proposals: readonly ValidatedProposal[]): ValidatedProposal[] {
  const modes = new Map(input.modes.map((mode) => [mode.name, mode]));
  const known = new Map<TaskModeName, Set<string>>();
  return proposals.map((proposal) => {
    const { task } = proposal;
    const buffer = input.buffers.get(proposal.mode);
    if (task === undefined || buffer === undefined) return proposal;
    if (input.rejectDuplicates) {
      const mode = modes.get(proposal.mode);
      const key = (each: TaskBase) => mode?.noveltyKey?.(each) ?? each.id;
      let keys = known.get(proposal.mode);
      if (keys === undefined) {
        keys = new Set(buffer.tasks().map(key));
        known.set(proposal.mode, keys);
      }
      if (keys.has(key(task))) {
        return {
          ...proposal,
          status: 'invalid',
          reason: 'a duplicate: the buffer already holds this task',
          task: undefined,
        };
      }
      keys.add(key(task));
    }
    buffer.add(task);
    return proposal;
  });
}

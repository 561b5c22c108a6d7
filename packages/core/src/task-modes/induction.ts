import { extractFencedBlocks } from '../format/extract.js';
import { checkTemplate, renderTemplate } from '../format/template.js';
import { assertNumberInRange } from '../settings/validate.js';
import type { CanonicalValue } from '../spec/canonical-value.js';
import type { ExecutorV1 } from '../spec/executor.js';
import type { TaskBase, TaskModeName } from '../spec/task.js';
import type {
  AnswerVerdict,
  ParseResult,
  ProposalValidation,
  ProposeContext,
  ReferenceSource,
  SolveContext,
  SuiteRecordReader,
  TaskModeV1,
  TaskRecordReader,
} from '../spec/task-mode.js';
import { type PromptFrame, type PromptFrameSetting, resolvePromptFrame } from './frame.js';
import { LANGUAGE_SYNTAX, pythonImports } from './language.js';
import { canonicalToLiteral } from './literal.js';
import { zeroInductionTask } from './seeds.js';
import { answerOf, describeFailure, modeNameOf, programBlock, renderPropose } from './shared.js';
import { taskId } from './task-id.js';
import type { InductionTask } from './tasks.js';
import {
  INDUCTION_PROPOSE_PLACEHOLDERS,
  INDUCTION_SOLVE_PLACEHOLDERS,
  INDUCTION_TEMPLATES,
  type TaskModeTemplates,
  TEMPLATE_EXAMPLES,
} from './templates.js';

/** An induction proposal: inputs and a message for a given program. */
export interface InductionProposal {
  readonly program: string;
  readonly inputs: readonly string[];
  readonly message: string;
}

/** Settings of {@link createInductionMode}. */
export interface InductionModeSettings<TName extends TaskModeName = TaskModeName> {
  /** The mode's name, which its tasks carry (a mode of your own built on this one). Default `induction`. */
  readonly name?: TName;
  /** Inputs the proposer writes. Default `10`, as in the paper. */
  readonly inputCount?: number;
  /** Pairs the solver sees; the rest are held out for checking. Default half of `inputCount` (5). */
  readonly shownCount?: number;
  /**
   * Replacement prompt templates (the task text, which the frame wraps); `INDUCTION_PROPOSE_PLACEHOLDERS` and
   * `INDUCTION_SOLVE_PLACEHOLDERS` list the placeholders each may use.
   */
  readonly templates?: Partial<TaskModeTemplates>;
  /**
   * The conversation frame around every prompt, which the answer check reads completions under: `r1` (default,
   * as in the paper), `none`, or a frame object such as `createChatTemplateFrame(...)`. See
   * `ProgramInputModeSettings.frame`.
   */
  readonly frame?: PromptFrameSetting;
}

/** The shown pairs of an induction solve prompt: numbered `input_i` and `output_i` blocks, from 0. */
export function formatInductionPairs(
  pairs: readonly { readonly input: string; readonly output: CanonicalValue }[],
  language: TaskBase['language'],
): string {
  return pairs
    .map(
      (pair, index) =>
        `\`\`\`input_${index}\n${pair.input}\n\`\`\`\n\`\`\`output_${index}\n${canonicalToLiteral(pair.output, language)}\n\`\`\``,
    )
    .join('\n\n');
}

/**
 * An induction proposer writes inputs for one program: one drawn from the other modes' tasks (in the paper,
 * the deduction and abduction buffers, which hold every program proposed), else from its own.
 */
export function drawInductionReference({ mode, pools, random }: ReferenceSource): readonly TaskBase[] {
  const others = [...pools.values()].filter((pool) => pool.mode !== mode).flatMap((pool) => pool.tasks());
  const pool = others.length > 0 ? others : (pools.get(mode)?.tasks() ?? []);
  return pool.length === 0 ? [] : [pool[random.nextInt(0, pool.length - 1)] as TaskBase];
}

/** Checks an induction task's `shownCount` against its number of pairs. */
function checkShownCount(reader: TaskRecordReader, shownCount: unknown, pairs: number, what: string): number {
  if (
    typeof shownCount !== 'number' ||
    !Number.isInteger(shownCount) ||
    shownCount < 1 ||
    shownCount >= pairs
  )
    reader.fail(what);
  return shownCount as number;
}

/** Reads the inputs and the message of an induction proposal for its reference program. */
function parseInductionProposal(
  completion: string,
  context: ProposeContext,
  inputCount: number,
  frame: PromptFrame,
): ParseResult<InductionProposal> {
  const answer = answerOf(completion, context.format, frame);
  if (!answer.ok) return answer;
  const program = context.references[0]?.program;
  if (program === undefined) {
    return { ok: false, reason: 'the context holds no reference program', wellFormed: answer.wellFormed };
  }
  const blocks = extractFencedBlocks(answer.answer);
  const inputs = blocks.filter((block) => block.language === 'input').map((block) => block.body.trim());
  if (inputs.length < inputCount) {
    return {
      ok: false,
      reason: `${inputs.length} input blocks, ${inputCount} needed`,
      wellFormed: answer.wellFormed,
    };
  }
  const message = blocks.find((block) => block.language === 'message')?.body.trim() ?? '';
  if (message.length === 0) {
    return { ok: false, reason: 'no ```message block', wellFormed: answer.wellFormed };
  }
  // As in the reference implementation, the last inputCount inputs are used.
  return {
    ok: true,
    value: { program, inputs: inputs.slice(-inputCount), message },
    wellFormed: answer.wellFormed,
  };
}

/** Runs the solver's program on every held-out input of the task. */
async function checkInductionAnswer(
  task: InductionTask<string>,
  answer: string,
  executor: ExecutorV1,
): Promise<AnswerVerdict> {
  // As in the reference implementation, the gold program's imports go in front of the solver's code.
  const imports = task.language === 'python' ? pythonImports(task.program) : '';
  const code = imports.length > 0 ? `${imports}\n${answer}` : answer;
  const heldOut = task.pairs.slice(task.shownCount);
  const results = await Promise.all(
    heldOut.map((pair) => executor.run({ code, entry: task.entry, args: pair.input })),
  );
  for (const [index, result] of results.entries()) {
    const pair = heldOut[index] as InductionTask['pairs'][number];
    if (!result.ok)
      return { correct: false, reason: `held-out input ${index + 1}: ${describeFailure(result.error)}` };
    if (result.value !== pair.output) {
      return {
        correct: false,
        reason: `held-out input ${index + 1}: returned ${result.value}, expected ${pair.output}`,
      };
    }
  }
  return { correct: true };
}

/** Reads and checks a stored induction task's pairs, shown count and message. */
function readInductionFields(reader: TaskRecordReader): Readonly<Record<string, unknown>> {
  const { record } = reader;
  const pairs = record.pairs;
  if (!Array.isArray(pairs) || pairs.length < 2)
    reader.fail('"pairs" must be an array of at least two pairs');
  const read = (pairs as unknown[]).map((pair) => {
    const item = pair as Record<string, unknown> | null;
    if (typeof item?.input !== 'string' || typeof item?.output !== 'string')
      reader.fail('each pair needs string "input" and "output"');
    return { input: item?.input as string, output: item?.output as CanonicalValue };
  });
  const shownCount = checkShownCount(
    reader,
    record.shownCount,
    read.length,
    '"shownCount" must be an integer from 1 to the number of pairs minus one',
  );
  return { pairs: read, shownCount, message: reader.string('message') };
}

/** Reads a suite line that names an induction mode: `inputs`, `outputs`, `message`, `shownCount`. */
async function readInductionSuiteRecord(
  reader: SuiteRecordReader,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  // A CRUXEval line (no mode named) holds one input: it is not an induction task.
  if (!reader.named) return undefined;
  const { record } = reader;
  const outputs = record.outputs;
  if (
    !Array.isArray(record.inputs) ||
    !Array.isArray(outputs) ||
    record.inputs.length !== outputs.length ||
    record.inputs.length < 2
  )
    reader.fail('"inputs" and "outputs" must be arrays of the same length, at least 2');
  const pairs = [];
  for (const [index, input] of (record.inputs as unknown[]).entries()) {
    const output = (outputs as unknown[])[index];
    if (typeof input !== 'string' || typeof output !== 'string')
      reader.fail('inputs and outputs must be strings');
    pairs.push({ input: input as string, output: await reader.canonical(output as string) });
  }
  const shownCount = checkShownCount(
    reader,
    record.shownCount ?? Math.floor(pairs.length / 2),
    pairs.length,
    '"shownCount" is out of range',
  );
  return { pairs, shownCount, message: reader.string('message') };
}

/**
 * Induction: given a program, the proposer writes inputs and a message; the executor computes the outputs.
 * The solver sees the first `shownCount` pairs and the message and writes a program, which is correct when it
 * reproduces every held-out pair. The buffer starts from the identity on six inputs; a suite line that names
 * the mode gives `inputs`, `outputs`, `message` and optionally `shownCount` (half the pairs by default).
 */
export function createInductionMode<TName extends TaskModeName = 'induction'>(
  settings: InductionModeSettings<TName> = {},
): TaskModeV1<InductionTask<TName>, InductionProposal, string> {
  type TTask = InductionTask<TName>;
  const name = modeNameOf(settings.name, 'induction') as TName;
  const inputCount = assertNumberInRange('inputCount', settings.inputCount ?? 10, {
    minimum: 2,
    maximum: 100,
    integer: true,
  });
  const shownCount = assertNumberInRange('shownCount', settings.shownCount ?? Math.floor(inputCount / 2), {
    minimum: 1,
    maximum: inputCount - 1,
    integer: true,
  });
  const templates = {
    propose: checkTemplate(
      'templates.propose',
      settings.templates?.propose ?? INDUCTION_TEMPLATES.propose,
      INDUCTION_PROPOSE_PLACEHOLDERS,
    ),
    solve: checkTemplate(
      'templates.solve',
      settings.templates?.solve ?? INDUCTION_TEMPLATES.solve,
      INDUCTION_SOLVE_PLACEHOLDERS,
    ),
  };
  const frame = resolvePromptFrame(settings.frame);
  return {
    specificationVersion: 'v1',
    name,
    languages: ['javascript', 'python'],
    buildProposePrompt: (context: ProposeContext) =>
      frame.wrap(
        renderPropose(templates.propose, context, {
          program: context.references[0]?.program ?? '',
          count: String(inputCount),
        }),
        context.format,
      ),
    parseProposal: (completion, context) => parseInductionProposal(completion, context, inputCount, frame),
    async validateProposal(proposal, executor, context): Promise<ProposalValidation<TTask>> {
      if (executor.language !== context.language) {
        return {
          ok: false,
          reason: `the executor runs ${executor.language}, the task is ${context.language}`,
        };
      }
      if (proposal.message.includes(proposal.program.trim())) {
        return { ok: false, reason: 'the message contains the program' };
      }
      const result = await executor.validateProgram({
        code: proposal.program,
        entry: 'f',
        argsList: proposal.inputs,
      });
      if (!result.ok) {
        const which = result.argsIndex === undefined ? '' : ` (input ${result.argsIndex + 1})`;
        return { ok: false, reason: `${describeFailure(result.error)}${which}` };
      }
      const pairs = proposal.inputs.map((input, index) => ({
        input,
        output: result.outputs[index] as CanonicalValue,
      }));
      const content = {
        mode: name,
        language: context.language,
        program: proposal.program,
        entry: 'f',
        pairs,
        shownCount,
        message: proposal.message,
      };
      return { ok: true, task: { ...content, id: taskId(content), step: context.step } };
    },
    buildSolvePrompt(task: TTask, context: SolveContext): string {
      const text = renderTemplate(templates.solve, {
        language: LANGUAGE_SYNTAX[task.language].displayName,
        fence: LANGUAGE_SYNTAX[task.language].fence,
        pairs: formatInductionPairs(task.pairs.slice(0, task.shownCount), task.language),
        message: task.message,
        reasoningTag: context.format.reasoningTag,
        answerTag: context.format.answerTag,
        identityProgram: TEMPLATE_EXAMPLES[task.language].identityProgram,
      });
      return frame.wrap(text, context.format);
    },
    parseAnswer(completion: string, task: TTask, context: SolveContext): ParseResult<string> {
      const answer = answerOf(completion, context.format, frame);
      if (!answer.ok) return answer;
      const block = programBlock(extractFencedBlocks(answer.answer), task.language);
      const program = (block?.body ?? answer.answer).trim();
      return program.length === 0
        ? { ok: false, reason: 'an empty program', wellFormed: answer.wellFormed }
        : { ok: true, value: program, wellFormed: answer.wellFormed };
    },
    checkAnswer: checkInductionAnswer,
    seedTasks: (language) => [zeroInductionTask(language, name)],
    drawReferences: drawInductionReference,
    readTask: readInductionFields,
    readSuiteRecord: readInductionSuiteRecord,
  };
}

import type { AnswerFormat } from './answer-format.js';
import type { CanonicalValue } from './canonical-value.js';
import type { ExecutorV1 } from './executor.js';
import type { GenerationConstraintV1 } from './generation-constraint.js';
import type { RandomSource } from './random-source.js';
import type { TaskBase, TaskModeName, TaskRole } from './task.js';
import type { TaskLanguage } from './task-language.js';
import type { TokenizerV1 } from './tokenizer.js';

/** What a propose prompt is built from. */
export interface ProposeContext {
  readonly language: TaskLanguage;
  /**
   * Reference tasks, as the mode drew them ({@link TaskModeV1.drawReferences}): by default K tasks of the
   * mode's own buffer; the induction mode draws one task whose program the proposer writes inputs for.
   */
  readonly references: readonly TaskBase[];
  /** Words the program must not use (banned modules and functions), shown to the proposer. */
  readonly bannedWords: readonly string[];
  readonly format: AnswerFormat;
}

/**
 * What a mode's {@link TaskModeV1.sampleProposal} draws a proposal for: the context a propose prompt would be
 * built from (its references drawn as for the model), and the step it is drawn at (for a curriculum).
 */
export interface ProposalSampleContext extends ProposeContext {
  readonly step: number;
}

/** The tasks of one mode that a run holds (a `TaskBuffer`), as a mode drawing references sees them. */
export interface TaskPool {
  readonly mode: TaskModeName;
  readonly size: number;
  /** Every task, oldest first. */
  tasks(): readonly TaskBase[];
  /** `count` distinct tasks drawn uniformly (all of them, shuffled, when the pool holds fewer). */
  sample(count: number, random: RandomSource): readonly TaskBase[];
}

/** What a mode draws the references of one proposal from. */
export interface ReferenceSource {
  /** The name of the mode that draws, as the run knows it. */
  readonly mode: TaskModeName;
  /** Every mode's pool, in the run's order of modes. */
  readonly pools: ReadonlyMap<TaskModeName, TaskPool>;
  /** How many references a proposal gets: the trainer's `references` setting (K, 6 in the paper). */
  readonly count: number;
  /** The run's random source: draw from it only, so that runs repeat. */
  readonly random: RandomSource;
}

/**
 * Reads the fields of a stored task (a line of a buffer file, a seed file). Every failure is an
 * `InvalidTaskError` naming the line, which `fail` and `string` raise.
 */
export interface TaskRecordReader {
  /** The parsed JSON object of the line. */
  readonly record: Readonly<Record<string, unknown>>;
  /** The field, which must be a string. */
  string(field: string): string;
  /** Rejects the record with a reason. */
  fail(reason: string): never;
}

/** Reads one line of an evaluation suite (see `loadEvaluationSuite`). */
export interface SuiteRecordReader extends TaskRecordReader {
  /**
   * Whether the line names this mode (`"mode": "<name>"`). A line that names no mode is a CRUXEval-style
   * line (`code`, `input`, `output`), which every mode that can read it turns into a task of its own.
   */
  readonly named: boolean;
  /** The language of the suite's programs. */
  readonly language: TaskLanguage;
  /** Reads a value literal in the suite's language into its canonical value, through the executor. */
  canonical(literal: string): Promise<CanonicalValue>;
}

/** When a constraint is asked for during training: the step whose completions it holds. */
export interface ConstraintContext {
  readonly step: number;
}

/** What a solve prompt and answer check need besides the task. */
export interface SolveContext {
  readonly format: AnswerFormat;
}

/**
 * A parse result. Parsers never throw on model text: arbitrary text yields `ok: false` with a reason.
 * `wellFormed` says whether the completion followed the answer format (it drives the format penalty) and is
 * reported even when parsing failed later.
 */
export type ParseResult<TValue> =
  | { readonly ok: true; readonly value: TValue; readonly wellFormed: boolean }
  | { readonly ok: false; readonly reason: string; readonly wellFormed: boolean };

/** The result of validating a proposal: a task, or why it was rejected. */
export type ProposalValidation<TTask extends TaskBase> =
  | { readonly ok: true; readonly task: TTask }
  | {
      readonly ok: false;
      readonly reason: string;
      /**
       * Set the proposal aside instead of penalising it: it is neither rewarded nor trained on, and enters no
       * buffer. For proposals that are fine as tasks but must stay out of training, such as a held-out
       * evaluation task: a penalty would teach the proposer where the held-out tasks are.
       */
      readonly exclude?: boolean;
    };

/** The verdict on one answer. */
export interface AnswerVerdict {
  readonly correct: boolean;
  /** Why the answer is wrong (the executor's error, or a mismatch), for reports. */
  readonly reason?: string;
}

/**
 * Everything that is specific to one task mode, for one or both task languages: prompts, parsers, validation
 * and checking. The trainer is generic over task modes; a custom mode plugs in by implementing this.
 *
 * `TProposal` is what the proposer writes (parsed, not yet validated); `TAnswer` is what the solver writes.
 */
export interface TaskModeV1<TTask extends TaskBase = TaskBase, TProposal = unknown, TAnswer = unknown> {
  readonly specificationVersion: 'v1';
  /** The mode's name; tasks it produces carry it as `mode`. */
  readonly name: TaskModeName;
  /** Languages this mode has prompts and parsers for. */
  readonly languages: readonly TaskLanguage[];
  /** The prompt that asks for a new task, given reference tasks. */
  buildProposePrompt(context: ProposeContext): string;
  /** Reads a proposal from the proposer's completion. Never throws. */
  parseProposal(completion: string, context: ProposeContext): ParseResult<TProposal>;
  /**
   * Turns a parsed proposal into a task by running it through the executor (validation, determinism, gold
   * outputs). `step` is stamped on the task.
   */
  validateProposal(
    proposal: TProposal,
    executor: ExecutorV1,
    context: { readonly language: TaskLanguage; readonly step: number },
  ): Promise<ProposalValidation<TTask>>;
  /** The prompt that asks the solver to fill the task's hidden part. */
  buildSolvePrompt(task: TTask, context: SolveContext): string;
  /** Reads an answer from the solver's completion. Never throws. */
  parseAnswer(completion: string, task: TTask, context: SolveContext): ParseResult<TAnswer>;
  /** Checks an answer through the executor. */
  checkAnswer(task: TTask, answer: TAnswer, executor: ExecutorV1): Promise<AnswerVerdict>;
  /**
   * Optional: hindsight relabelling. A task that `answer`, a wrong answer to `task`, solves, built through the
   * executor as a proposal would be (held-out tasks are refused as there), or `undefined` when there is none or
   * the mode passes it over. The induction modes run the answer's program on the task's inputs: the pairs it
   * gives make a task it solves. The trainer's `hindsightAdvantage` trains the solver on the answer under that
   * task's solve prompt, so that an answer that reads its input but computes another function still teaches
   * which pairs it fits.
   */
  hindsightTask?(
    task: TTask,
    answer: TAnswer,
    executor: ExecutorV1,
    context: { readonly language: TaskLanguage; readonly step: number },
  ): Promise<TTask | undefined>;
  /**
   * Optional: the constraint that generation of a role's completions is held to (a grammar of proposals, the
   * answer format), for the given tokenizer, or `undefined` for free generation. The trainer and `evaluate`
   * pass it with every request of the role; a policy without `capabilities.constrainedDecoding` is then
   * refused with a `ConfigError` before the run starts. The trainer passes the step it generates for, so that
   * a constraint can follow a curriculum; without a step (`evaluate`), the mode's full language.
   */
  constraint?(
    role: TaskRole,
    tokenizer: TokenizerV1,
    context?: ConstraintContext,
  ): GenerationConstraintV1 | undefined;
  /**
   * Optional: a proposal drawn from a fixed random generator of the mode's task language instead of the model,
   * as the completion text a proposer would have written (what {@link TaskModeV1.parseProposal} reads). The
   * trainer's `proposer: 'random'` setting (the paper's ablation: a solver trained on random tasks, the proposer
   * not trained) asks for it; a run with that setting refuses a mode without it. Draw from `random` only, so that
   * runs repeat. The mini modes draw a program of a uniform size up to the curriculum's limit at `context.step`.
   */
  sampleProposal?(random: RandomSource, context: ProposalSampleContext): string;
  /**
   * Optional: the tasks the mode's buffer starts from (the paper's modes start from the zero triplet, the
   * identity on "Hello world"). Without it the buffer starts empty, or from the trainer's `seeds`.
   */
  seedTasks?(language: TaskLanguage): readonly TTask[];
  /**
   * Optional: the references of one proposal (see {@link ProposeContext.references}), drawn from the run's
   * pools. Default: `count` tasks sampled from the mode's own pool.
   */
  drawReferences?(source: ReferenceSource): readonly TaskBase[];
  /**
   * Optional: reads the fields that tasks of this mode have beyond {@link TaskBase}'s, from a stored task, and
   * checks them (for example a deduction task's `input` and `output`). The caller reads the common fields and
   * checks the id. Default: the record's other fields as they are.
   */
  readTask?(reader: TaskRecordReader): Readonly<Record<string, unknown>>;
  /**
   * Optional: reads an evaluation suite's line into this mode's fields (beyond {@link TaskBase}'s; the caller
   * reads the program from `code`), or `undefined` when the line is not for this mode. A line that names the
   * mode must be readable (`fail` otherwise). Without it the mode takes no suite lines.
   */
  readSuiteRecord?(reader: SuiteRecordReader): Promise<Readonly<Record<string, unknown>> | undefined>;
  /**
   * Optional: a size measure of a task's program (for example its operator count), reported per step as the
   * mean over valid proposals so that a run shows whether proposed tasks get harder.
   */
  difficulty?(task: TTask): number | undefined;
  /**
   * Optional: the kind of a task, for the trainer's `balanced` solve sampling, which draws kinds uniformly
   * within a difficulty level and then a task of the kind (default: every task is a kind of its own), and for
   * `createDiversityReward`, which pays a proposal whose kind is rare among its step's proposals. The
   * mini language names a task by the function its program computes, so that a buffer full of constant
   * functions still hands the solver the programs that read their input.
   */
  family?(task: TTask): string;
  /**
   * Optional: what makes a task new. Two tasks with equal keys are the same task for the trainer's
   * `rejectDuplicates` (default key: the task id, which compares content). A mode whose programs can be
   * compared by what they compute (the mini language) keys on that, so that a proposer cannot earn rewards by
   * rewriting a known task.
   */
  noveltyKey?(task: TTask): string;
}

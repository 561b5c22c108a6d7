import {
  automatonAccepts,
  type CharacterAutomaton,
  createAutomatonConstraint,
} from '../../constraints/automaton-constraint.js';
import { assertNumberInRange, assertOneOf } from '../../settings/validate.js';
import type { CanonicalValue } from '../../spec/canonical-value.js';
import type { GenerationConstraintV1 } from '../../spec/generation-constraint.js';
import type { TaskBase, TaskModeName, TaskRole } from '../../spec/task.js';
import type { TaskLanguage } from '../../spec/task-language.js';
import type { ConstraintContext, ParseResult, ProposalValidation, TaskModeV1 } from '../../spec/task-mode.js';
import type { TokenizerV1 } from '../../spec/tokenizer.js';
import { createAbductionMode } from '../abduction.js';
import { createDeductionMode } from '../deduction.js';
import { createInductionMode, type InductionProposal } from '../induction.js';
import { canonicalToLiteral } from '../literal.js';
import type { ProgramInputProposal } from '../program-input-mode.js';
import { taskId } from '../task-id.js';
import type { AbductionTask, DeductionTask, InductionTask } from '../tasks.js';
import {
  DIGIT_AUTOMATON,
  EXPRESSION_AUTOMATON,
  expressionAutomaton,
  inductionAnswerAutomaton,
  inputListAutomaton,
  MINI_LANGUAGE,
  miniBehavior,
  miniExpression,
  miniOperatorCount,
  miniProgram,
  PROPOSAL_AUTOMATON,
  proposalAutomaton,
  sampleMiniInputList,
  sampleMiniProposal,
} from './grammar.js';

/** Settings of {@link createMiniTaskModes}. */
export interface MiniTaskModesSettings {
  /**
   * Hold every completion to the mini language while it is generated (a grammar constraint on the logits),
   * so that proposals are programs and answers are literals from the first step. Default `true`. Turned off,
   * the model writes freely and a completion outside the grammar is malformed (format penalty).
   */
  readonly constrained?: boolean;
  /**
   * Tasks that training must never produce, such as a held-out evaluation suite. A proposal of a held-out task
   * of its mode is excluded (`ProposalValidation.exclude`: neither rewarded nor trained on, so that the suite
   * does not steer the proposer): a deduction or abduction proposal whose function, on its input, is that of a
   * held-out task of the same mode, and an induction proposal whose function is that of a held-out induction
   * task (or, with `inductionHeldOut: 'task'`, that shows the pairs of one). Programs compare by what they compute, so a rewritten held-out task is still held out. The same
   * function in another mode is another task (as in the paper, one program serves all three modes), and is
   * allowed. Tasks outside the mini language are ignored.
   */
  readonly heldOut?: readonly TaskBase[];
  /**
   * A curriculum on the size of proposed programs: deduction and abduction proposers may write at most
   * `startOperators` operators at step 1, one more every `stepsPerOperator` steps, up to the language's bound
   * (3). Only generation is held to it (with `constrained`); solvers, parsers and `evaluate` see the whole
   * language. Default: none, every proposal may use the whole language. A model that starts from random
   * weights writes long programs (its choices are near uniform, and three of the four characters allowed after
   * an operand continue the expression: over half of its proposals have two or three operators), on which a
   * solver at chance learns little; short ones first let it learn.
   */
  readonly curriculum?: MiniCurriculum;
  /**
   * How a held-out induction task bars training:
   * - `'function'` (the default): every induction proposal whose program computes the task's function, on any
   *   inputs.
   * - `'task'`: an induction proposal that shows the solver every pair the held-out task shows (in any order,
   *   whatever its function), so that training never sees the held-out task's prompt; the same function on
   *   other inputs is another task, as deduction and abduction hold out a function on one input.
   *
   * The language has only 27 functions of one operator, and a suite of a few dozen induction tasks computes
   * most of them, so under `'function'` a run whose curriculum keeps to one operator can never show its
   * induction solver the kind of function its suite asks for most (such as `x+3`).
   */
  readonly inductionHeldOut?: 'function' | 'task';
  /**
   * Generate an induction answer (with `constrained`; without it, nothing changes) as an expression that reads
   * `x` when the task's shown outputs differ ({@link inductionAnswerAutomaton}): a program without `x` returns
   * one digit and cannot be right there. Default `false`. Generation in training and in `evaluate` is held to
   * it (so held-out induction scores with and without it are not comparable); parsing and checking see the
   * whole language.
   */
  readonly inductionReadsInput?: boolean;
  /**
   * Hold induction answers in training (with `constrained` and a `curriculum`) to the curriculum's operator
   * limit at the step, as proposals are. Default `false`: the whole language (three operators). A model with
   * random weights writes long answers, a different program almost every time, so that the answers it is paid
   * for teach little about a short task's function; within one operator its answers to a task repeat.
   * `evaluate` is not held to it (it has no step), so the end of an answer is not learned where the bound forced
   * it.
   */
  readonly inductionAnswersFollowCurriculum?: boolean;
  /**
   * The modes whose proposals are generated (with `constrained`) as programs whose text reads `x`. Default
   * none. A program without `x` returns the same digit on every input: in abduction every input answers it,
   * so every learnability rollout solves it and it teaches the solver nothing; in deduction it is the easiest
   * task there is, which the solver learns first and the proposers then keep writing. The rule is on the text,
   * which a grammar can hold: a few programs that read `x` still compute a constant (`x-x`, `x*0+7`). The
   * `proposer: 'random'` ablation draws those modes' programs under the same rule, `constrained` or not;
   * parsing, checking and the solvers see the whole language, and induction is unchanged.
   */
  readonly proposalsReadInput?: readonly ('deduction' | 'abduction')[];
  /** Inputs of an induction task (different digits). Default `6`. */
  readonly inductionInputs?: number;
  /** Pairs an induction solver sees; the rest are held out for checking. Default `3`. */
  readonly inductionShown?: number;
}

/** A schedule of the most operators a proposal may have: see {@link MiniTaskModesSettings.curriculum}. */
export interface MiniCurriculum {
  /** Operators allowed at step 1 (0 to 3). */
  readonly startOperators: number;
  /** Steps between one more allowed operator. */
  readonly stepsPerOperator: number;
}

/** The most operators a proposal may have at a step under a curriculum (the language's bound without one). */
export function miniOperatorLimit(curriculum: MiniCurriculum | undefined, step: number | undefined): number {
  const bound = MINI_LANGUAGE.maxOperands - 1;
  if (curriculum === undefined || step === undefined) return bound;
  return Math.min(
    bound,
    curriculum.startOperators + Math.floor(Math.max(0, step - 1) / curriculum.stepsPerOperator),
  );
}

/** What a completion must be, role by role: read on its first line, trimmed. */
function readWord<State>(
  completion: string,
  automaton: CharacterAutomaton<State>,
  what: string,
): ParseResult<string> {
  const word = (completion.split('\n')[0] ?? '').trim();
  return automatonAccepts(automaton, word)
    ? { ok: true, value: word, wellFormed: true }
    : { ok: false, reason: `not ${what} of the mini language: ${JSON.stringify(word)}`, wellFormed: false };
}

/**
 * Held-out induction tasks as `'task'` bars them: the pairs each shows the solver (`input>output`). A proposal
 * is the held-out task when the pairs it shows include all of one entry's.
 */
function heldOutInductionPairs(tasks: readonly TaskBase[]): (readonly string[])[] {
  return tasks.flatMap((task) => {
    const { pairs, shownCount } = task as Partial<InductionTask>;
    if (task.mode !== 'induction' || miniExpression(task.program) === undefined || pairs === undefined)
      return [];
    return [pairs.slice(0, shownCount).map((pair) => `${pair.input.trim()}>${String(pair.output).trim()}`)];
  });
}

/**
 * The keys of held-out tasks of one mode, by what their programs compute (two programs that compute the same
 * function are the same program here): `behaviour;input` for a mode whose tasks are a program on one input
 * (`withInput`), `behaviour` for a mode whose tasks are a function (induction).
 */
function heldOutKeys(tasks: readonly TaskBase[], mode: TaskModeName, withInput: boolean): Set<string> {
  const keys = new Set<string>();
  for (const task of tasks) {
    if (task.mode !== mode) continue;
    const expression = miniExpression(task.program);
    if (expression === undefined) continue;
    const input = (task as Partial<DeductionTask>).input;
    const behaviour = miniBehavior(expression);
    keys.add(!withInput || input === undefined ? behaviour : `${behaviour};${input.trim()}`);
  }
  return keys;
}

const HELD_OUT = { ok: false, reason: 'a held-out evaluation task', exclude: true } as const;

/** The difficulty the modes report for a task: its program's operator count. */
function operatorCount(task: TaskBase): number | undefined {
  const expression = miniExpression(task.program);
  return expression === undefined ? undefined : miniOperatorCount(expression);
}

/** The family the modes report for a task, and the core of its novelty key: the function its program computes. */
function functionOf(task: TaskBase): string {
  return miniBehavior(miniExpression(task.program) ?? task.program);
}

function seedTask<TTask extends DeductionTask | AbductionTask>(
  mode: TTask['mode'],
  language: TaskLanguage,
): TTask {
  const content = {
    mode,
    language,
    program: miniProgram('x', language),
    entry: 'f',
    input: '5',
    output: '5' as CanonicalValue,
  };
  return { ...content, id: taskId(content), step: 0 } as TTask;
}

/** A role's grammar at a step, and the suffix that names it when it is not the full language's. */
type GrammarAt = (role: TaskRole, step: number | undefined) => [CharacterAutomaton<never>, string];

/** Makes a mode's `constraint`: its grammars as generation constraints, made once per tokenizer and grammar. */
type ConstraintMaker = (grammarAt: GrammarAt, name: string) => NonNullable<TaskModeV1['constraint']>;

/** Constraints made once per tokenizer, role and grammar (the proposal grammar changes with the curriculum). */
function constraintMaker(constrained: boolean): ConstraintMaker {
  const constraints = new WeakMap<TokenizerV1, Map<string, GenerationConstraintV1>>();
  return (grammarAt, name) =>
    (
      role: TaskRole,
      tokenizer: TokenizerV1,
      context?: ConstraintContext,
    ): GenerationConstraintV1 | undefined => {
      if (!constrained) return undefined;
      let byRole = constraints.get(tokenizer);
      if (byRole === undefined) {
        byRole = new Map();
        constraints.set(tokenizer, byRole);
      }
      const [automaton, variant] = grammarAt(role, context?.step);
      const key = `${name}:${role}${variant}`;
      let made = byRole.get(key);
      if (made === undefined) {
        made = createAutomatonConstraint(`mini-${key}`, automaton, tokenizer) as GenerationConstraintV1;
        byRole.set(key, made);
      }
      return made;
    };
}

/**
 * A grammar at a step under a curriculum: `make(operands)` with the operands the step's operator limit allows,
 * each limit's built on first use; named by its limit when it is below the language's (`mini-D:propose:max1`),
 * then `suffix`.
 */
function grammarByLimit(
  curriculum: MiniCurriculum | undefined,
  make: (maxOperands: number) => CharacterAutomaton<unknown>,
  suffix = '',
): (step: number | undefined) => [CharacterAutomaton<never>, string] {
  const automata = new Map<number, CharacterAutomaton<never>>();
  return (step) => {
    const limit = miniOperatorLimit(curriculum, step);
    let automaton = automata.get(limit);
    if (automaton === undefined) {
      automaton = make(limit + 1) as CharacterAutomaton<never>;
      automata.set(limit, automaton);
    }
    return [automaton, `${limit === MINI_LANGUAGE.maxOperands - 1 ? '' : `:max${limit}`}${suffix}`];
  };
}

/** The proposal grammar at a step under a curriculum: programs that read `x` only (named `:x`), with `readsInput`. */
function proposalGrammar(
  curriculum: MiniCurriculum | undefined,
  readsInput: boolean,
): (step: number | undefined) => [CharacterAutomaton<never>, string] {
  return grammarByLimit(
    curriculum,
    (operands) => proposalAutomaton(operands, readsInput),
    readsInput ? ':x' : '',
  );
}

/**
 * The induction answer grammar at a step: expressions within the curriculum's operator limit (the whole language
 * without one), which read `x` where the shown outputs differ with `readsInput`.
 */
function inductionAnswerGrammar(
  curriculum: MiniCurriculum | undefined,
  readsInput: boolean,
): (step: number | undefined) => [CharacterAutomaton<never>, string] {
  return grammarByLimit(curriculum, (operands) =>
    readsInput ? inductionAnswerAutomaton(operands) : expressionAutomaton(operands),
  );
}

/** What differs between the mini deduction and abduction modes. */
interface MiniProgramInputParts<TTask extends DeductionTask | AbductionTask> {
  /** Names the prompts (`#DP`, `#DS`) and the constraints. */
  readonly header: string;
  /** The solve prompt's last line. */
  readonly solveLine: (task: TTask) => string;
  readonly heldOut: ReadonlySet<string>;
  readonly constraint: ConstraintMaker;
  readonly proposalAt: (step: number | undefined) => [CharacterAutomaton<never>, string];
  /** The curriculum that bounds proposals' operators by step. */
  readonly curriculum: MiniCurriculum | undefined;
  /** Whether proposals' programs must read `x` (`proposalsReadInput`). */
  readonly readsInput: boolean;
}

/**
 * Deduction or abduction in the mini language: the base mode's checking and reading under the mini language's
 * prompts, parsing, grammar, seeds and task measures.
 */
function miniProgramInputMode<TTask extends DeductionTask | AbductionTask>(
  base: TaskModeV1<TTask, ProgramInputProposal, string>,
  parts: MiniProgramInputParts<TTask>,
): TaskModeV1<TTask, ProgramInputProposal, string> {
  const { header } = parts;
  const answer = DIGIT_AUTOMATON as CharacterAutomaton<never>;
  return {
    ...base,
    buildProposePrompt: (context) =>
      [
        `#${header}P`,
        ...context.references.flatMap((reference) => {
          const expression = miniExpression(reference.program);
          const input = (reference as Partial<DeductionTask>).input;
          return expression === undefined || input === undefined ? [] : [`${expression};${input}`];
        }),
        '>',
      ].join('\n'),
    parseProposal(completion, context) {
      const word = readWord(completion, PROPOSAL_AUTOMATON, 'a task');
      if (!word.ok) return word;
      const [expression, input] = word.value.split(';') as [string, string];
      return {
        ok: true,
        value: { program: miniProgram(expression, context.language), input },
        wellFormed: true,
      };
    },
    async validateProposal(proposal, executor, context): Promise<ProposalValidation<TTask>> {
      const expression = miniExpression(proposal.program);
      if (expression === undefined) return { ok: false, reason: 'not a program of the mini language' };
      if (parts.heldOut.has(`${miniBehavior(expression)};${proposal.input}`)) return HELD_OUT;
      return base.validateProposal(proposal, executor, context);
    },
    buildSolvePrompt: (task) =>
      `#${header}S\nf(x)=${miniExpression(task.program) ?? task.program}\n${parts.solveLine(task)}`,
    parseAnswer: (completion) => readWord(completion, answer, 'a digit'),
    constraint: parts.constraint(
      (role, step) => (role === 'propose' ? parts.proposalAt(step) : [answer, '']),
      header,
    ),
    // What a proposer held to the curriculum's grammar could write, drawn at random: the size of the program
    // uniform up to the step's limit, then the program and its input.
    sampleProposal: (random, context) =>
      sampleMiniProposal(random, miniOperatorLimit(parts.curriculum, context.step), parts.readsInput),
    seedTasks: (language) => [seedTask<TTask>(base.name as TTask['mode'], language)],
    difficulty: operatorCount,
    family: functionOf,
    // The same function called with the same input is the same task, however it is written.
    noveltyKey: (task) => `${functionOf(task)};${task.input}`,
  };
}

/** What the mini induction mode is made with. */
interface MiniInductionParts {
  readonly inputCount: number;
  readonly shownCount: number;
  /** Whether a proposal (a program and its inputs, the first `shownCount` shown) is a held-out task. */
  readonly isHeldOut: (behaviour: string, inputs: readonly string[]) => boolean;
  readonly constraint: ConstraintMaker;
  /** The solve grammar at a step, and the suffix that names it when it is not the full language's. */
  readonly answerAt: (step: number | undefined) => [CharacterAutomaton<never>, string];
}

/** The proposal of the mini induction mode: inputs for the reference program, no message. */
type MiniInductionProposal = { readonly program: string; readonly inputs: readonly string[] };

/**
 * Induction in the mini language: the induction mode's references, checking and reading under the mini
 * language's prompts, parsing, grammar, seeds and task measures; no message.
 */
function miniInductionMode(
  induction: TaskModeV1<InductionTask, InductionProposal, string>,
  parts: MiniInductionParts,
): TaskModeV1<InductionTask, MiniInductionProposal, string> {
  const { inputCount, shownCount } = parts;
  const inputList = inputListAutomaton(inputCount) as CharacterAutomaton<never>;
  const validateProposal: TaskModeV1<InductionTask, MiniInductionProposal, string>['validateProposal'] =
    async (proposal, executor, context) => {
      const expression = miniExpression(proposal.program);
      if (expression === undefined) return { ok: false, reason: 'not a program of the mini language' };
      if (parts.isHeldOut(miniBehavior(expression), proposal.inputs)) return HELD_OUT;
      return induction.validateProposal({ ...proposal, message: '' }, executor, context);
    };
  return {
    ...induction,
    buildProposePrompt(context) {
      const program = context.references[0]?.program ?? '';
      return `#IP\nf(x)=${miniExpression(program) ?? program}\n>`;
    },
    parseProposal(completion, context) {
      const program = context.references[0]?.program;
      if (program === undefined)
        return { ok: false, reason: 'the context holds no reference program', wellFormed: true };
      const word = readWord(completion, inputList, `${inputCount} different digits`);
      return word.ok
        ? { ok: true, value: { program, inputs: word.value.split(',') }, wellFormed: true }
        : word;
    },
    validateProposal,
    // The answer's program on the task's inputs, validated as a proposal would be (so never a held-out task);
    // passed over when the outputs it shows are one digit: such a prompt asks for a constant, and the solver's
    // own answers to constant tasks teach those.
    async hindsightTask(task, answer, executor, context) {
      const expression = miniExpression(answer);
      if (expression === undefined) return undefined;
      const behaviour = miniBehavior(expression);
      const inputs = task.pairs.map((pair) => pair.input.trim());
      const shown = new Set(inputs.slice(0, task.shownCount).map((input) => behaviour[Number(input)]));
      if (shown.size < 2) return undefined;
      const validation = await validateProposal({ program: answer, inputs }, executor, context);
      return validation.ok ? validation.task : undefined;
    },
    buildSolvePrompt: (task) =>
      [
        '#IS',
        ...task.pairs
          .slice(0, task.shownCount)
          .map((pair) => `f(${pair.input})=${canonicalToLiteral(pair.output, task.language)}`),
        'f(x)=',
      ].join('\n'),
    parseAnswer(completion, task) {
      const word = readWord(completion, EXPRESSION_AUTOMATON, 'an expression');
      return word.ok ? { ...word, value: miniProgram(word.value, task.language) } : word;
    },
    sampleProposal: (random) => sampleMiniInputList(random, inputCount),
    constraint: parts.constraint(
      (role, step) => (role === 'propose' ? [inputList, ''] : parts.answerAt(step)),
      'I',
    ),
    seedTasks(language) {
      const inputs = [...'1470925836'].slice(0, inputCount);
      const content = {
        mode: 'induction' as const,
        language,
        program: miniProgram('x', language),
        entry: 'f',
        pairs: inputs.map((input) => ({ input, output: input as CanonicalValue })),
        shownCount,
        message: '',
      };
      return [{ ...content, id: taskId(content), step: 0 }];
    },
    difficulty: operatorCount,
    family: functionOf,
    // Induction tasks are their pairs: any program that gives them is the same task.
    noveltyKey: (task) =>
      `${task.pairs.map((pair) => `${pair.input}>${pair.output}`).join(',')}/${task.shownCount}`,
  };
}

/**
 * The three task modes in the mini language, for models that start from random weights (the tiny preset):
 * short prompts (tens of tokens instead of a thousand), programs `f(x) = E mod 10` from a digit to a digit (see
 * {@link MINI_LANGUAGE}), and a grammar constraint that makes every proposal a program and every answer a
 * literal, so that rewards carry signal from the first step. The programs are real JavaScript or Python,
 * checked by the executor like any other; the departures from the paper are the compact prompts, no
 * reasoning block, and an induction task without a message (a model this small writes none worth reading).
 *
 * Prompts (`d` a digit, `E` an expression):
 *
 * | mode, role | prompt | completion |
 * |---|---|---|
 * | deduction or abduction, propose | `#DP` (or `#AP`), then reference tasks `E;d`, one per line, then `>` | `E;d` |
 * | deduction, solve | `#DS`, `f(x)=E`, `f(d)=` | the output, a digit |
 * | abduction, solve | `#AS`, `f(x)=E`, `<output>=f(` | an input digit |
 * | induction, propose | `#IP`, `f(x)=E`, `>` | different digits, `3,0,7,1,9,4` |
 * | induction, solve | `#IS`, the shown pairs `f(d)=<output>`, `f(x)=` | `E` |
 *
 * The identity `x` on `5` seeds the buffers, as the identity on "Hello world" does in the paper.
 */
export function createMiniTaskModes(
  settings: MiniTaskModesSettings = {},
): [
  TaskModeV1<DeductionTask, ProgramInputProposal, string>,
  TaskModeV1<AbductionTask, ProgramInputProposal, string>,
  TaskModeV1<InductionTask, MiniInductionProposal, string>,
] {
  const inputCount = assertNumberInRange('inductionInputs', settings.inductionInputs ?? 6, {
    minimum: 2,
    maximum: 10,
    integer: true,
  });
  const shownCount = assertNumberInRange('inductionShown', settings.inductionShown ?? 3, {
    minimum: 1,
    maximum: inputCount - 1,
    integer: true,
  });
  const curriculum = settings.curriculum;
  if (curriculum !== undefined) {
    assertNumberInRange('curriculum.startOperators', curriculum.startOperators, {
      minimum: 0,
      maximum: MINI_LANGUAGE.maxOperands - 1,
      integer: true,
    });
    assertNumberInRange('curriculum.stepsPerOperator', curriculum.stepsPerOperator, {
      minimum: 1,
      integer: true,
    });
  }
  const constraint = constraintMaker(settings.constrained ?? true);
  const readingModes = new Set(settings.proposalsReadInput ?? []);
  for (const mode of readingModes)
    assertOneOf('proposalsReadInput', mode, ['deduction', 'abduction'] as const);
  const readsInput = (mode: 'deduction' | 'abduction') => readingModes.has(mode);
  const [deduction, abduction, induction] = [
    createDeductionMode(),
    createAbductionMode(),
    createInductionMode({ inputCount, shownCount }),
  ];
  const heldOut = (mode: TaskModeName, withInput: boolean) =>
    heldOutKeys(settings.heldOut ?? [], mode, withInput);
  const inductionHeldOut = assertOneOf('inductionHeldOut', settings.inductionHeldOut ?? 'function', [
    'function',
    'task',
  ] as const);
  const heldOutFunctions =
    inductionHeldOut === 'function' ? heldOut(induction.name, false) : new Set<string>();
  const heldOutPairs = inductionHeldOut === 'task' ? heldOutInductionPairs(settings.heldOut ?? []) : [];
  const isHeldOutInduction = (behaviour: string, inputs: readonly string[]): boolean => {
    if (inductionHeldOut === 'function') return heldOutFunctions.has(behaviour);
    // The pairs the proposal would show: its first inputs and what its function gives on them.
    const shown = new Set(
      inputs.slice(0, shownCount).map((input) => `${input.trim()}>${behaviour[Number(input.trim())] ?? ''}`),
    );
    return heldOutPairs.some((entry) => entry.every((pair) => shown.has(pair)));
  };
  return [
    miniProgramInputMode(deduction, {
      header: 'D',
      solveLine: (task) => `f(${task.input})=`,
      heldOut: heldOut(deduction.name, true),
      constraint,
      proposalAt: proposalGrammar(curriculum, readsInput('deduction')),
      curriculum,
      readsInput: readsInput('deduction'),
    }),
    miniProgramInputMode(abduction, {
      header: 'A',
      solveLine: (task) => `${canonicalToLiteral(task.output, task.language)}=f(`,
      heldOut: heldOut(abduction.name, true),
      constraint,
      proposalAt: proposalGrammar(curriculum, readsInput('abduction')),
      curriculum,
      readsInput: readsInput('abduction'),
    }),
    miniInductionMode(induction, {
      inputCount,
      shownCount,
      isHeldOut: isHeldOutInduction,
      constraint,
      answerAt: inductionAnswerGrammar(
        settings.inductionAnswersFollowCurriculum === true ? curriculum : undefined,
        settings.inductionReadsInput === true,
      ),
    }),
  ];
}

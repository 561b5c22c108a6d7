import type { CharacterAutomaton } from '../../constraints/automaton-constraint.js';
import type { RandomSource } from '../../spec/random-source.js';
import type { TaskLanguage } from '../../spec/task-language.js';

/**
 * The mini task language: the subset of JavaScript (and of Python: the same text means the same program)
 * that the tiny preset proposes and solves. A program is `f(x) = E mod 10`, digits in, a digit out, where
 *
 * ```
 * E       := operand (operator operand){0,3}
 * operand := "x" | digit                 (one digit, 0-9)
 * operator:= "+" | "-" | "*"
 * ```
 *
 * with the usual precedence (`*` before `+` and `-`), and `mod 10` the non-negative remainder. Inputs and
 * outputs are single digits, so every answer is one token of a byte tokenizer; the difficulty of a task is its
 * number of operators. Every word of the grammar is a program that runs without error in both languages and
 * gives the same output in both, so a proposer held to it never writes an invalid program; what it can still
 * get wrong is a duplicate or a held-out task. Prompts show `E`; the `mod 10` is implicit. (There is no `%`
 * inside `E`: with it, a third of random programs returned 0, and "always answer 0" scored like learning.)
 */
export const MINI_LANGUAGE = Object.freeze({
  /** Most operands in an expression. */
  maxOperands: 4,
  /** Outputs are `E` modulo this. */
  modulus: 10,
  operators: ['+', '-', '*'] as const,
});

const DIGITS = '0123456789';

/** The program source of an expression, in a task language: `E mod 10` (Python's `%` is already non-negative). */
export function miniProgram(expression: string, language: TaskLanguage): string {
  return language === 'python'
    ? `def f(x):\n    return (${expression}) % 10`
    : `function f(x) {\n  return ((${expression}) % 10 + 10) % 10;\n}`;
}

/** The expression of a mini program, or `undefined` for a program outside the mini language. */
export function miniExpression(program: string): string | undefined {
  const match =
    /^function f\(x\) \{\n {2}return \(\((.+)\) % 10 \+ 10\) % 10;\n\}$/.exec(program.trim()) ??
    /^def f\(x\):\n {4}return \((.+)\) % 10$/.exec(program.trim());
  const expression = match?.[1];
  return expression !== undefined && isMiniExpression(expression) ? expression : undefined;
}

/** The number of operators of an expression: the mini language's measure of a program's size. */
export function miniOperatorCount(expression: string): number {
  return [...expression].filter((character) => '+-*'.includes(character)).length;
}

/**
 * The value of an expression at `x`, modulo 10 (non-negative), computed without running code: what the
 * executor returns for the program, which stays the source of truth for tasks. Used for cheap comparisons,
 * such as recognising two programs that compute the same function.
 */
export function evaluateMiniExpression(expression: string, x: number): number {
  const tokens = expression.match(/[x\d]|[+\-*]/g) ?? [];
  let total = 0;
  let sign = 1;
  let product = 1;
  for (const token of tokens) {
    if (token === '+' || token === '-') {
      total += sign * product;
      sign = token === '+' ? 1 : -1;
      product = 1;
    } else if (token !== '*') product *= token === 'x' ? x : Number(token);
  }
  total += sign * product;
  return ((total % 10) + 10) % 10;
}

/** What a program computes on each digit 0-9: ten digits, equal for programs that compute the same function. */
export function miniBehavior(expression: string): string {
  return Array.from({ length: 10 }, (_, x) => evaluateMiniExpression(expression, x)).join('');
}

/** State of {@link EXPRESSION_AUTOMATON}: operands read, and what may come next. */
interface ExpressionState {
  readonly operands: number;
  /** `operand`: an operand is expected; `operator`: one may follow. */
  readonly expecting: 'operand' | 'operator';
  /** `x` must still appear before the expression may end (see {@link inductionAnswerAutomaton}). */
  readonly needsInput?: boolean;
}

/** Expressions of at most `maxOperands` operands (the language's bound by default). */
export function expressionAutomaton(
  maxOperands: number = MINI_LANGUAGE.maxOperands,
): CharacterAutomaton<ExpressionState> {
  return {
    start: { operands: 0, expecting: 'operand' },
    step(state, character) {
      const needsInput = state.needsInput === true;
      if (state.expecting === 'operator') {
        if (state.operands >= maxOperands) return undefined;
        return character.length === 1 && '+-*'.includes(character)
          ? { operands: state.operands, expecting: 'operand', ...(needsInput ? { needsInput } : {}) }
          : undefined;
      }
      if (character.length !== 1 || !`x${DIGITS}`.includes(character)) return undefined;
      // With `x` still owed, the last operand the bound allows must be `x`.
      if (needsInput && character !== 'x' && state.operands + 1 >= maxOperands) return undefined;
      return {
        operands: state.operands + 1,
        expecting: 'operator',
        ...(needsInput && character !== 'x' ? { needsInput } : {}),
      };
    },
    accepting: (state) => state.expecting === 'operator' && state.needsInput !== true,
    key: (state) => `${state.expecting}${state.operands}${state.needsInput === true ? 'x' : ''}`,
  };
}

/** An expression of the mini language. */
export const EXPRESSION_AUTOMATON: CharacterAutomaton<ExpressionState> = expressionAutomaton();

/**
 * The induction solver's grammar: an expression, which must read `x` when the prompt's shown pairs
 * (`f(d)=d` lines) have different outputs. A program that does not read `x` returns one digit on every input, so
 * it cannot be right there; without this a model with random weights, which writes `x` for about one operand in
 * eleven, spends most of its answers on such programs, and a group of answers to a task that needs `x` is
 * almost never right once, which gives the group no advantage. The constraint reads the prompt for this
 * ({@link CharacterAutomaton.startFor}); it never looks at the hidden pairs or at the task's program.
 */
export function inductionAnswerAutomaton(
  maxOperands: number = MINI_LANGUAGE.maxOperands,
): CharacterAutomaton<ExpressionState> {
  const expression = expressionAutomaton(maxOperands);
  const owing: ExpressionState = { ...expression.start, needsInput: true };
  return {
    ...expression,
    startFor: (promptText) => (new Set(shownOutputs(promptText)).size > 1 ? owing : expression.start),
  };
}

/** The outputs of the shown pairs of a mini induction solve prompt (its `f(d)=d` lines), in order. */
export function shownOutputs(promptText: string): string[] {
  return [...promptText.matchAll(/^f\(\d\)=(\d)$/gm)].map((match) => match[1] as string);
}

/** Whether `text` is an expression of the mini language. */
export function isMiniExpression(text: string): boolean {
  let state: ExpressionState | undefined = EXPRESSION_AUTOMATON.start;
  for (const character of text) {
    state = state === undefined ? undefined : EXPRESSION_AUTOMATON.step(state, character);
  }
  return state !== undefined && EXPRESSION_AUTOMATON.accepting(state);
}

/** One digit: an input or output of a mini program, and so a deduction or abduction answer. */
export const DIGIT_AUTOMATON: CharacterAutomaton<'start' | 'done'> = {
  start: 'start',
  step: (state, character) =>
    state === 'start' && character.length === 1 && DIGITS.includes(character) ? 'done' : undefined,
  accepting: (state) => state === 'done',
  key: (state) => state,
};

/**
 * A deduction or abduction proposal, `E;d`: an expression (of at most `maxOperands` operands, the language's
 * bound by default) and the digit it is called with. With `readsInput`, the expression must read `x`.
 */
export function proposalAutomaton(
  maxOperands: number = MINI_LANGUAGE.maxOperands,
  readsInput = false,
): CharacterAutomaton<ExpressionState | 'input' | 'done'> {
  const expression = expressionAutomaton(maxOperands);
  return {
    start: readsInput ? { ...expression.start, needsInput: true } : expression.start,
    step(state, character) {
      if (state === 'done') return undefined;
      if (state === 'input') return DIGITS.includes(character) && character.length === 1 ? 'done' : undefined;
      if (character === ';') return expression.accepting(state) ? 'input' : undefined;
      return expression.step(state, character);
    },
    accepting: (state) => state === 'done',
    key: (state) => (typeof state === 'string' ? state : expression.key(state)),
  };
}

/** A deduction or abduction proposal of the mini language. */
export const PROPOSAL_AUTOMATON: CharacterAutomaton<ExpressionState | 'input' | 'done'> = proposalAutomaton();

/** An induction proposal: `count` different digits separated by commas, such as `3,0,7`. */
export function inputListAutomaton(count: number): CharacterAutomaton<string> {
  // The state is the text so far; it is short (at most 19 characters).
  return {
    start: '',
    step(state, character) {
      const digits = state.replaceAll(',', '');
      const expectingDigit = state.length === 0 || state.endsWith(',');
      if (expectingDigit) {
        return character.length === 1 && DIGITS.includes(character) && !digits.includes(character)
          ? state + character
          : undefined;
      }
      return character === ',' && digits.length < count ? `${state},` : undefined;
    },
    accepting: (state) => state.replaceAll(',', '').length === count && !state.endsWith(','),
    key: (state) => state,
  };
}

/**
 * A random expression with exactly `operators` operators, drawn uniformly operand by operand (operands are
 * `x` half of the time): the generator of the held-out suite and of tests.
 */
export function sampleMiniExpression(random: RandomSource, operators: number): string {
  let text = random.nextFloat() < 0.5 ? 'x' : String(random.nextInt(0, 9));
  for (let index = 0; index < operators; index += 1) {
    const operator = MINI_LANGUAGE.operators[random.nextInt(0, MINI_LANGUAGE.operators.length - 1)] as string;
    const operand = random.nextFloat() < 0.5 ? 'x' : String(random.nextInt(0, 9));
    text += operator + operand;
  }
  return text;
}

/**
 * A random deduction or abduction proposal `E;d` (a word of {@link proposalAutomaton} with at most
 * `maxOperators + 1` operands): an operator count uniform in `0..maxOperators`, an expression of that many
 * operators ({@link sampleMiniExpression}) and a uniform input digit. With `readsInput`, the expression is drawn
 * again until it reads `x` (a word of `proposalAutomaton(..., true)`). The fixed generator that the trainer's
 * `proposer: 'random'` ablation proposes with instead of the model.
 */
export function sampleMiniProposal(random: RandomSource, maxOperators: number, readsInput = false): string {
  const operators = random.nextInt(0, maxOperators);
  let expression = sampleMiniExpression(random, operators);
  // Every operand is `x` half of the time, so a draw reads `x` at least half of the time.
  while (readsInput && !expression.includes('x')) expression = sampleMiniExpression(random, operators);
  return `${expression};${random.nextInt(0, 9)}`;
}

/** A random induction proposal: `count` different digits in a uniformly random order (a word of {@link inputListAutomaton}). */
export function sampleMiniInputList(random: RandomSource, count: number): string {
  const digits = [...DIGITS];
  // A partial Fisher-Yates shuffle: the first `count` places are a uniform draw without repetition.
  for (let index = 0; index < count; index += 1) {
    const other = random.nextInt(index, digits.length - 1);
    [digits[index], digits[other]] = [digits[other] as string, digits[index] as string];
  }
  return digits.slice(0, count).join(',');
}

import { describe, expect, it } from 'vitest';
import {
  automatonAccepts,
  createAutomatonConstraint,
  runAutomaton,
} from '../../constraints/automaton-constraint.js';
import { ConfigError } from '../../errors/errors.js';
import { createSeededRandom } from '../../random/seeded-random.js';
import type { CanonicalValue } from '../../spec/canonical-value.js';
import type { GenerationConstraintV1 } from '../../spec/generation-constraint.js';
import type { TaskBase } from '../../spec/task.js';
import type { TokenizerV1 } from '../../spec/tokenizer.js';
import { MockExecutor } from '../../test/mock-executor.js';
import { MockPolicyModel } from '../../test/mock-policy-model.js';
import { createByteTokenizer } from '../../tokenizer/byte-tokenizer.js';
import { createSelfPlayTrainer } from '../../trainer/trainer.js';
import type { DeductionTask } from '../tasks.js';
import {
  DIGIT_AUTOMATON,
  EXPRESSION_AUTOMATON,
  evaluateMiniExpression,
  inductionAnswerAutomaton,
  inputListAutomaton,
  isMiniExpression,
  miniBehavior,
  miniExpression,
  miniOperatorCount,
  miniProgram,
  PROPOSAL_AUTOMATON,
  proposalAutomaton,
  sampleMiniExpression,
  sampleMiniInputList,
  sampleMiniProposal,
} from './grammar.js';
import { createMiniTaskModes, miniOperatorLimit } from './modes.js';

const bytes = createByteTokenizer();
const format = { reasoningTag: 'think', answerTag: 'answer' };

/** Walks a constraint with uniformly random allowed tokens (end-of-sequence once complete), as a sampler would. */
function randomWalk(
  constraint: GenerationConstraintV1,
  tokenizer: TokenizerV1,
  seed: number,
  prompt = '',
): string {
  const random = createSeededRandom(seed);
  let state = constraint.initialState(prompt);
  const ids: number[] = [];
  for (let step = 0; step < 64; step += 1) {
    const allowed = [...(constraint.allowedTokenIds(state) ?? [])];
    if (constraint.isComplete(state)) allowed.push(tokenizer.endOfSequenceTokenId);
    const token = allowed[random.nextInt(0, allowed.length - 1)] as number;
    if (token === tokenizer.endOfSequenceTokenId) break;
    ids.push(token);
    state = constraint.advance(state, token);
  }
  return tokenizer.decode(ids);
}

describe('the mini language', () => {
  it('accepts expressions of up to four single-digit or x operands, and nothing else', () => {
    for (const text of ['x', '7', 'x+1', 'x*x-3', '9-4+x*2', 'x-x-x-x'])
      expect(isMiniExpression(text), text).toBe(true);
    for (const text of ['', 'x+', '12', 'xx', 'x%3', 'x/2', '-x', 'x+1+2+3+4', 'x +1', '(x)', 'y'])
      expect(isMiniExpression(text), text).toBe(false);
  });

  it('reads proposals and induction input lists', () => {
    expect(automatonAccepts(PROPOSAL_AUTOMATON, 'x*2;3')).toBe(true);
    expect(automatonAccepts(PROPOSAL_AUTOMATON, 'x*2;')).toBe(false);
    expect(automatonAccepts(PROPOSAL_AUTOMATON, 'x*;3')).toBe(false);
    expect(automatonAccepts(PROPOSAL_AUTOMATON, 'x;34')).toBe(false);
    const three = inputListAutomaton(3);
    expect(automatonAccepts(three, '3,0,7')).toBe(true);
    expect(automatonAccepts(three, '3,3,7')).toBe(false);
    expect(automatonAccepts(three, '3,0')).toBe(false);
    expect(automatonAccepts(three, '3,0,7,1')).toBe(false);
    expect(automatonAccepts(DIGIT_AUTOMATON, '4')).toBe(true);
    expect(automatonAccepts(DIGIT_AUTOMATON, '44')).toBe(false);
  });

  it('writes programs in both languages and reads their expressions back', () => {
    expect(miniProgram('x*2+1', 'javascript')).toBe('function f(x) {\n  return ((x*2+1) % 10 + 10) % 10;\n}');
    expect(miniProgram('x*2+1', 'python')).toBe('def f(x):\n    return (x*2+1) % 10');
    expect(miniExpression(miniProgram('x-3', 'python'))).toBe('x-3');
    expect(miniExpression('function f(a) {\n  return a;\n}')).toBeUndefined();
    expect(miniOperatorCount('x*2+1')).toBe(2);
  });

  it('maps every digit to a digit with every sampled program, as Python would', () => {
    const random = createSeededRandom(3);
    for (let index = 0; index < 300; index += 1) {
      const expression = sampleMiniExpression(random, index % 4);
      expect(isMiniExpression(expression), expression).toBe(true);
      expect(miniOperatorCount(expression)).toBe(index % 4);
      const body = /return (.+);/.exec(miniProgram(expression, 'javascript'))?.[1];
      const f = new Function('x', `return ${body};`) as (x: number) => number;
      // Python's semantics: the remainder of a positive modulus is non-negative.
      const python = new Function('x', `const e = ${expression}; return ((e % 10) + 10) % 10;`) as (
        x: number,
      ) => number;
      for (let x = 0; x <= 9; x += 1) {
        const output = f(x);
        expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `${expression} on ${x}`).toContain(output);
        expect(Object.is(output, python(x))).toBe(true);
      }
    }
  });
});

describe('the mini evaluator', () => {
  it('computes what the program computes, and names functions by their behaviour', () => {
    const random = createSeededRandom(5);
    for (let index = 0; index < 200; index += 1) {
      const expression = sampleMiniExpression(random, index % 4);
      const body = /return (.+);/.exec(miniProgram(expression, 'javascript'))?.[1];
      const f = new Function('x', `return ${body};`) as (x: number) => number;
      for (let x = 0; x <= 9; x += 1) expect(evaluateMiniExpression(expression, x), expression).toBe(f(x));
    }
    expect(miniBehavior('x')).toBe('0123456789');
    expect(miniBehavior('x+0*7')).toBe(miniBehavior('x'));
    expect(miniBehavior('x-1')).toBe('9012345678');
    expect(miniBehavior('2+3*x*x')).toBe('2549070945');
  });
});

describe('automaton constraints', () => {
  it('allow exactly the tokens whose text the automaton reads, with the byte tokenizer', () => {
    const constraint = createAutomatonConstraint('proposal', PROPOSAL_AUTOMATON, bytes);
    const text = (ids: readonly number[] | undefined) => ids?.map((id) => bytes.tokenText(id)).join('');
    const start = constraint.initialState('prompt');
    expect(text(constraint.allowedTokenIds(start))).toBe('0123456789x');
    expect(constraint.isComplete(start)).toBe(false);
    const operand = constraint.advance(start, 'x'.charCodeAt(0));
    expect(text(constraint.allowedTokenIds(operand))).toBe('*+-;');
    const input = constraint.advance(constraint.advance(operand, ';'.charCodeAt(0)), '7'.charCodeAt(0));
    expect(constraint.allowedTokenIds(input)).toEqual([]);
    expect(constraint.isComplete(input)).toBe(true);
    expect(() => constraint.advance(input, '1'.charCodeAt(0))).toThrow(ConfigError);
  });

  it('handle tokens of several characters', () => {
    const vocabulary = ['x', '+', '1', '10', 'x+', '+1', ';', '<eos>'];
    const tokenizer: TokenizerV1 = {
      ...bytes,
      tokenizerId: 'words',
      vocabularySize: vocabulary.length,
      endOfSequenceTokenId: 7,
      tokenText: (id) => vocabulary[id] ?? '',
      decode: (ids) => ids.map((id) => (id === 7 ? '' : vocabulary[id])).join(''),
    };
    const constraint = createAutomatonConstraint('expression', EXPRESSION_AUTOMATON, tokenizer);
    const start = constraint.initialState('');
    expect(constraint.allowedTokenIds(start)?.map((id) => vocabulary[id])).toEqual(['x', '1', 'x+']);
    const afterX = constraint.advance(start, 4);
    expect(constraint.allowedTokenIds(afterX)?.map((id) => vocabulary[id])).toEqual(['x', '1', 'x+']);
    const afterOperand = constraint.advance(afterX, 2);
    expect(constraint.allowedTokenIds(afterOperand)?.map((id) => vocabulary[id])).toEqual(['+', '+1']);
    expect(constraint.isComplete(afterOperand)).toBe(true);
  });

  it('only ever produce words of the language, whatever the sampler picks', () => {
    for (const [automaton, make] of [
      [PROPOSAL_AUTOMATON, () => createAutomatonConstraint('proposal', PROPOSAL_AUTOMATON, bytes)],
      [DIGIT_AUTOMATON, () => createAutomatonConstraint('digit', DIGIT_AUTOMATON, bytes)],
      [inputListAutomaton(6), () => createAutomatonConstraint('inputs', inputListAutomaton(6), bytes)],
    ] as const) {
      const constraint = make() as GenerationConstraintV1;
      for (let seed = 0; seed < 100; seed += 1) {
        const text = randomWalk(constraint, bytes, seed);
        expect(automatonAccepts(automaton as never, text), text).toBe(true);
      }
    }
    expect(runAutomaton(EXPRESSION_AUTOMATON, 'x+')).toBeDefined();
  });

  it('start from the prompt when the automaton asks: induction answers read x when the shown outputs differ', () => {
    const varying = '#IS\nf(1)=3\nf(2)=4\nf(3)=5\nf(x)=';
    const constant = '#IS\nf(1)=3\nf(2)=3\nf(3)=3\nf(x)=';
    const automaton = inductionAnswerAutomaton();
    const constraint = createAutomatonConstraint('answer', automaton, bytes) as GenerationConstraintV1;
    const walks = (prompt: string) =>
      Array.from({ length: 200 }, (_, seed) => randomWalk(constraint, bytes, seed, prompt));
    for (const text of walks(varying)) {
      expect(isMiniExpression(text), text).toBe(true);
      expect(text, text).toContain('x');
    }
    const free = walks(constant);
    expect(free.every((text) => isMiniExpression(text))).toBe(true);
    expect(free.some((text) => !text.includes('x'))).toBe(true);
    // Owing x, a digit cannot end the answer, and the fourth operand must be x.
    const owing = constraint.initialState(varying);
    const afterDigit = constraint.advance(owing, '3'.charCodeAt(0));
    expect(constraint.isComplete(afterDigit)).toBe(false);
    const threeDigits = runAutomaton(automaton, '3+4+5+', automaton.startFor?.(varying));
    expect(threeDigits && automaton.step(threeDigits, '6')).toBeUndefined();
    expect(threeDigits && automaton.step(threeDigits, 'x')).toBeDefined();
    // Without a prompt the whole language.
    expect(constraint.isComplete(constraint.advance(constraint.initialState(''), '7'.charCodeAt(0)))).toBe(
      true,
    );
  });
});

describe('the mini task modes', () => {
  const [deduction, abduction, induction] = createMiniTaskModes();
  const task = (expression: string, input: string, output: string): DeductionTask => ({
    mode: 'deduction',
    language: 'javascript',
    program: miniProgram(expression, 'javascript'),
    entry: 'f',
    input,
    output: output as CanonicalValue,
    id: expression,
    step: 0,
  });

  it('write short prompts', () => {
    const context = {
      language: 'javascript' as const,
      references: [task('x', '5', '5'), task('x*2', '3', '6')],
      bannedWords: [],
      format,
    };
    expect(deduction.buildProposePrompt(context)).toBe('#DP\nx;5\nx*2;3\n>');
    expect(deduction.buildSolvePrompt(task('x*2', '3', '6'), { format })).toBe('#DS\nf(x)=x*2\nf(3)=');
    expect(abduction.buildSolvePrompt({ ...task('x*2', '3', '6'), mode: 'abduction' }, { format })).toBe(
      '#AS\nf(x)=x*2\n6=f(',
    );
    expect(induction.buildProposePrompt({ ...context, references: [task('x+1', '0', '1')] })).toBe(
      '#IP\nf(x)=x+1\n>',
    );
  });

  it('parse completions of the grammar and call anything else malformed', () => {
    const context = { language: 'python' as const, references: [], bannedWords: [], format };
    expect(deduction.parseProposal('x+1;4', context)).toEqual({
      ok: true,
      value: { program: 'def f(x):\n    return (x+1) % 10', input: '4' },
      wellFormed: true,
    });
    expect(deduction.parseProposal('x+;4', context)).toMatchObject({ ok: false, wellFormed: false });
    expect(deduction.parseAnswer('7', task('x', '1', '1'), { format })).toMatchObject({
      ok: true,
      value: '7',
    });
    expect(deduction.parseAnswer('-2', task('x', '1', '1'), { format })).toMatchObject({ ok: false });
    expect(abduction.parseAnswer('12', task('x', '1', '1') as never, { format })).toMatchObject({
      ok: false,
    });
  });

  it('validate and check through the executor, and exclude held-out tasks of their own mode', async () => {
    const executor = new MockExecutor();
    const heldOut: TaskBase[] = [task('x*3', '2', '6'), { ...task('x-1', '0', '9'), mode: 'induction' }];
    const [held, heldAbduction, heldInduction] = createMiniTaskModes({ heldOut });
    const context = { language: 'javascript' as const, step: 4 };
    const excluded = { ok: false, reason: 'a held-out evaluation task', exclude: true };
    // A deduction or abduction proposal `expression;input`, validated by a mode.
    const proposing = (mode: typeof held | typeof heldAbduction, expression: string, input: string) =>
      mode.validateProposal({ program: miniProgram(expression, 'javascript'), input }, executor, context);
    const valid = await proposing(held, 'x*3', '4');
    expect(valid).toMatchObject({ ok: true, task: { output: '2', step: 4 } });
    expect(held.difficulty?.((valid as { task: DeductionTask }).task)).toBe(1);
    expect(await proposing(held, 'x*3', '2')).toEqual(excluded);
    // Rewritten, a held-out task is still held out: 3*x+0 on 2 computes what x*3 on 2 does.
    expect(await proposing(held, '3*x+0', '2')).toEqual(excluded);
    // The same function in another mode is another task: a held-out deduction task is a fine abduction task,
    // and a held-out induction function a fine deduction task.
    expect(await proposing(heldAbduction, 'x*3', '2')).toMatchObject({ ok: true });
    expect(await proposing(held, 'x-1', '7')).toMatchObject({ ok: true });
    // An induction proposal of a held-out induction function, however written (x+9 is x-1), is excluded.
    expect(
      await heldInduction.validateProposal(
        { program: miniProgram('x+9', 'javascript'), inputs: ['1', '2', '3', '4', '8', '9'] },
        executor,
        context,
      ),
    ).toEqual(excluded);
    const inductionTask = await heldInduction.validateProposal(
      { program: miniProgram('x+2', 'javascript'), inputs: ['1', '2', '3', '4', '8', '9'] },
      executor,
      context,
    );
    expect(inductionTask).toMatchObject({ ok: true, task: { shownCount: 3, message: '' } });
    const solved = (inductionTask as { task: Parameters<typeof heldInduction.checkAnswer>[0] }).task;
    expect(heldInduction.buildSolvePrompt(solved, { format })).toBe('#IS\nf(1)=3\nf(2)=4\nf(3)=5\nf(x)=');
    expect(await heldInduction.checkAnswer(solved, miniProgram('2+x', 'javascript'), executor)).toEqual({
      correct: true,
    });
    expect(
      (await heldInduction.checkAnswer(solved, miniProgram('x*2', 'javascript'), executor)).correct,
    ).toBe(false);
  });

  it("hold out an induction task's function, or with inductionHeldOut 'task' the task alone", async () => {
    const executor = new MockExecutor();
    const context = { language: 'javascript' as const, step: 4 };
    const held: TaskBase = {
      mode: 'induction',
      language: 'javascript',
      program: miniProgram('x+3', 'javascript'),
      entry: 'f',
      pairs: ['3', '8', '7', '9', '5', '4'].map((input) => ({
        input,
        output: String((Number(input) + 3) % 10) as CanonicalValue,
      })),
      shownCount: 3,
      message: '',
      id: 'held',
      step: 0,
    } as TaskBase;
    const propose = (mode: ReturnType<typeof createMiniTaskModes>[2], expression: string, inputs: string) =>
      mode.validateProposal(
        { program: miniProgram(expression, 'javascript'), inputs: inputs.split(',') },
        executor,
        context,
      );
    const [, , byFunction] = createMiniTaskModes({ heldOut: [held] });
    const [, , byTask] = createMiniTaskModes({ heldOut: [held], inductionHeldOut: 'task' });
    // Its function on other inputs: barred by function, another task by task.
    expect(await propose(byFunction, '3+x', '0,1,2,4,5,6')).toMatchObject({ exclude: true });
    expect(await propose(byTask, '3+x', '0,1,2,4,5,6')).toMatchObject({ ok: true });
    // The held-out task itself (its shown pairs, in any order, whatever the hidden ones), rewritten: barred.
    expect(await propose(byTask, 'x-7', '7,3,8,0,1,2')).toMatchObject({ exclude: true });
    // Another function on the same inputs is another task, unless it shows the same pairs: 3-x*x*x gives 6, 1
    // and 0 on 3, 8 and 7, as x+3 does, and so the held-out task's prompt.
    expect(await propose(byTask, 'x+4', '3,8,7,9,5,4')).toMatchObject({ ok: true });
    expect(await propose(byTask, '3-x*x*x', '8,3,7,0,1,2')).toMatchObject({ exclude: true });
    expect(await propose(byFunction, '3-x*x*x', '8,3,7,0,1,2')).toMatchObject({ ok: true });
    expect(() => createMiniTaskModes({ inductionHeldOut: 'inputs' as never })).toThrow(ConfigError);
  });

  it('relabel a wrong induction answer in hindsight as the task its program gives on the same inputs', async () => {
    const executor = new MockExecutor();
    const context = { language: 'javascript' as const, step: 9 };
    const inputs = ['3', '8', '7', '9', '5', '4'];
    const [, , plain] = createMiniTaskModes();
    const made = await plain.validateProposal(
      { program: miniProgram('x+3', 'javascript'), inputs },
      executor,
      context,
    );
    const task = (made as { task: Parameters<typeof plain.checkAnswer>[0] }).task;
    const answer = miniProgram('x*2', 'javascript');
    expect((await plain.checkAnswer(task, answer, executor)).correct).toBe(false);
    const relabelled = await plain.hindsightTask?.(task, answer, executor, context);
    // x*2 on 3, 8, 7, 9, 5, 4: the answer's own pairs, its program, the step it was made at.
    expect(relabelled).toMatchObject({
      mode: 'induction',
      program: answer,
      shownCount: 3,
      step: 9,
      pairs: inputs.map((input) => ({ input, output: String((Number(input) * 2) % 10) })),
    });
    expect(plain.buildSolvePrompt(relabelled as typeof task, { format })).toBe(
      '#IS\nf(3)=6\nf(8)=6\nf(7)=4\nf(x)=',
    );
    expect(await plain.checkAnswer(relabelled as typeof task, answer, executor)).toEqual({ correct: true });
    // Passed over: an answer whose shown outputs are one digit (a constant, or x*5 on odd inputs).
    expect(
      await plain.hindsightTask?.(task, miniProgram('7', 'javascript'), executor, context),
    ).toBeUndefined();
    const odd = await plain.validateProposal(
      { program: miniProgram('x', 'javascript'), inputs: ['1', '3', '5', '2', '4', '6'] },
      executor,
      context,
    );
    const oddTask = (odd as { task: typeof task }).task;
    expect(
      await plain.hindsightTask?.(oddTask, miniProgram('x*5', 'javascript'), executor, context),
    ).toBeUndefined();
    expect(
      await plain.hindsightTask?.(oddTask, miniProgram('x*4', 'javascript'), executor, context),
    ).toMatchObject({
      pairs: [
        { output: '4' },
        { output: '2' },
        { output: '0' },
        { output: '8' },
        { output: '6' },
        { output: '4' },
      ],
    });
    // Never a held-out task: x*2 is held out by function, and by task where it shows the held-out pairs.
    const held = { ...(relabelled as typeof task), id: 'held' };
    const [, , byFunction] = createMiniTaskModes({ heldOut: [held] });
    const [, , byTask] = createMiniTaskModes({ heldOut: [held], inductionHeldOut: 'task' });
    expect(await byFunction.hindsightTask?.(task, answer, executor, context)).toBeUndefined();
    expect(await byTask.hindsightTask?.(task, answer, executor, context)).toBeUndefined();
    expect(
      await byTask.hindsightTask?.(task, miniProgram('2*x', 'javascript'), executor, context),
    ).toBeUndefined();
    expect(await byTask.hindsightTask?.(oddTask, answer, executor, context)).toMatchObject({
      program: answer,
    });
  });

  it('hold induction answers to read x, when asked, and only where the shown outputs differ', () => {
    const [, , plain] = createMiniTaskModes();
    const [, , reading] = createMiniTaskModes({ inductionReadsInput: true });
    const varying = '#IS\nf(1)=3\nf(2)=4\nf(3)=5\nf(x)=';
    const ends = (mode: typeof plain, prompt: string) => {
      const constraint = mode.constraint?.('solve', bytes) as GenerationConstraintV1;
      return constraint.isComplete(constraint.advance(constraint.initialState(prompt), '7'.charCodeAt(0)));
    };
    expect(ends(plain, varying)).toBe(true);
    expect(ends(reading, varying)).toBe(false);
    expect(ends(reading, '#IS\nf(1)=7\nf(2)=7\nf(3)=7\nf(x)=')).toBe(true);
  });

  it('hold the proposals of the modes asked to programs that read x, and nothing else', () => {
    const [plainDeduction, plainAbduction] = createMiniTaskModes();
    const curriculum = { startOperators: 1, stepsPerOperator: 100 };
    const [deduction, abduction] = createMiniTaskModes({ proposalsReadInput: ['abduction'], curriculum });
    const [readingDeduction] = createMiniTaskModes({
      proposalsReadInput: ['deduction', 'abduction'],
      curriculum,
    });
    const accepts = (mode: { readonly constraint?: typeof abduction.constraint }, word: string, step = 1) => {
      const constraint = mode.constraint?.('propose', bytes, { step }) as GenerationConstraintV1;
      let state: unknown = constraint.initialState('#AP\n>');
      for (const character of word) {
        if (!constraint.allowedTokenIds(state as never)?.includes(character.charCodeAt(0))) return false;
        state = constraint.advance(state as never, character.charCodeAt(0));
      }
      return constraint.isComplete(state as never);
    };
    for (const word of ['x;5', 'x+3;1', '2*x;0', 'x-x;4']) expect(accepts(abduction, word)).toBe(true);
    for (const word of ['3;4', '2*6;1', '9-0;9']) expect(accepts(abduction, word)).toBe(false);
    // The curriculum still bounds the operators: two only from step 101, and then the second operand may be
    // a digit as long as another reads x.
    expect(accepts(abduction, 'x+1*2;3')).toBe(false);
    expect(accepts(abduction, 'x+1*2;3', 101)).toBe(true);
    expect(accepts(abduction, '1*2+3;3', 101)).toBe(false);
    // Deduction unless asked, and abduction without the setting, still propose constants.
    for (const mode of [deduction, plainDeduction, plainAbduction]) expect(accepts(mode, '2*6;1')).toBe(true);
    expect(accepts(readingDeduction, '2*6;1')).toBe(false);
    expect(accepts(readingDeduction, '2*x;1')).toBe(true);
    expect(() => createMiniTaskModes({ proposalsReadInput: ['induction' as never] })).toThrow(ConfigError);
    expect(abduction.constraint?.('propose', bytes, { step: 1 })?.constraintId).not.toBe(
      plainAbduction.constraint?.('propose', bytes, { step: 1 })?.constraintId,
    );
    // With one operand allowed (a curriculum from 0 operators), the only program that reads x is x.
    const [, zeroOperators] = createMiniTaskModes({
      proposalsReadInput: ['abduction'],
      curriculum: { startOperators: 0, stepsPerOperator: 100 },
    });
    expect(accepts(zeroOperators, 'x;7')).toBe(true);
    expect(accepts(zeroOperators, '7;7')).toBe(false);
    expect(zeroOperators.sampleProposal?.(createSeededRandom(1), { step: 1 } as never)).toMatch(/^x;\d$/);
    // The random-task ablation draws under the same rule.
    const random = createSeededRandom(3);
    for (let draw = 0; draw < 200; draw += 1) {
      const proposal = abduction.sampleProposal?.(random, { step: 101 } as never) as string;
      expect(proposal).toMatch(/x/);
      expect(accepts(abduction, proposal, 101)).toBe(true);
    }
  });

  it('drive the trainer with constrained generation: every proposal is a program from the first step', async () => {
    const policy = new MockPolicyModel({ seed: 2 });
    const trainer = createSelfPlayTrainer({
      policy,
      executor: new MockExecutor(),
      modes: createMiniTaskModes() as never,
      settings: { seed: 1, batchSize: 4, learnabilityRollouts: 2, sampling: { maxTokens: 24 } },
    });
    expect(
      trainer.buffers
        .get('deduction')
        ?.tasks()
        .map((seed) => miniExpression(seed.program)),
    ).toEqual(['x']);
    const result = await trainer.runStep();
    expect(result.proposals.every((proposal) => proposal.wellFormed)).toBe(true);
    expect(result.solutions.every((solution) => solution.wellFormed)).toBe(true);
    const deductionProposers = result.groups.find(
      (group) => group.mode === 'deduction' && group.role === 'propose',
    );
    expect(deductionProposers?.meanDifficulty).toBeGreaterThanOrEqual(0);
    const request = policy.calls.find((call) => call.method === 'doGenerate');
    expect(request?.method === 'doGenerate' && request.request.constraint?.constraintId).toBe(
      'mini-D:propose',
    );
  });

  it("name a task's family by the function its program computes, for balanced solve sampling", async () => {
    const [deduction, , induction] = createMiniTaskModes();
    const task = (expression: string, input: string) =>
      ({
        mode: 'deduction',
        language: 'javascript',
        program: miniProgram(expression, 'javascript'),
        input,
      }) as never;
    expect(deduction?.family?.(task('x+0', '3'))).toBe(deduction?.family?.(task('x*1', '5')));
    expect(deduction?.family?.(task('x', '3'))).toBe('0123456789');
    expect(deduction?.family?.(task('3*5', '1'))).toBe('5555555555');
    expect(induction?.family?.({ ...(task('x-x', '1') as object), mode: 'induction' } as never)).toBe(
      '0000000000',
    );
    const trainer = createSelfPlayTrainer({
      policy: new MockPolicyModel({ seed: 3 }),
      executor: new MockExecutor(),
      modes: createMiniTaskModes() as never,
      settings: {
        seed: 1,
        batchSize: 4,
        learnabilityRollouts: 2,
        solveSampling: 'balanced',
        sampling: { maxTokens: 24 },
      },
    });
    for (let step = 0; step < 2; step += 1) {
      const { solutions } = await trainer.runStep();
      expect(solutions.length).toBeGreaterThan(0);
      expect(solutions.every((solution) => solution.wellFormed)).toBe(true);
      // Each mode solves distinct tasks of its own buffer, as many as it holds up to the batch size.
      for (const [mode, buffer] of trainer.buffers) {
        const solved = solutions
          .filter((solution) => solution.mode === mode)
          .map((solution) => solution.task.id);
        expect(solved).toHaveLength(Math.min(4, buffer.size));
        expect(new Set(solved).size).toBe(solved.length);
        expect(solved.every((id) => buffer.has(id))).toBe(true);
      }
    }
  });

  it('are judged once per distinct answer to a task, however many rollouts give it', async () => {
    // Every solver answers 5: each solve task's 6 rollouts need one executor call, not 6.
    const script = (prompt: string) =>
      prompt.startsWith('#IP') ? '1,4,7,0,9,2' : prompt.startsWith('#') && prompt[2] === 'P' ? 'x+1;5' : '5';
    const executor = new MockExecutor();
    const trainer = createSelfPlayTrainer({
      policy: new MockPolicyModel({ script }),
      executor,
      modes: createMiniTaskModes().slice(0, 1) as never,
      settings: { seed: 1, batchSize: 2, learnabilityRollouts: 3, solveRollouts: 6 },
    });
    const { solutions } = await trainer.runStep();
    const literals = executor.calls.filter((call) => call.method === 'evaluateLiteral');
    const solveTasks = new Set(solutions.map((solution) => solution.promptId)).size;
    expect(solutions).toHaveLength(6 * solveTasks);
    expect(solutions.every((solution) => solution.completion.text === '5')).toBe(true);
    // One call per solve task and one per proposal's learnability rollouts (the step's new task, x+1 on 5).
    expect(literals.length).toBe(solveTasks + 1);
    expect(solutions.filter((solution) => solution.correct).length).toBe(
      6 *
        solutions.filter(
          (solution, index) => index % 6 === 0 && (solution.task as DeductionTask).output === '5',
        ).length,
    );
  });

  it('let the trainer reject proposals that rewrite a known task, when asked', async () => {
    // Every proposer rewrites the seed: x+0 on 5 computes what x on 5 does.
    const script = (prompt: string) =>
      prompt.startsWith('#IP') ? '1,4,7,0,9,2' : prompt.startsWith('#') && prompt[2] === 'P' ? 'x+0;5' : '5';
    const statuses = async (rejectDuplicates: boolean) => {
      const trainer = createSelfPlayTrainer({
        policy: new MockPolicyModel({ script }),
        executor: new MockExecutor(),
        modes: createMiniTaskModes() as never,
        settings: { seed: 1, batchSize: 2, learnabilityRollouts: 2, rejectDuplicates },
      });
      const result = await trainer.runStep();
      return result.proposals.map((proposal) =>
        `${proposal.mode} ${proposal.status} ${proposal.reason ?? ''}`.trim(),
      );
    };
    expect(await statuses(false)).toEqual([
      'deduction valid',
      'deduction valid',
      'abduction valid',
      'abduction valid',
      'induction valid',
      'induction valid',
    ]);
    const duplicate = 'invalid a duplicate: the buffer already holds this task';
    expect(await statuses(true)).toEqual([
      `deduction ${duplicate}`,
      `deduction ${duplicate}`,
      `abduction ${duplicate}`,
      `abduction ${duplicate}`,
      // The seed's inputs and outputs: the identity on 1,4,7,0,9,2 is the seed induction task.
      `induction ${duplicate}`,
      `induction ${duplicate}`,
    ]);
  });

  it('are refused for a policy that cannot constrain its generation', () => {
    const policy = new MockPolicyModel();
    Object.defineProperty(policy, 'capabilities', {
      value: { ...policy.capabilities, constrainedDecoding: false },
    });
    expect(() =>
      createSelfPlayTrainer({ policy, executor: new MockExecutor(), modes: createMiniTaskModes() as never }),
    ).toThrow(ConfigError);
    const free = createSelfPlayTrainer({
      policy,
      executor: new MockExecutor(),
      modes: createMiniTaskModes({ constrained: false }) as never,
    });
    expect(free.step).toBe(0);
  });
});

describe('the mini curriculum', () => {
  it('allows one more operator every stepsPerOperator steps, up to the language bound', () => {
    const curriculum = { startOperators: 1, stepsPerOperator: 200 };
    expect([1, 200, 201, 400, 401, 10_000].map((step) => miniOperatorLimit(curriculum, step))).toEqual([
      1, 1, 2, 2, 3, 3,
    ]);
    expect(miniOperatorLimit(undefined, 1)).toBe(3);
    expect(miniOperatorLimit(curriculum, undefined)).toBe(3);
  });

  it('holds proposals to it while they are generated, and nothing else', () => {
    const [deduction, abduction, induction] = createMiniTaskModes({
      curriculum: { startOperators: 0, stepsPerOperator: 10 },
    });
    // The longest proposal a constraint lets through: operands and operators while any is allowed.
    const longest = (constraint: GenerationConstraintV1 | undefined) => {
      if (constraint === undefined) throw new Error('no constraint');
      let state = constraint.initialState('');
      let text = '';
      for (;;) {
        const allowed = (constraint.allowedTokenIds(state) ?? []).map((id) => bytes.decode([id]));
        const next = allowed.includes('+')
          ? '+'
          : allowed.includes('x')
            ? 'x'
            : allowed.includes(';')
              ? ';'
              : allowed[0];
        if (next === undefined) return text;
        text += next;
        state = constraint.advance(state, next.charCodeAt(0));
      }
    };
    for (const mode of [deduction, abduction]) {
      expect(longest(mode.constraint?.('propose', bytes, { step: 1 }))).toBe('x;0');
      expect(longest(mode.constraint?.('propose', bytes, { step: 11 }))).toBe('x+x;0');
      expect(longest(mode.constraint?.('propose', bytes, { step: 31 }))).toBe('x+x+x+x;0');
      // Without a step (evaluation), the whole language; the parser always reads the whole language.
      expect(longest(mode.constraint?.('propose', bytes))).toBe('x+x+x+x;0');
      expect(
        mode.parseProposal('x+x+x;4', { language: 'javascript', references: [], bannedWords: [], format }),
      ).toMatchObject({ ok: true });
    }
    // The induction solver writes any expression at any step, unless its answers follow the curriculum.
    expect(longest(induction.constraint?.('solve', bytes, { step: 1 }))).toBe('x+x+x+x');
    const following = (inductionReadsInput: boolean) =>
      createMiniTaskModes({
        curriculum: { startOperators: 1, stepsPerOperator: 10 },
        inductionAnswersFollowCurriculum: true,
        inductionReadsInput,
      })[2];
    for (const mode of [following(false), following(true)]) {
      expect(longest(mode.constraint?.('solve', bytes, { step: 1 }))).toBe('x+x');
      expect(longest(mode.constraint?.('solve', bytes, { step: 11 }))).toBe('x+x+x');
      expect(longest(mode.constraint?.('solve', bytes, { step: 21 }))).toBe('x+x+x+x');
      expect(longest(mode.constraint?.('solve', bytes))).toBe('x+x+x+x');
      expect(mode.parseAnswer('x+x+x', { language: 'javascript' } as never, { format })).toMatchObject({
        ok: true,
      });
    }
    // With inductionReadsInput too, a one-operator answer to outputs that differ must read x.
    const varying = '#IS\nf(1)=3\nf(2)=4\nf(3)=5\nf(x)=';
    const walk = (mode: typeof induction, text: string) => {
      const constraint = mode.constraint?.('solve', bytes, { step: 1 }) as GenerationConstraintV1;
      let state = constraint.initialState(varying);
      for (const character of text) {
        if (!(constraint.allowedTokenIds(state) ?? []).includes(character.charCodeAt(0))) return 'refused';
        state = constraint.advance(state, character.charCodeAt(0));
      }
      return constraint.isComplete(state) ? 'complete' : 'open';
    };
    expect(walk(following(true), '3+x')).toBe('complete');
    expect(walk(following(true), '3+4')).toBe('refused');
    expect(walk(following(false), '3+4')).toBe('complete');
    expect(walk(following(true), '3+x+')).toBe('refused');
    // Without a curriculum there is nothing to follow.
    const [, , unbounded] = createMiniTaskModes({ inductionAnswersFollowCurriculum: true });
    expect(longest(unbounded.constraint?.('solve', bytes, { step: 1 }))).toBe('x+x+x+x');
    expect(() => createMiniTaskModes({ curriculum: { startOperators: 4, stepsPerOperator: 10 } })).toThrow(
      ConfigError,
    );
    expect(() => createMiniTaskModes({ curriculum: { startOperators: 1, stepsPerOperator: 0 } })).toThrow(
      ConfigError,
    );
  });
});

describe('the mini random proposers (the proposer: random ablation)', () => {
  const draws = (
    seed: number,
    count: number,
    draw: (random: ReturnType<typeof createSeededRandom>) => string,
  ) => {
    const random = createSeededRandom(seed);
    return Array.from({ length: count }, () => draw(random));
  };

  it('draw proposals of the grammar, every size up to the limit and none above it, the same for a seed', () => {
    for (const limit of [0, 1, 2, 3]) {
      const words = draws(limit, 400, (random) => sampleMiniProposal(random, limit));
      const sizes = new Set<number>();
      for (const word of words) {
        expect(automatonAccepts(proposalAutomaton(limit + 1), word), word).toBe(true);
        expect(automatonAccepts(PROPOSAL_AUTOMATON, word), word).toBe(true);
        sizes.add(miniOperatorCount(word.split(';')[0] as string));
      }
      // Sizes are drawn uniformly in 0..limit: over 400 draws each one occurs.
      expect([...sizes].sort()).toEqual(Array.from({ length: limit + 1 }, (_, size) => size));
      expect(new Set(words.map((word) => word.split(';')[1])).size).toBe(10);
    }
    expect(draws(7, 50, (random) => sampleMiniProposal(random, 3))).toEqual(
      draws(7, 50, (random) => sampleMiniProposal(random, 3)),
    );
    expect(draws(7, 50, (random) => sampleMiniProposal(random, 3))).not.toEqual(
      draws(8, 50, (random) => sampleMiniProposal(random, 3)),
    );
  });

  it('draw induction inputs: the required number of different digits, the same for a seed', () => {
    for (const count of [2, 6, 10]) {
      for (const word of draws(count, 200, (random) => sampleMiniInputList(random, count))) {
        expect(automatonAccepts(inputListAutomaton(count), word), word).toBe(true);
        expect(new Set(word.split(',')).size).toBe(count);
      }
    }
    expect(draws(3, 20, (random) => sampleMiniInputList(random, 6))).toEqual(
      draws(3, 20, (random) => sampleMiniInputList(random, 6)),
    );
    // Every digit turns up in every place.
    const firsts = new Set(draws(4, 300, (random) => sampleMiniInputList(random, 6)).map((word) => word[0]));
    expect(firsts.size).toBe(10);
  });

  it('are what the modes sample: proposals their parsers read, within the curriculum at the step', () => {
    const modes = createMiniTaskModes({
      curriculum: { startOperators: 0, stepsPerOperator: 10 },
      inductionInputs: 5,
    });
    const [deduction, abduction, induction] = modes;
    const reference = {
      mode: 'induction',
      language: 'javascript',
      program: miniProgram('x*3', 'javascript'),
      entry: 'f',
      id: 'x*3',
      step: 0,
    } as TaskBase;
    const context = { language: 'javascript' as const, references: [reference], bannedWords: [], format };
    const random = createSeededRandom(11);
    for (const [step, limit] of [
      [1, 0],
      [11, 1],
      [21, 2],
      [500, 3],
    ] as const) {
      for (const mode of [deduction, abduction]) {
        const words = Array.from(
          { length: 100 },
          () => mode.sampleProposal?.(random, { ...context, step }) as string,
        );
        for (const word of words) {
          expect(mode.parseProposal(word, context), word).toMatchObject({ ok: true, wellFormed: true });
          expect(miniOperatorCount(word)).toBeLessThanOrEqual(limit);
        }
        expect(Math.max(...words.map(miniOperatorCount))).toBe(limit);
      }
      const inputs = induction.sampleProposal?.(random, { ...context, step }) as string;
      const parsed = induction.parseProposal(inputs, context);
      expect(parsed).toMatchObject({ ok: true, wellFormed: true });
      expect(parsed.ok && parsed.value.inputs).toHaveLength(5);
    }
  });
});

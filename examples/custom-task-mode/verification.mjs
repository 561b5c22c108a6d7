// A task mode of its own: verification. The proposer writes a program, an input and a claimed output, right or
// wrong; the solver says whether the claim holds. The sandbox runs the program once, when the task is made, and
// the truth of the claim is part of the task. It is one file, plugged into the trainer by adding it to the list
// of modes (see index.mjs).
import { extractAnswer, extractFencedBlocks, taskId } from '@azr/core';

const IDENTITY = {
  javascript: 'function f(a) {\n  return a;\n}',
  python: 'def f(a):\n    return a',
};

/** @param {string} completion @param {import('@azr/core').AnswerFormat} format */
function answerBlocks(completion, format) {
  const { answer, wellFormed } = extractAnswer(completion, format);
  return { answer, wellFormed, blocks: answer === undefined ? [] : extractFencedBlocks(answer) };
}

/**
 * @param {{ readonly name?: string }} [settings]
 * @returns {import('@azr/core').TaskModeV1}
 */
export function createVerificationMode(settings = {}) {
  const name = settings.name ?? 'verification';
  const task = (content, step) => ({ ...content, id: taskId(content), step });
  return {
    specificationVersion: 'v1',
    name,
    languages: ['javascript', 'python'],

    buildProposePrompt: ({ language, references, bannedWords, format }) =>
      [
        `Write a ${language} function f, one input for it, and a claim about what it returns: right or wrong, so`,
        'that checking the claim takes careful reasoning. Examples:',
        ...references.map(
          (reference) =>
            `f = ${reference.program}\ninput: ${reference.input}\nclaim: ${reference.claim} (${reference.holds ? 'true' : 'false'})`,
        ),
        `Do not use: ${bannedWords.join(', ')}.`,
        `Reason in <${format.reasoningTag}></${format.reasoningTag}>, then answer in <${format.answerTag}></${format.answerTag}> with a ` +
          `\`\`\`${language} block, an \`\`\`input block and a \`\`\`claim block.`,
      ].join('\n'),

    parseProposal(completion, { language, format }) {
      const { answer, wellFormed, blocks } = answerBlocks(completion, format);
      if (answer === undefined) return { ok: false, reason: 'no answer block', wellFormed };
      const block = (kind) => blocks.find((each) => each.language === kind)?.body.trim();
      const [program, input, claim] = [block(language), block('input'), block('claim')];
      if (!program || !input || !claim)
        return { ok: false, reason: `needs ${language}, input and claim blocks`, wellFormed };
      return { ok: true, value: { program, input, claim }, wellFormed };
    },

    async validateProposal({ program, input, claim }, executor, { language, step }) {
      const run = await executor.validateProgram({ code: program, entry: 'f', argsList: [input] });
      if (!run.ok) return { ok: false, reason: `${run.error.kind}: ${run.error.message}` };
      const claimed = await executor.evaluateLiteral(claim);
      if (!claimed.ok) return { ok: false, reason: `the claim is not a value: ${claimed.error.message}` };
      const content = {
        mode: name,
        language,
        program,
        entry: 'f',
        input,
        claim,
        holds: claimed.value === run.outputs[0],
      };
      return { ok: true, task: task(content, step) };
    },

    buildSolvePrompt: (each, { format }) =>
      `f = ${each.program}\nDoes f(${each.input}) return ${each.claim}? Reason in <${format.reasoningTag}></${format.reasoningTag}>, ` +
      `then answer yes or no in <${format.answerTag}></${format.answerTag}>.`,

    parseAnswer(completion, _task, { format }) {
      const { answer, wellFormed } = answerBlocks(completion, format);
      const word = answer?.trim().toLowerCase();
      if (word !== 'yes' && word !== 'no')
        return { ok: false, reason: 'the answer is neither yes nor no', wellFormed };
      return { ok: true, value: word === 'yes', wellFormed };
    },

    // The sandbox judged the claim when the task was made; an answer is right when it agrees.
    checkAnswer: async (each, holds) =>
      holds === each.holds
        ? { correct: true }
        : { correct: false, reason: `the claim ${each.holds ? 'holds' : 'fails'}` },

    // The identity on "Hello world", claimed right and claimed wrong.
    seedTasks: (language) =>
      [
        ["'Hello world'", true],
        ["'hello world'", false],
      ].map(([claim, holds]) =>
        task(
          {
            mode: name,
            language,
            program: IDENTITY[language],
            entry: 'f',
            input: "'Hello world'",
            claim,
            holds,
          },
          0,
        ),
      ),

    // Stored tasks (buffers, checkpoints) are read back through the mode, which checks its own fields.
    readTask({ record, string, fail }) {
      if (typeof record.holds !== 'boolean') fail('"holds" must be true or false');
      return { input: string('input'), claim: string('claim'), holds: record.holds };
    },
  };
}

// Generates the held-out evaluation suites of the mini language (packages/cli/suites/mini-<language>.jsonl),
// once, from a fixed seed: `npm run generate:suites -w @azr/cli` (after `npx turbo run build`). The outputs
// are computed by the real executor of each language. Training never proposes these tasks (the mini modes
// reject them as held-out), so the suite measures what self-play taught, not what it saw.
//
// Layout: for deduction and abduction, 15 tasks at each difficulty 0-3 (the program's operator count), each
// a program and one digit, drawn uniformly (operands are x half of the time); for induction, 15 programs at
// each difficulty 1-3, with 6 different digits, 3 pairs shown (difficulty 0, `x` or a constant, is left out:
// holding those programs out would forbid the identity the loop starts from, and for the same reason no
// induction program computes a constant or the identity). No task repeats another by what it computes.
import { writeFile } from 'node:fs/promises';
import {
  createSeededRandom,
  miniBehavior,
  miniOperatorCount,
  miniProgram,
  sampleMiniExpression,
} from '@azr/core';
import { createJavaScriptExecutor, createPythonExecutor } from '@azr/executor';

const SEED = 20_261_129;
const PER_LEVEL = 15;
const INDUCTION_INPUTS = 6;
const INDUCTION_SHOWN = 3;

async function generate(language) {
  const executor =
    language === 'python' ? createPythonExecutor({ workers: 1 }) : createJavaScriptExecutor({ workers: 1 });
  const random = createSeededRandom(SEED);
  const lines = [];
  // Tasks compare by what their programs compute, as the mini modes' held-out check does. The seed task (the
  // identity on 5) is what every run starts from, so it cannot be held out.
  const used = new Set([`${miniBehavior('x')};5`]);
  const run = async (expression, input) => {
    const result = await executor.run({ code: miniProgram(expression, language), entry: 'f', args: input });
    if (!result.ok) throw new Error(`${expression} on ${input}: ${result.error.message}`);
    return result.value;
  };
  try {
    for (const mode of ['deduction', 'abduction']) {
      for (let level = 0; level <= 3; level += 1) {
        let made = 0;
        while (made < PER_LEVEL) {
          const expression = sampleMiniExpression(random, level);
          const input = String(random.nextInt(0, 9));
          const key = `${miniBehavior(expression)};${input}`;
          if (used.has(key)) continue;
          used.add(key);
          const output = await run(expression, input);
          lines.push({
            mode,
            language,
            difficulty: miniOperatorCount(expression),
            code: miniProgram(expression, language),
            input,
            output,
          });
          made += 1;
        }
      }
    }
    const programs = new Set();
    for (let level = 1; level <= 3; level += 1) {
      let made = 0;
      while (made < PER_LEVEL) {
        const expression = sampleMiniExpression(random, level);
        const behaviour = miniBehavior(expression);
        // A held-out induction function is forbidden to training on every input, so it must be neither a
        // constant nor the identity (written with operators, as 3*9 or x*1): those are the easiest tasks there are.
        if (programs.has(behaviour) || new Set(behaviour).size === 1 || behaviour === miniBehavior('x'))
          continue;
        programs.add(behaviour);
        const digits = [...'0123456789'];
        const inputs = [];
        while (inputs.length < INDUCTION_INPUTS)
          inputs.push(digits.splice(random.nextInt(0, digits.length - 1), 1)[0]);
        const outputs = [];
        for (const input of inputs) outputs.push(await run(expression, input));
        lines.push({
          mode: 'induction',
          language,
          difficulty: level,
          code: miniProgram(expression, language),
          inputs,
          outputs,
          shownCount: INDUCTION_SHOWN,
          message: '',
        });
        made += 1;
      }
    }
  } finally {
    await executor.close();
  }
  const path = new URL(`../suites/mini-${language}.jsonl`, import.meta.url);
  await writeFile(path, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
  process.stdout.write(`${lines.length} tasks written to ${path.pathname}\n`);
}

for (const language of ['javascript', 'python']) await generate(language);

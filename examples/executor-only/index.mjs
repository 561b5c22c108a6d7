// Only @azr/executor: check answers a model gave to "what does this program return?" and "which input gives
// this output?" questions, in the sandbox, comparing canonical values (so 1.0 and 1, or key order, do not
// matter, and NaN equals NaN).
import { createJavaScriptExecutor } from '@azr/executor';

const executor = createJavaScriptExecutor({ workers: 1, timeoutMs: 200 });
const program = 'function f(words) {\n  return words.map((word) => word.length).sort((a, b) => a - b);\n}';
const input = '["self", "play", "zero"]';

// The truth, and a proof that the program is deterministic (run twice in fresh state, results compared).
const validated = await executor.validateProgram({ code: program, argsList: [input] });
if (!validated.ok) throw new Error(validated.error.message);
const truth = validated.outputs[0];
console.log(`f(${input}) = ${truth}`);

// Output predictions (deduction answers), written as literals.
for (const answer of ['[4, 4, 4]', '[4.0, 4, 4]', '[3, 4, 4]', '[4, 4, 4', 'process.exit(1)']) {
  const value = await executor.evaluateLiteral(answer);
  const verdict = !value.ok ? `rejected (${value.error.kind})` : value.value === truth ? 'correct' : 'wrong';
  console.log(`predicted output ${answer}: ${verdict}`);
}

// Input guesses (abduction answers): run the program on the guess and compare with the output.
for (const guess of ['["abcd", "efgh", "ijkl"]', '["a"]', 'while (true) {}']) {
  const result = await executor.run({ code: program, args: guess });
  const verdict = !result.ok
    ? `rejected (${result.error.kind})`
    : result.value === truth
      ? 'correct'
      : 'wrong';
  console.log(`guessed input ${guess}: ${verdict}`);
}

// A program that escapes nothing: no process, no require, no network, bounded time.
const probe = await executor.run({
  code: 'function f() {\n  return typeof process + typeof require;\n}',
  args: '',
});
console.log(`sandbox sees: ${probe.ok ? probe.value : probe.error.kind}`);
await executor.close();

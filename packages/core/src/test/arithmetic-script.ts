import type { TaskLanguage } from '../spec/task-language.js';
import type { MockCompletionScript } from './mock-policy-model.js';

function hash(text: string): number {
  let value = 2166136261;
  for (let index = 0; index < text.length; index += 1) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 16777619) >>> 0;
  }
  return value;
}

function program(language: TaskLanguage, body: string): string {
  return language === 'python' ? `def f(a):\n    return ${body}` : `function f(a) {\n  return ${body};\n}`;
}

// The paper modes' prompts end inside an opened reasoning block (the R1 frame), so a completion continues it.
function answer(reasoning: string, content: string): string {
  return `${reasoning}</think>\n<answer>\n${content}\n</answer>`;
}

/**
 * A stateless script for {@link MockPolicyModel} that plays every role of the built-in task modes with small
 * arithmetic programs (`a * k + c`), deterministically from the prompt and its position in the batch: about
 * one proposal in ten breaks the format, one in ten is a program that fails, the rest are valid; solvers work
 * the answer out from the prompt and get it right about two times in three. So every (mode x role) group gets
 * varied rewards, which makes it fit for testing the trainer end to end. Stateless, so a resumed run replays
 * the same completions.
 */
export function createArithmeticScript(): MockCompletionScript {
  return (prompt, { promptIndex }) => {
    const language: TaskLanguage =
      prompt.includes('```python') || prompt.includes('Python') ? 'python' : 'javascript';
    const fence = language === 'python' ? 'python' : 'javascript';
    const seed = hash(prompt);
    const right = (seed + promptIndex) % 3 !== 0;
    if (prompt.includes('### Reference Code Snippets:')) {
      const variant = (seed + promptIndex) % 10;
      if (variant === 0) return 'I would write a function that adds numbers.';
      const k = 1 + ((seed >> 4) % 9);
      const c = (seed >> 8) % 10;
      const body = variant === 1 ? (language === 'python' ? 'a[5]' : 'a.b.c') : `a * ${k} + ${c}`;
      return answer(
        'A linear function.',
        `\`\`\`${fence}\n${program(language, body)}\n\`\`\`\n\`\`\`input\n${(seed >> 12) % 20}\n\`\`\``,
      );
    }
    if (prompt.includes('### Code Snippet:')) {
      const count = (seed + promptIndex) % 10 === 0 ? 3 : 10;
      const inputs = Array.from(
        { length: count },
        (_, index) => `\`\`\`input\n${index + 1 + ((seed >> 5) % 7)}\n\`\`\``,
      ).join('\n');
      return answer(
        'Small numbers show the pattern.',
        `${inputs}\n\`\`\`message\nA simple rule on numbers.\n\`\`\``,
      );
    }
    const linear = /return a \* (\d+) \+ (\d+)/.exec(prompt);
    const k = Number(linear?.[1] ?? 1);
    const c = Number(linear?.[2] ?? 0);
    const identity = linear === null;
    if (prompt.includes('# Input:\n')) {
      const input = /```input\n([^\n]*)\n```/.exec(prompt)?.[1] ?? '0';
      const value = identity ? input : String(Number(input) * k + c + (right ? 0 : 1));
      return answer('Compute it.', `\`\`\`output\n${identity && !right ? '"wrong"' : value}\n\`\`\``);
    }
    if (prompt.includes('# Output:\n')) {
      const output = /```output\n([^\n]*)\n```/.exec(prompt)?.[1] ?? '0';
      const value = identity ? output : String((Number(output) - c) / k + (right ? 0 : 1));
      return answer('Invert it.', `\`\`\`input\n${identity && !right ? '"wrong"' : value}\n\`\`\``);
    }
    // Induction solve: infer a line from the first two shown pairs.
    const pairs = [...prompt.matchAll(/```input_\d+\n([^\n]*)\n```\n```output_\d+\n([^\n]*)\n```/g)].map(
      (match) => [Number(match[1]), Number(match[2])],
    );
    const [first, second] = pairs;
    let body = 'a';
    if (first && second && Number.isFinite(first[1]) && second[0] !== first[0]) {
      const slope =
        ((second[1] as number) - (first[1] as number)) / ((second[0] as number) - (first[0] as number));
      const intercept = (first[1] as number) - slope * (first[0] as number);
      body = `a * ${slope} + ${intercept + (right ? 0 : 1)}`;
    }
    return answer('Fit a line.', `\`\`\`${fence}\n${program(language, body)}\n\`\`\``);
  };
}

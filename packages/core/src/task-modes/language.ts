import type { TaskLanguage } from '../spec/task-language.js';

/** What the prompts and parsers need to know about a task language. */
export interface LanguageSyntax {
  readonly language: TaskLanguage;
  /** How the prompts name it. */
  readonly displayName: string;
  /** The info string of its fenced code blocks. */
  readonly fence: string;
  /** Other info strings accepted for its code blocks. */
  readonly fenceAliases: readonly string[];
  /** Words a proposal must not use, shown to the proposer (the executor enforces the real policy). */
  readonly bannedWords: readonly string[];
}

export const LANGUAGE_SYNTAX: Readonly<Record<TaskLanguage, LanguageSyntax>> = {
  python: {
    language: 'python',
    displayName: 'Python',
    fence: 'python',
    fenceAliases: ['py', 'python3'],
    // The reference implementation's list.
    bannedWords: [
      'logging',
      'random',
      'multiprocessing',
      'pebble',
      'subprocess',
      'threading',
      'datetime',
      'time',
      'hashlib',
      'hmac',
      'bcrypt',
      'os.sys',
      'os.path',
      'sys.exit',
      'os.environ',
      'calendar',
    ],
  },
  javascript: {
    language: 'javascript',
    displayName: 'JavaScript',
    fence: 'javascript',
    fenceAliases: ['js', 'node'],
    bannedWords: [
      'Math.random',
      'Date.now',
      'new Date()',
      'eval',
      'Function',
      'require',
      'import',
      'process',
      'setTimeout',
      'Intl',
    ],
  },
};

/** Import lines of a Python program, which the reference places in front of an induction solver's code. */
export function pythonImports(program: string): string {
  return program
    .split('\n')
    .filter((line) => /^(import\s+\w|from\s+[\w.]+\s+import\s)/.test(line))
    .join('\n');
}

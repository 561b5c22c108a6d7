import type { TaskLanguage } from '../spec/task-language.js';

/** The name every deduction and abduction program's function has once a proposal is accepted. */
export const ENTRY_FUNCTION_NAME = 'f';

/**
 * The outcome of {@link applySingleFunctionRule}: the program to run (its function renamed to `f` when it had
 * another name, `renamedFrom` then naming the old one), or the reason it is rejected, written for a report.
 */
export type SingleFunctionResult =
  | { readonly ok: true; readonly program: string; readonly renamedFrom?: string }
  | { readonly ok: false; readonly reason: string };

/**
 * The reference's rule on a deduction or abduction proposal, applied before the program reaches the executor:
 * the program defines exactly one function, and that function is renamed to `f`.
 *
 * The reference (`parse_code_input_output` with `reject_multiple_functions=True`) counts every line that
 * starts, after any indentation, with `def name(`: nested helpers and class methods count, so a program with a
 * helper or a class with methods is rejected, and only single-function programs survive. It then renames the
 * function and every `name(` in the text to `f(`. This function does the same on tokens instead of lines,
 * which changes what is counted only where the reference's text match misreads the program:
 *
 * - **Python.** Counted: every `def` statement, `async def` included, at any depth (nested functions and
 *   methods too). Not counted: `lambda` (the reference allows it), and the word `def` inside a string or a
 *   comment: `x = "def g(): pass"` is one string, and a line that starts with `def g(` inside a triple-quoted
 *   string is text, not a function. (The reference counts the latter, since it reads lines; that is a
 *   departure, towards what the program defines.) A program is read with Python's string and comment rules
 *   (prefixes, triple quotes, escapes); it is not parsed, so a program that does not compile is left to the
 *   executor, which rejects it.
 * - **JavaScript.** The closest equivalent of a `def` is anything with a statement body: a `function` (a
 *   declaration or an expression, generators and `async` ones included), a method (`name(...) { ... }` in a
 *   class or an object literal, getters and setters included), and an arrow function with a block body
 *   (`(x) => { ... }`). An arrow function with an expression body (`(x) => x * 2`) is the equivalent of
 *   Python's `lambda` and, like it, is an allowed helper; it counts only when it is the program's function
 *   itself (`const g = (x) => x * 2;` at the top level). So a program and its line-by-line translation get
 *   the same verdict. Strings, template text, regular expression literals and comments are skipped; the code
 *   inside a template's `${...}` is read as code.
 *
 * The single function must be defined at the program's top level, with a name (`def g(`, `function g(`, or
 * `const g = ` bound to a function or an arrow function), and must not be `async` (its result would be a
 * promise or a coroutine, not a value); otherwise the program is rejected with the reason. (The reference
 * finds no `def` in an `async def` program, and fails on a method at execution, with the same verdict.)
 *
 * Renaming: the definition's name, and every call of that name (the name followed by `(`) outside strings
 * and comments, become `f`; a longer name that starts with the old one (`fib` and `fibonacci`) is another
 * name and is left alone, and so is an attribute or a method of another object (`s.count(` when the function
 * is `count`). As in the reference, a reference to the function that is not a call (`map(g, xs)`) is not
 * renamed: such a program then fails in the executor (a `NameError` or `ReferenceError`) and is rejected. Nor
 * is a call inside a Python f-string's replacement field, which is read as part of the string. A program
 * whose function is already `f` is returned unchanged.
 */
export function applySingleFunctionRule(program: string, language: TaskLanguage): SingleFunctionResult {
  const tokens = language === 'python' ? pythonTokens(program) : javascriptTokens(program);
  const definitions =
    language === 'python' ? pythonDefinitions(program, tokens) : javascriptDefinitions(tokens);
  const only = definitions[0];
  if (only === undefined) {
    return {
      ok: false,
      reason:
        language === 'python'
          ? 'no function definition (def); the program must define exactly one function'
          : 'no function definition; the program must define exactly one function (a function declaration, or an arrow function bound to a name at the top level)',
    };
  }
  if (definitions.length > 1) {
    return {
      ok: false,
      reason: `${definitions.length} function definitions (${definitions.map(labelOf).join(', ')}); the program must define exactly one`,
    };
  }
  if (!only.topLevel || only.name === undefined) {
    return {
      ok: false,
      reason: `its only function (${labelOf(only)}) is not defined by name at the top level of the program (it is nested, a method, or anonymous), so it cannot be called as ${ENTRY_FUNCTION_NAME}`,
    };
  }
  if (only.async) {
    return {
      ok: false,
      reason: `its only function (${labelOf(only)}) is async: it would return a ${language === 'python' ? 'coroutine' : 'promise'}, not a value`,
    };
  }
  const oldName = only.name.text;
  if (oldName === ENTRY_FUNCTION_NAME) return { ok: true, program };
  const renamed = [only.name];
  for (const [index, token] of tokens.entries()) {
    if (
      token !== only.name &&
      token.kind === 'name' &&
      token.text === oldName &&
      tokens[index + 1]?.text === '(' &&
      !ATTRIBUTE_ACCESS.has(tokens[index - 1]?.text ?? '')
    ) {
      renamed.push(token);
    }
  }
  let result = program;
  for (const token of renamed.sort((first, second) => second.start - first.start)) {
    result =
      result.slice(0, token.start) + ENTRY_FUNCTION_NAME + result.slice(token.start + token.text.length);
  }
  return { ok: true, program: result, renamedFrom: oldName };
}

interface Token {
  readonly kind: 'name' | 'string' | 'number' | 'regex' | 'punctuator';
  readonly text: string;
  readonly start: number;
}

/** One function the program defines. */
interface Definition {
  /** The name token to rename: the function's own name, or the name it is bound to (`const g = ...`). */
  readonly name: Token | undefined;
  /** What a reason calls it when it has no name. */
  readonly kind: string;
  readonly topLevel: boolean;
  readonly async: boolean;
}

function labelOf(definition: Definition): string {
  return definition.name?.text ?? definition.kind;
}

const ATTRIBUTE_ACCESS = new Set(['.', '?.']);

// --- Python ----------------------------------------------------------------------------------------------

const PYTHON_NAME = /[\p{ID_Start}_][\p{ID_Continue}]*/uy;
const PYTHON_STRING_PREFIX = /^(?:[rubf]|br|rb|fr|rf)$/i;
const NUMBER = /(?:\d[\w]*(?:\.[\w]*)?|\.\d[\w]*)(?:(?<=[eE])[+-]\d[\w]*)?/uy;

function stickyMatch(pattern: RegExp, source: string, index: number): string | undefined {
  pattern.lastIndex = index;
  return pattern.exec(source)?.[0];
}

/**
 * Where a string that opens at `start` (its first quote) ends; at the end of the line if unclosed. Python's
 * triple quotes (`tripleQuotes`) span lines.
 */
function quotedStringEnd(source: string, start: number, tripleQuotes: boolean): number {
  const quote = source[start] as string;
  const triple = tripleQuotes && source.startsWith(quote.repeat(3), start);
  let index = start + (triple ? 3 : 1);
  while (index < source.length) {
    const character = source[index];
    if (character === '\\') {
      index += 2;
    } else if (triple) {
      if (source.startsWith(quote.repeat(3), index)) return index + 3;
      index += 1;
    } else if (character === quote) {
      return index + 1;
    } else if (character === '\n') {
      return index;
    } else {
      index += 1;
    }
  }
  return source.length;
}

function pythonTokens(source: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < source.length) {
    const character = source[index] as string;
    if (character === '#') {
      const end = source.indexOf('\n', index);
      index = end === -1 ? source.length : end;
    } else if (
      /\s/u.test(character) ||
      (character === '\\' && /^\\\r?\n/u.test(source.slice(index, index + 3)))
    ) {
      index += 1;
    } else if (character === '"' || character === "'") {
      const end = quotedStringEnd(source, index, true);
      tokens.push({ kind: 'string', text: source.slice(index, end), start: index });
      index = end;
    } else {
      const name = stickyMatch(PYTHON_NAME, source, index);
      if (name !== undefined) {
        const next = source[index + name.length];
        if (PYTHON_STRING_PREFIX.test(name) && (next === '"' || next === "'")) {
          const end = quotedStringEnd(source, index + name.length, true);
          tokens.push({ kind: 'string', text: source.slice(index, end), start: index });
          index = end;
        } else {
          tokens.push({ kind: 'name', text: name, start: index });
          index += name.length;
        }
        continue;
      }
      const number = stickyMatch(NUMBER, source, index);
      const text = number ?? character;
      tokens.push({ kind: number === undefined ? 'punctuator' : 'number', text, start: index });
      index += text.length;
    }
  }
  return tokens;
}

function pythonDefinitions(source: string, tokens: readonly Token[]): Definition[] {
  const definitions: Definition[] = [];
  for (const [index, token] of tokens.entries()) {
    const name = tokens[index + 1];
    if (token.kind !== 'name' || token.text !== 'def' || name?.kind !== 'name') continue;
    const previous = tokens[index - 1];
    const isAsync = previous?.kind === 'name' && previous.text === 'async';
    const first = isAsync ? previous : token;
    definitions.push({
      name,
      kind: 'a function',
      topLevel: first.start === 0 || source[first.start - 1] === '\n',
      async: isAsync,
    });
  }
  return definitions;
}

// --- JavaScript ------------------------------------------------------------------------------------------

const JAVASCRIPT_NAME = /[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/uy;
const JAVASCRIPT_PUNCTUATOR =
  /=>|\?\.(?!\d)|\.\.\.|[=!]==?|\*\*=?|&&=?|\|\|=?|\?\?=?|<<=?|>>>?=?|[<>]=?|\+\+|--|[-+*%&|^]=?|[^\s]/uy;
/** Words after which a `/` starts a regular expression rather than a division. */
const BEFORE_EXPRESSION = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);
/** Words followed by a parenthesis and a block that are statements, not methods. */
const CONTROL_WORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'with', 'function']);

function regexAllowedAfter(previous: Token | undefined): boolean {
  if (previous === undefined) return true;
  switch (previous.kind) {
    case 'name':
      return BEFORE_EXPRESSION.has(previous.text);
    case 'punctuator':
      return ![')', ']', '}', '++', '--'].includes(previous.text);
    default:
      return false;
  }
}

/** Where a template's text that starts at `start` ends, and whether it ends at a `${` (or at the closing backtick). */
function templateEnd(source: string, start: number): { end: number; opensExpression: boolean } {
  let index = start;
  while (index < source.length) {
    if (source[index] === '\\') {
      index += 2;
    } else if (source[index] === '`') {
      return { end: index + 1, opensExpression: false };
    } else if (source.startsWith('${', index)) {
      return { end: index, opensExpression: true };
    } else {
      index += 1;
    }
  }
  return { end: source.length, opensExpression: false };
}

/** Where a regular expression literal that opens at `start` ends (flags included), or `undefined` if unclosed. */
function regexEnd(source: string, start: number): number | undefined {
  let index = start + 1;
  let inClass = false;
  while (index < source.length && source[index] !== '\n') {
    const character = source[index];
    if (character === '\\') {
      index += 2;
      continue;
    }
    if (character === '[') inClass = true;
    else if (character === ']') inClass = false;
    else if (character === '/' && !inClass) {
      return index + 1 + (stickyMatch(JAVASCRIPT_NAME, source, index + 1)?.length ?? 0);
    }
    index += 1;
  }
  return undefined;
}

function javascriptTokens(source: string): Token[] {
  const tokens: Token[] = [];
  // Open braces, and which of them are a template's `${`: its `}` goes back to the template's text.
  const braces: ('{' | '${')[] = [];
  let index = 0;
  const pushTemplateText = (start: number): void => {
    const { end, opensExpression } = templateEnd(source, start);
    tokens.push({ kind: 'string', text: source.slice(start, end), start });
    index = end;
    if (opensExpression) {
      tokens.push({ kind: 'punctuator', text: '${', start: end });
      braces.push('${');
      index = end + 2;
    }
  };
  while (index < source.length) {
    const character = source[index] as string;
    const regex = character === '/' && regexAllowedAfter(tokens.at(-1)) ? regexEnd(source, index) : undefined;
    if (source.startsWith('//', index)) {
      const end = source.indexOf('\n', index);
      index = end === -1 ? source.length : end;
    } else if (source.startsWith('/*', index)) {
      const end = source.indexOf('*/', index + 2);
      index = end === -1 ? source.length : end + 2;
    } else if (/\s/u.test(character)) {
      index += 1;
    } else if (character === '"' || character === "'") {
      const end = quotedStringEnd(source, index, false);
      tokens.push({ kind: 'string', text: source.slice(index, end), start: index });
      index = end;
    } else if (character === '`') {
      pushTemplateText(index + 1);
    } else if (character === '}' && braces.at(-1) === '${') {
      braces.pop();
      tokens.push({ kind: 'punctuator', text: '}', start: index });
      pushTemplateText(index + 1);
    } else if (regex !== undefined) {
      tokens.push({ kind: 'regex', text: source.slice(index, regex), start: index });
      index = regex;
    } else {
      const name = stickyMatch(JAVASCRIPT_NAME, source, index);
      const number = name === undefined ? stickyMatch(NUMBER, source, index) : undefined;
      const text = name ?? number ?? (stickyMatch(JAVASCRIPT_PUNCTUATOR, source, index) as string);
      const kind = name !== undefined ? 'name' : number !== undefined ? 'number' : 'punctuator';
      if (kind === 'punctuator' && text === '{') braces.push('{');
      if (kind === 'punctuator' && text === '}') braces.pop();
      tokens.push({ kind, text, start: index });
      index += text.length;
    }
  }
  return tokens;
}

const OPENERS = new Set(['(', '[', '{', '${']);
const CLOSERS = new Set([')', ']', '}']);

function javascriptDefinitions(tokens: readonly Token[]): Definition[] {
  // The bracket depth of every token (0: the program's top level), and each closing bracket's opening one.
  const depths: number[] = [];
  const openerOf = new Map<number, number>();
  const closerOf = new Map<number, number>();
  const open: number[] = [];
  for (const [index, token] of tokens.entries()) {
    if (token.kind === 'punctuator' && CLOSERS.has(token.text)) {
      const opener = open.pop();
      depths.push(open.length);
      if (opener !== undefined) {
        openerOf.set(index, opener);
        closerOf.set(opener, index);
      }
    } else {
      depths.push(open.length);
      if (token.kind === 'punctuator' && OPENERS.has(token.text)) open.push(index);
    }
  }
  const is = (index: number, text: string, kind: Token['kind'] = 'punctuator'): boolean =>
    tokens[index]?.kind === kind && tokens[index]?.text === text;
  // `const g = ` (or let, var) just before `start`: the name the function is bound to.
  const boundName = (start: number): Token | undefined => {
    const name = tokens[start - 2];
    const declaration = tokens[start - 3];
    return is(start - 1, '=') &&
      name?.kind === 'name' &&
      declaration?.kind === 'name' &&
      ['const', 'let', 'var'].includes(declaration.text)
      ? name
      : undefined;
  };

  const definitions: Definition[] = [];
  for (const [index, token] of tokens.entries()) {
    if (
      token.kind === 'name' &&
      token.text === 'function' &&
      !ATTRIBUTE_ACCESS.has(tokens[index - 1]?.text ?? '')
    ) {
      const isAsync = is(index - 1, 'async', 'name');
      const ownNameIndex = is(index + 1, '*') ? index + 2 : index + 1;
      const ownName = tokens[ownNameIndex]?.kind === 'name' ? tokens[ownNameIndex] : undefined;
      definitions.push({
        name: ownName ?? boundName(isAsync ? index - 1 : index),
        kind: 'an anonymous function',
        topLevel: depths[index] === 0,
        async: isAsync,
      });
    } else if (is(index, '(') && closerOf.has(index) && is((closerOf.get(index) as number) + 1, '{')) {
      // `name(...) {` outside a statement: a method (in a class or an object literal), getters included.
      const before = tokens[index - 1];
      // Not a function's own name (counted with its keyword), nor a call in `class A extends mixin(B) {`.
      const isFunctionName =
        is(index - 2, 'function', 'name') ||
        is(index - 2, 'extends', 'name') ||
        (is(index - 2, '*') && is(index - 3, 'function', 'name'));
      if (
        before !== undefined &&
        !isFunctionName &&
        ((before.kind === 'name' && !CONTROL_WORDS.has(before.text)) ||
          before.kind === 'string' ||
          is(index - 1, ']'))
      ) {
        const isAsync = is(index - 2, 'async', 'name');
        definitions.push({
          name: undefined,
          kind: `a method${before.kind === 'name' ? ` ${before.text}` : ''}`,
          topLevel: false,
          async: isAsync,
        });
      }
    } else if (is(index, '=>')) {
      const parameters = is(index - 1, ')') ? (openerOf.get(index - 1) ?? index - 1) : index - 1;
      const isAsync = is(parameters - 1, 'async', 'name');
      const name = depths[index] === 0 ? boundName(isAsync ? parameters - 1 : parameters) : undefined;
      if (is(index + 1, '{') || name !== undefined) {
        definitions.push({ name, kind: 'an arrow function', topLevel: name !== undefined, async: isAsync });
      }
    }
  }
  return definitions;
}

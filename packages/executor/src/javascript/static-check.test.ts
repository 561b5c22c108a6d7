import { describe, expect, it } from 'vitest';
import {
  assignsInSloppyCode,
  checkArguments,
  checkEntry,
  checkLiteral,
  programParses,
  usesDynamicImport,
} from './static-check.js';

describe('static checks', () => {
  it('accepts an argument list and nothing else: no closing the call early, no assignments', () => {
    for (const args of [
      '',
      '1, 2',
      "'a(b)', [1, 2]",
      'x => x + 1',
      '(1), (2)',
      '...[1, 2], 3,',
      '`t`',
      '0 // )',
    ]) {
      expect(checkArguments(args), args).toEqual({ ok: true });
    }
    for (const args of ['0), ("hacked"', '1); (2', ')(', '1, 2) + (3']) {
      expect(checkArguments(args), args).toMatchObject({ ok: false, error: { kind: 'syntax' } });
    }
    for (const args of ['(g = () => 42, 1)', 'x += 1', '[i++]', '() => { g = 1; }', '({ a } = { a: 1 })']) {
      expect(checkArguments(args), args).toMatchObject({
        ok: false,
        error: { kind: 'syntax', message: 'assignments are not allowed in arguments' },
      });
    }
  });

  it('accepts value literals only', () => {
    for (const literal of [
      '1',
      '-2.5',
      '"text"',
      '`plain`',
      '[1, [2, null]]',
      "{ a: 1, 'b c': [true] }",
      'new Set([1, 2])',
      'new Map([[1, "a"]])',
      'undefined',
      '-Infinity',
      '10n',
    ]) {
      expect(checkLiteral(literal), literal).toEqual({ ok: true });
    }
    for (const literal of [
      'f()',
      'a',
      '1 + 2',
      '[...x]',
      '{ [key]: 1 }',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a template with a substitution, as a solver might write.
      '`${x}`',
      '(() => 1)()',
      '1), (2',
      'new Date(0)',
      'process.exit()',
    ]) {
      expect(checkLiteral(literal).ok, literal).toBe(false);
    }
    expect(checkLiteral('[1, 2')).toMatchObject({ ok: false, error: { kind: 'syntax' } });
    expect(checkLiteral('globalThis')).toMatchObject({ ok: false, error: { kind: 'policy' } });
  });

  it('accepts identifier entry names only', () => {
    expect(checkEntry('solve_2')).toEqual({ ok: true });
    expect(checkEntry('f; process')).toMatchObject({ ok: false, error: { kind: 'syntax' } });
  });

  it('finds dynamic import, and only real ones', () => {
    expect(usesDynamicImport('function f() { return import("fs"); }')).toBe(true);
    expect(usesDynamicImport('function f() { return "import(x)"; } // import(y)')).toBe(false);
    expect(usesDynamicImport('function f() { return 1; }')).toBe(false);
  });

  it('tells whether a program parses on its own', () => {
    expect(programParses('function f(a) {\n  return a;\n}')).toBe(true);
    expect(programParses('function f(a) {\n  return a +;\n}')).toBe(false);
  });

  it('finds assignments to a name in sloppy code only', () => {
    for (const code of [
      'function f() { i = 0; }',
      'function f() { for (i = 0; i < 3; i++) {} }',
      'function f() { i += 1; }',
      'function f() { i++; }',
      'function f(s) { for (i of s) {} }',
      'function f(o) { for (i in o) {} }',
      'function f() { [a, i] = [1, 2]; }',
      'function f() { ({ x: i } = { x: 1 }); }',
      'function g() { "use strict"; }\nfunction f() { i = 1; }',
    ]) {
      expect(assignsInSloppyCode(code, 'i'), code).toBe(true);
    }
    for (const code of [
      'function f() { return i; }',
      'function f() { o.i = 1; }',
      '"use strict";\nfunction f() { i = 0; }',
      'function f() { "use strict"; i = 0; }',
      'class C { m() { i = 0; } }',
      'function f() { return i == 1; }',
      'function f() { j = 1; }',
      'function f( {',
    ]) {
      expect(assignsInSloppyCode(code, 'i'), code).toBe(false);
    }
  });
});

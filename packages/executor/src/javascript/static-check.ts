import type { ExecutionFailure } from '@azr/core/spec';
import { type Node, parse } from 'acorn';

/** The outcome of a static check: nothing to object to, or a failure to report as is. */
export type StaticCheck = { readonly ok: true } | { readonly ok: false; readonly error: ExecutionFailure };

const PASS: StaticCheck = { ok: true };

function fail(kind: ExecutionFailure['kind'], message: string): StaticCheck {
  return { ok: false, error: { kind, message } };
}

interface AnyNode extends Node {
  readonly [key: string]: unknown;
}

function parseScript(source: string): AnyNode | string {
  try {
    return parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      allowReturnOutsideFunction: true,
    }) as unknown as AnyNode;
  } catch (error) {
    return `SyntaxError: ${(error as Error).message}`;
  }
}

function isNode(value: unknown): value is AnyNode {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

/**
 * Whether a program parses as a script. Only used to tell, after a syntax failure, whether the program or
 * its arguments were at fault: the sandbox itself compiles every program.
 */
export function programParses(code: string): boolean {
  return typeof parseScript(code) !== 'string';
}

/**
 * Whether a source uses dynamic `import()`, which isolated-vm refuses from outside the sandbox's reach (the
 * call would fail the whole isolate instead of throwing inside it). A cheap text test first; the syntax tree
 * decides, so a string or a comment that mentions import( is not mistaken for one.
 */
export function usesDynamicImport(source: string): boolean {
  if (!/\bimport\s*\(/.test(source)) return false;
  const tree = parseScript(source);
  return typeof tree !== 'string' && someNode([tree], (node) => node.type === 'ImportExpression');
}

/** Whether any node of the trees under `roots` (the roots included) satisfies `test`. */
function someNode(roots: readonly AnyNode[], test: (node: AnyNode) => boolean): boolean {
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop() as AnyNode;
    if (test(node)) return true;
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) stack.push(item);
      } else if (isNode(value)) {
        stack.push(value);
      }
    }
  }
  return false;
}

/** What an argument list needs before it can close the call early or assign: a parenthesis, `=`, `++`/`--`, a template. */
const ARGUMENT_HAZARD = /[()=`]|\+\+|--/;

/**
 * Checks that a source is an argument list and nothing else: the arguments of a call (`f(args)`), so that it
 * cannot close the call and go on (`0), ("anything"` made any program return anything), and without
 * assignments (`=`, compound assignments, `++`/`--`), which would rebind the program's own names before the
 * call. The sandbox compiles the call with the program; this check runs first.
 */
export function checkArguments(args: string): StaticCheck {
  if (!ARGUMENT_HAZARD.test(args)) return PASS;
  const source = `_(\n${args}\n)`;
  const tree = parseScript(source);
  if (typeof tree === 'string') return fail('syntax', `the arguments do not parse: ${tree}`);
  const body = tree.body as AnyNode[];
  const call = body.length === 1 && body[0]?.type === 'ExpressionStatement' ? body[0].expression : undefined;
  if (
    !isNode(call) ||
    call.type !== 'CallExpression' ||
    !isNode(call.callee) ||
    call.callee.type !== 'Identifier' ||
    call.callee.name !== '_' ||
    call.start !== 0 ||
    call.end !== source.length
  ) {
    return fail('syntax', 'the arguments are not an argument list');
  }
  const assigns = someNode(
    call.arguments as AnyNode[],
    (node) => node.type === 'AssignmentExpression' || node.type === 'UpdateExpression',
  );
  return assigns ? fail('syntax', 'assignments are not allowed in arguments') : PASS;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Checks the name of the entry function. */
export function checkEntry(entry: string): StaticCheck {
  return IDENTIFIER.test(entry) ? PASS : fail('syntax', `"${entry}" is not a function name`);
}

const LITERAL_IDENTIFIERS = new Set(['undefined', 'NaN', 'Infinity']);

function isLiteralNode(node: AnyNode): boolean {
  switch (node.type) {
    case 'Literal':
      return true;
    case 'Identifier':
      return LITERAL_IDENTIFIERS.has(node.name as string);
    case 'TemplateLiteral':
      return (node.expressions as unknown[]).length === 0;
    case 'UnaryExpression':
      return (
        (node.operator === '-' || node.operator === '+') &&
        isNode(node.argument) &&
        isLiteralNode(node.argument)
      );
    case 'ArrayExpression':
      return (node.elements as unknown[]).every(
        (element) => element === null || (isNode(element) && isLiteralNode(element)),
      );
    case 'ObjectExpression':
      return (node.properties as AnyNode[]).every(
        (property) =>
          property.type === 'Property' &&
          property.kind === 'init' &&
          property.method === false &&
          property.shorthand === false &&
          isNode(property.key) &&
          (property.computed === false || property.key.type === 'Literal') &&
          isNode(property.value) &&
          isLiteralNode(property.value),
      );
    case 'NewExpression': {
      const callee = node.callee;
      return (
        isNode(callee) &&
        callee.type === 'Identifier' &&
        (callee.name === 'Map' || callee.name === 'Set') &&
        (node.arguments as AnyNode[]).every((argument) => isLiteralNode(argument))
      );
    }
    default:
      return false;
  }
}

/**
 * Checks that a source is one value literal: numbers, strings, booleans, `null`, `undefined`, `NaN`,
 * `Infinity`, BigInts, arrays, plain objects, template strings without substitutions, and `new Map(...)` /
 * `new Set(...)` of those. A solver's answer is read with this, so it cannot run code.
 */
export function checkLiteral(literal: string): StaticCheck {
  const source = `(\n${literal}\n)`;
  const tree = parseScript(source);
  if (typeof tree === 'string') {
    return fail('syntax', `the literal does not parse: ${tree}`);
  }
  const body = tree.body as AnyNode[];
  const statement = body[0];
  if (body.length !== 1 || statement?.type !== 'ExpressionStatement' || !isNode(statement.expression)) {
    return fail('syntax', 'expected exactly one value literal');
  }
  return isLiteralNode(statement.expression)
    ? PASS
    : fail('policy', 'only value literals are accepted (no calls, variables or operators)');
}

function hasUseStrict(body: unknown): boolean {
  return (
    Array.isArray(body) &&
    body.some(
      (statement: AnyNode) =>
        statement.type === 'ExpressionStatement' && statement.directive === 'use strict',
    )
  );
}

function targetsName(target: unknown, name: string): boolean {
  if (!isNode(target)) return false;
  switch (target.type) {
    case 'Identifier':
      return target.name === name;
    case 'ArrayPattern':
      return (target.elements as unknown[]).some((element) => targetsName(element, name));
    case 'ObjectPattern':
      return (target.properties as AnyNode[]).some((property) =>
        targetsName(property.type === 'RestElement' ? property.argument : property.value, name),
      );
    case 'AssignmentPattern':
      return targetsName(target.left, name);
    case 'RestElement':
      return targetsName(target.argument, name);
    default:
      return false;
  }
}

/**
 * Whether sloppy-mode code of a program (outside classes and `'use strict'` functions) assigns to `name`
 * (`=`, compound assignment, `++`/`--`, destructuring, or the head of a `for-in`/`for-of`). In a fresh context
 * such an assignment to an undeclared name creates a global; in strict code it throws there too. The reused
 * context uses it to declare the name in the program's own scope instead (see the prelude).
 */
export function assignsInSloppyCode(code: string, name: string): boolean {
  const tree = parseScript(code);
  if (typeof tree === 'string') return false;
  const stack: { node: AnyNode; strict: boolean }[] = [{ node: tree, strict: hasUseStrict(tree.body) }];
  while (stack.length > 0) {
    const { node, strict: outer } = stack.pop() as { node: AnyNode; strict: boolean };
    let strict = outer;
    if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') strict = true;
    if (
      (node.type === 'FunctionDeclaration' ||
        node.type === 'FunctionExpression' ||
        node.type === 'ArrowFunctionExpression') &&
      isNode(node.body) &&
      hasUseStrict(node.body.body)
    ) {
      strict = true;
    }
    if (!strict) {
      if (node.type === 'AssignmentExpression' && targetsName(node.left, name)) return true;
      if (node.type === 'UpdateExpression' && targetsName(node.argument, name)) return true;
      if (
        (node.type === 'ForInStatement' || node.type === 'ForOfStatement') &&
        targetsName(node.left, name)
      ) {
        return true;
      }
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) stack.push({ node: item, strict });
      } else if (isNode(value)) {
        stack.push({ node: value, strict });
      }
    }
  }
  return false;
}

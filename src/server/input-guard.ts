/**
 * Strings PostgreSQL cannot store (NUL) or that are not Unicode (lone surrogates), and JSON nested
 * deeper than anything this API takes, are the caller's mistake: refused as BAD_USER_INPUT naming
 * the argument, in literals and variables alike, before any resolver runs.
 */
import { Kind, visit, type DocumentNode, type ValueNode } from 'graphql';
import { AppError } from '../errors/app-error.js';

/** Deeper than any input of this API (a provider config is a few levels). */
export const MAX_INPUT_DEPTH = 32;

function badString(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL characters (U+0000)';
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) return 'must be valid Unicode (it contains a lone surrogate)';
  return null;
}

function refuse(path: string, problem: string): never {
  throw AppError.badInput(`${path} ${problem}`, [{ path, message: problem }]);
}

/** Variables: every string value and every object key, at any depth. */
function checkValue(value: unknown, path: string, depth: number): void {
  if (typeof value === 'string') {
    const problem = badString(value);
    if (problem) refuse(path, problem);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_INPUT_DEPTH) refuse(path, `is nested deeper than ${MAX_INPUT_DEPTH} levels`);
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkValue(item, `${path}.${i}`, depth + 1));
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const problem = badString(key);
    if (problem) refuse(`${path} key "${key.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)}"`, problem);
    checkValue(item, `${path}.${key}`, depth + 1);
  }
}

/** Literals in the document: string values inside arguments and variable defaults. */
function checkLiteral(node: ValueNode, path: string, depth: number): void {
  if (depth > MAX_INPUT_DEPTH) refuse(path, `is nested deeper than ${MAX_INPUT_DEPTH} levels`);
  if (node.kind === Kind.STRING) {
    const problem = badString(node.value);
    if (problem) refuse(path, problem);
  } else if (node.kind === Kind.LIST) {
    node.values.forEach((item, i) => checkLiteral(item, `${path}.${i}`, depth + 1));
  } else if (node.kind === Kind.OBJECT) {
    for (const field of node.fields) checkLiteral(field.value, `${path}.${field.name.value}`, depth + 1);
  }
}

/** Documents whose literals passed: Apollo keeps parsed documents, so a repeated one is walked once. */
const checkedDocuments = new WeakSet<DocumentNode>();

export function checkInput(document: DocumentNode, variables: Record<string, unknown> | undefined): void {
  for (const [name, value] of Object.entries(variables ?? {})) checkValue(value, `$${name}`, 0);
  if (checkedDocuments.has(document)) return;
  visit(document, {
    Field(field) {
      for (const arg of field.arguments ?? []) checkLiteral(arg.value, `${field.name.value}.${arg.name.value}`, 0);
    },
    VariableDefinition(definition) {
      if (definition.defaultValue) checkLiteral(definition.defaultValue, `$${definition.variable.name.value}`, 0);
    },
  });
  checkedDocuments.add(document);
}

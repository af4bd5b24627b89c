/**
 * The page a request asks for: opaque keyset cursors and the bounds on `first` and `last`.
 * Services read pages with them; src/graphql/pagination.ts turns rows into Relay pages.
 *
 * Cursors are base64url text. `v1:<key>` (still read, never issued by the bound lists) names only a
 * position. `v2:<list>:<scope>:<key>` binds the position to the list it came from: the list's
 * name and a hash of what selects and orders it (filter, parent), so a cursor handed to another
 * list, or to the same list with another filter, is BAD_USER_INPUT instead of an empty page.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors/app-error.js';

export function encodeCursor(id: string): string {
  return Buffer.from(`v1:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, arg: 'after' | 'before' = 'after'): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('v1:') || text.length < 8 || text.length > 64 || encodeCursor(text.slice(3)) !== cursor) {
    throw AppError.badInput(`${arg} is not a cursor returned by this API`);
  }
  return text.slice(3);
}

export function checkFirst(first: number, max: number, arg: 'first' | 'last' = 'first'): number {
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw AppError.badInput(`${arg} must be from 0 to ${max}, got ${first}`, [{ path: arg, message: `must be from 0 to ${max}` }]);
  }
  return first;
}

/** The list a cursor belongs to: its name and a hash of what selects it. */
export interface CursorBinding {
  list: string;
  scope: string;
  /** Keys of this list (a v1 cursor of another list's ids is refused by it). */
  key: RegExp;
}

/** JSON with sorted keys, dates as ISO strings, and absent, null, false and empty values left out. */
function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined || v === null || v === false || (Array.isArray(v) && !v.length)) continue;
      out[key] = canonical(v);
    }
    return out;
  }
  return value;
}

/** A list named `list` selected by `scope` (filter, parent id, sort: anything that changes its rows or order). */
export function bindList(list: string, scope: unknown, key: RegExp): CursorBinding {
  const hash = createHash('sha256').update(JSON.stringify(canonical(scope ?? {}))).digest('base64url').slice(0, 12);
  return { list, scope: hash, key };
}

export function encodeBoundCursor(binding: CursorBinding, key: string): string {
  return Buffer.from(`v2:${binding.list}:${binding.scope}:${key}`, 'utf8').toString('base64url');
}

/** The key of a cursor of `binding`'s list (or a v1 cursor with a key of that list); BAD_USER_INPUT otherwise. */
export function decodeBoundCursor(cursor: string, binding: CursorBinding, arg: 'after' | 'before'): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  let key: string;
  if (text.startsWith('v1:')) key = decodeCursor(cursor, arg);
  else {
    const match = /^v2:([A-Za-z.]{1,40}):([A-Za-z0-9_-]{12}):(.{1,80})$/s.exec(text);
    if (!match || Buffer.from(text, 'utf8').toString('base64url') !== cursor) {
      throw AppError.badInput(`${arg} is not a cursor returned by this API`, [{ path: arg, message: 'is not a cursor returned by this API' }]);
    }
    if (match[1] !== binding.list || match[2] !== binding.scope) {
      const which = match[1] !== binding.list ? `of the ${match[1]} list, not of ${binding.list}` : `of ${binding.list} with another filter or parent`;
      throw AppError.badInput(`${arg} is a cursor ${which}: a cursor pages only the list it came from`, [{ path: arg, message: 'is a cursor of another list' }]);
    }
    key = match[3]!;
  }
  if (!binding.key.test(key)) throw AppError.badInput(`${arg} is not a cursor of ${binding.list}`, [{ path: arg, message: 'is a cursor of another list' }]);
  return key;
}

/** Relay's arguments: `first`/`after` forwards, `last`/`before` backwards. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * The page to read: `limit` rows (read `limit + 1` to know whether more follow) from the list's
 * start (`backward` false: after `after`) or from its end (`backward`: before `before`, read in
 * reverse order). `first` and `last` together are BAD_USER_INPUT; neither means `first: defaultFirst`.
 */
export interface PageWindow {
  binding: CursorBinding;
  limit: number;
  backward: boolean;
  /** Keys (decoded, of this list) of the bounds. */
  after: string | null;
  before: string | null;
}

/** The page size of a list read without `first` or `last` (the query-cost estimate assumes it too). */
export const DEFAULT_PAGE_SIZE = 50;

export function pageWindow(args: PageArgs, max: number, binding: CursorBinding, defaultFirst = DEFAULT_PAGE_SIZE): PageWindow {
  if (args.first != null && args.last != null) {
    throw AppError.badInput('first and last cannot be used together: page forwards with first/after or backwards with last/before', [{ path: 'last', message: 'cannot be used with first' }]);
  }
  const backward = args.last != null;
  const limit = backward ? checkFirst(args.last!, max, 'last') : checkFirst(args.first ?? defaultFirst, max, 'first');
  return {
    binding,
    limit,
    backward,
    after: args.after ? decodeBoundCursor(args.after, binding, 'after') : null,
    before: args.before ? decodeBoundCursor(args.before, binding, 'before') : null,
  };
}

/**
 * The keyset conditions and order of a page over `column` (the list is ordered by it, descending):
 * `after` is further down (smaller), `before` further up (greater), and a backward page is read
 * upwards from its end. `param` adds a parameter and returns its placeholder.
 */
export function keysetSql(window: PageWindow, column: string, param: (value: unknown) => string, cast = ''): { where: string[]; order: 'ASC' | 'DESC' } {
  const where: string[] = [];
  if (window.after !== null) where.push(`${column} < ${param(window.after)}${cast}`);
  if (window.before !== null) where.push(`${column} > ${param(window.before)}${cast}`);
  return { where, order: window.backward ? 'ASC' : 'DESC' };
}

/**
 * The page a request asks for: opaque keyset cursors over ULID ids (newest first) and the bound on
 * `first`. Services read pages with them; src/graphql/pagination.ts turns rows into Relay pages.
 */
import { AppError } from '../errors/app-error.js';

export function encodeCursor(id: string): string {
  return Buffer.from(`v1:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('v1:') || text.length < 8 || text.length > 64 || encodeCursor(text.slice(3)) !== cursor) {
    throw AppError.badInput('after is not a cursor returned by this API');
  }
  return text.slice(3);
}

export function checkFirst(first: number, max: number): number {
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw AppError.badInput(`first must be from 0 to ${max}, got ${first}`, [{ path: 'first', message: `must be from 0 to ${max}` }]);
  }
  return first;
}

import { Directive, Field, ObjectType } from 'type-graphql';
import { AppError } from '../errors/app-error.js';
import { sliced } from './cooperative.js';

/** Relay's PageInfo, which other subgraphs define the same way: shareable, or composition fails. */
@Directive('@shareable')
@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => Boolean) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

/** Opaque keyset cursors over ULID ids (newest first). */
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

/**
 * Fills `target` with Relay page fields from `first + 1` rows fetched newest first: `nodes` mapped
 * once, `pageInfo`, and `edges` computed only if a client selects them.
 */
export function page<R extends { id: string }, N, T extends object>(
  rows: R[],
  first: number,
  after: string | null | undefined,
  map: (row: R) => N,
  target: T,
): T & { nodes: N[]; pageInfo: PageInfo; readonly edges: Array<{ cursor: string; node: N }> } {
  const hasNextPage = rows.length > first;
  const kept = hasNextPage ? rows.slice(0, first) : rows;
  const nodes = kept.map(map);
  const pageInfo: PageInfo = {
    hasNextPage,
    hasPreviousPage: Boolean(after),
    startCursor: kept.length ? encodeCursor(kept[0]!.id) : null,
    endCursor: kept.length ? encodeCursor(kept[kept.length - 1]!.id) : null,
  };
  return Object.defineProperties(target, {
    // A long page completes in slices (cooperative.ts); the type stays a list of nodes.
    nodes: { value: sliced(nodes), enumerable: true },
    pageInfo: { value: pageInfo, enumerable: true },
    edges: { get: () => sliced(nodes.map((node, i) => ({ cursor: encodeCursor(kept[i]!.id), node }))), enumerable: false },
  }) as T & { nodes: N[]; pageInfo: PageInfo; readonly edges: Array<{ cursor: string; node: N }> };
}

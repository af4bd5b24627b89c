import { Directive, Field, ObjectType } from 'type-graphql';
import { encodeBoundCursor, type PageWindow } from '../context/cursors.js';
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

/**
 * Fills `target` with a Relay page of a list whose cursors are bound to it (cursors.ts): `rows`
 * are the `limit + 1` rows read from the window's side (reverse list order when paging backwards),
 * `keyOf` a row's keyset position. Nodes come in list order either way.
 */
export function boundPage<R, N, T extends object>(
  rows: R[],
  window: PageWindow,
  keyOf: (row: R) => string,
  map: (row: R) => N,
  target: T,
): T & { nodes: N[]; pageInfo: PageInfo; readonly edges: Array<{ cursor: string; node: N }> } {
  const more = rows.length > window.limit;
  const kept = more ? rows.slice(0, window.limit) : rows.slice();
  if (window.backward) kept.reverse();
  const cursor = (row: R) => encodeBoundCursor(window.binding, keyOf(row));
  const nodes = kept.map(map);
  const pageInfo: PageInfo = {
    hasNextPage: window.backward ? window.before !== null : more || window.before !== null,
    hasPreviousPage: window.backward ? more || window.after !== null : window.after !== null,
    startCursor: kept.length ? cursor(kept[0]!) : null,
    endCursor: kept.length ? cursor(kept[kept.length - 1]!) : null,
  };
  return Object.defineProperties(target, {
    nodes: { value: sliced(nodes), enumerable: true },
    pageInfo: { value: pageInfo, enumerable: true },
    edges: { get: () => sliced(nodes.map((node, i) => ({ cursor: cursor(kept[i]!), node }))), enumerable: false },
  }) as T & { nodes: N[]; pageInfo: PageInfo; readonly edges: Array<{ cursor: string; node: N }> };
}

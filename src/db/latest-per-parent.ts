import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import { columnList, createHydrator } from './hydrate.js';
import type { SqlParams } from './sql.js';

export interface LatestPerParentQuery {
  /** Table and alias of the children, e.g. `audit_events` / `a`. */
  table: string;
  alias: string;
  /** Column (in the alias) that points at the parent. */
  parentColumn: string;
  parentIds: readonly string[];
  /** Conditions on the alias (tenant, visibility, cursor), with their parameters in `sql`. */
  where: string[];
  sql: SqlParams;
  limit: number;
  /** DESC (default): the newest children; ASC: the oldest (a page read backwards from a list's end). */
  order?: 'ASC' | 'DESC';
}

/**
 * The newest `limit` children of each parent (by ULID id), in ONE statement for any number of
 * parents: a lateral join over the parent ids. Serves the per-parent pages that DataLoaders batch
 * (a connector's audit events, runs and health history; an application's connectors).
 */
export function createLatestPerParent<T extends ObjectLiteral>(dataSource: DataSource, target: EntityTarget<T>, parentOf: (row: T) => string) {
  const hydrate = createHydrator(dataSource, target);
  return async (q: LatestPerParentQuery): Promise<Map<string, T[]>> => {
    const rows = await latestRows(dataSource, q, columnList(dataSource, target, q.alias));
    const byParent = new Map<string, T[]>(q.parentIds.map((id) => [id, []]));
    for (const row of rows) {
      const child = hydrate(row);
      byParent.get(parentOf(child))?.push(child);
    }
    return byParent;
  };
}

/**
 * The same statement with a select list of the caller's (`columns`, for the alias) and each raw
 * row mapped by `map`: for reads that project the fields a request selected instead of hydrating
 * every column into an entity.
 */
export async function latestPerParentMapped<R>(dataSource: DataSource, q: LatestPerParentQuery, columns: string, map: (row: Record<string, unknown>) => R): Promise<Map<string, R[]>> {
  const rows = await latestRows(dataSource, q, `k.id AS "k__parent", ${columns}`);
  const byParent = new Map<string, R[]>(q.parentIds.map((id) => [id, []]));
  for (const row of rows) byParent.get(row.k__parent as string)?.push(map(row));
  return byParent;
}

function latestRows(dataSource: DataSource, q: LatestPerParentQuery, select: string): Promise<Record<string, unknown>[]> {
  const { sql, alias } = q;
  const where = [...q.where, `${alias}.${q.parentColumn} = k.id`];
  return dataSource.query(
    `SELECT ${select} FROM unnest(${sql.param(q.parentIds)}::text[]) AS k(id)
       CROSS JOIN LATERAL (SELECT * FROM ${q.table} ${alias} WHERE ${where.join(' AND ')} ORDER BY ${alias}.id ${q.order ?? 'DESC'} LIMIT ${sql.param(q.limit)}) ${alias}`,
    sql.values,
  );
}

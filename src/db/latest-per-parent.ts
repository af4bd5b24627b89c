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
    const { sql, alias } = q;
    const where = [...q.where, `${alias}.${q.parentColumn} = k.id`];
    const rows: Record<string, unknown>[] = await dataSource.query(
      `SELECT ${columnList(dataSource, target, alias)} FROM unnest(${sql.param(q.parentIds)}::text[]) AS k(id)
       CROSS JOIN LATERAL (SELECT * FROM ${q.table} ${alias} WHERE ${where.join(' AND ')} ORDER BY ${alias}.id ${q.order ?? 'DESC'} LIMIT ${sql.param(q.limit)}) ${alias}`,
      sql.values,
    );
    const byParent = new Map<string, T[]>(q.parentIds.map((id) => [id, []]));
    for (const row of rows) {
      const child = hydrate(row);
      byParent.get(parentOf(child))?.push(child);
    }
    return byParent;
  };
}

import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal.js';
import { SqlParams } from '../../db/sql.js';
import { AppError } from '../../errors/app-error.js';
import { bindList, encodeCursor, pageWindow, type CursorBinding, type PageArgs, type PageWindow } from '../../context/cursors.js';
import { connectorVisibility } from '../connectors/connector.visibility.js';
import { toRecordKind, type RecordKind } from './record.enums.js';

export const RECORD_PAGE_MAX = 200;
export const RECORD_SEARCH_MAX = 200;
/** At most this many ids in `connectorIds`. */
export const RECORD_FILTER_IDS_MAX = 200;

/** A row of `ingested_records` as the graph reads it. */
export interface RecordRow {
  id: string;
  tenantId: string;
  connectorId: string;
  kind: RecordKind;
  data: Record<string, unknown>;
  dedupKey: string;
  observedAt: Date | null;
  ingestedAt: Date;
  lastSeenAt: Date;
  duplicateCount: number;
  severity: number | null;
  title: string | null;
  /** `ingested_at` to the microsecond (a JS Date keeps milliseconds) and the id: the keyset position. */
  position: string;
}

export interface RecordFilterInput {
  connectorIds?: readonly string[] | null;
  kinds?: readonly RecordKind[] | null;
  since?: Date | null;
  until?: Date | null;
  severityAtLeast?: number | null;
  search?: string | null;
}

/** The arguments of `Connector.records` besides the parent. */
export interface ConnectorRecordsArgs {
  window: PageWindow;
  kind: RecordKind | null;
  since: Date | null;
  until: Date | null;
}

const COLUMNS = `r.id, r.tenant_id, r.connector_id, r.kind, r.record, r.dedup_key, r.observed_at, r.ingested_at, r.last_seen_at,
  r.duplicate_count, r.severity, r.title, to_char(r.ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || r.id AS position`;

function toRow(raw: Record<string, unknown>): RecordRow {
  return {
    id: raw.id as string,
    tenantId: raw.tenant_id as string,
    connectorId: raw.connector_id as string,
    kind: toRecordKind(raw.kind as string),
    data: (raw.record ?? {}) as Record<string, unknown>,
    dedupKey: raw.dedup_key as string,
    observedAt: (raw.observed_at as Date | null) ?? null,
    ingestedAt: raw.ingested_at as Date,
    lastSeenAt: raw.last_seen_at as Date,
    duplicateCount: Number(raw.duplicate_count),
    severity: raw.severity == null ? null : Number(raw.severity),
    title: (raw.title as string | null) ?? null,
    position: raw.position as string,
  };
}

const POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|(rec_[0-9A-F]{26})$/;

/**
 * Record cursors (cursors.ts) carry the keyset position `<ingested_at to the µs>|<id>`, bound to
 * their list; a v1 cursor of a position is still read. Anything else is BAD_USER_INPUT.
 */
function positionOf(key: string, arg: 'after' | 'before'): { at: string; id: string } {
  const match = POSITION.exec(key);
  if (!match || Number.isNaN(Date.parse(match[1]!))) throw AppError.badInput(`${arg} is not a cursor returned by this API`);
  return { at: match[1]!, id: match[2]! };
}

/** Keyset conditions of a records page on (ingested_at, id), newest first, and the order to read it in. */
function keysetSql(window: PageWindow, sql: SqlParams): { where: string[]; order: string } {
  const where: string[] = [];
  for (const [arg, op] of [['after', '<'], ['before', '>']] as const) {
    const key = window[arg];
    if (key === null) continue;
    const p = positionOf(key, arg);
    where.push(`(r.ingested_at, r.id) ${op} (${sql.param(p.at)}::timestamptz, ${sql.param(p.id)})`);
  }
  return { where, order: window.backward ? 'r.ingested_at ASC, r.id ASC' : 'r.ingested_at DESC, r.id DESC' };
}

export function encodeRecordCursor(row: Pick<RecordRow, 'position'>): string {
  return encodeCursor(row.position);
}

const RECORD_KEY = /^\d{4}-\d{2}-\d{2}T[0-9:.]+Z\|rec_[0-9A-F]{26}$/;

function checkRange(since: Date | null | undefined, until: Date | null | undefined, path: string): void {
  for (const [name, value] of [['since', since], ['until', until]] as const) {
    if (value != null && Number.isNaN(value.getTime())) throw AppError.badInput(`${name} is not a valid date`, [{ path: `${path}${name}`, message: 'is not a valid date' }]);
  }
  if (since && until && since >= until) {
    throw AppError.badInput('since must be before until', [{ path: `${path}since`, message: 'must be before until' }]);
  }
}

/**
 * Reads of `ingested_records` for the graph. Every statement joins `connectors` with the one
 * visibility predicate of the connector reads (connector.visibility.ts): a record is visible to
 * whoever may see its connector, and not at all once the connector is deleted.
 */
export class RecordService {
  constructor(private readonly dataSource: DataSource) {}

  /** The join condition on `connectors c` for records `r`: same tenant, visible, not deleted. */
  private visible(principal: Principal, sql: SqlParams): string {
    return `r.tenant_id = ${sql.param(principal.tenantId)} AND c.tenant_id = r.tenant_id AND ${connectorVisibility(principal, 'c', sql)} AND NOT c.is_deleted`;
  }

  private filterSql(filter: RecordFilterInput, sql: SqlParams): string[] {
    const where: string[] = [];
    if (filter.connectorIds?.length) where.push(`r.connector_id = ANY(${sql.param([...new Set(filter.connectorIds)])}::text[])`);
    if (filter.kinds?.length) where.push(`r.kind = ANY(${sql.param([...new Set(filter.kinds)])}::text[])`);
    if (filter.since) where.push(`r.ingested_at >= ${sql.param(filter.since)}`);
    if (filter.until) where.push(`r.ingested_at < ${sql.param(filter.until)}`);
    // `real` column: compared as real, so 7.1 finds a stored 7.1 (float4 7.1 < float8 7.1).
    if (filter.severityAtLeast != null) where.push(`r.severity >= ${sql.param(filter.severityAtLeast)}::real`);
    const search = filter.search?.trim();
    if (search) where.push(`r.title ILIKE ${sql.param(`%${search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`)}`);
    return where;
  }

  private checkFilter(filter: RecordFilterInput): void {
    if ((filter.connectorIds?.length ?? 0) > RECORD_FILTER_IDS_MAX) {
      throw AppError.badInput(`connectorIds has ${filter.connectorIds!.length} ids; the limit is ${RECORD_FILTER_IDS_MAX}`, [
        { path: 'filter.connectorIds', message: `must have at most ${RECORD_FILTER_IDS_MAX} ids` },
      ]);
    }
    if (filter.search != null && filter.search.length > RECORD_SEARCH_MAX) {
      throw AppError.badInput(`search is ${filter.search.length} characters long; the limit is ${RECORD_SEARCH_MAX}`, [
        { path: 'filter.search', message: `must be at most ${RECORD_SEARCH_MAX} characters` },
      ]);
    }
    if (filter.severityAtLeast != null && !Number.isFinite(filter.severityAtLeast)) {
      throw AppError.badInput('severityAtLeast must be a finite number', [{ path: 'filter.severityAtLeast', message: 'must be a finite number' }]);
    }
    checkRange(filter.since, filter.until, 'filter.');
  }

  /**
   * `Query.records`: newest first by (ingested_at, id), `first + 1` rows in ONE statement (the
   * visibility join included); `count` runs a second statement only when called.
   */
  /** The `records` list with this filter, for cursors bound to it (cursors.ts). */
  static listBinding(filter: RecordFilterInput): CursorBinding {
    return bindList('records', { ...filter }, RECORD_KEY);
  }

  async list(principal: Principal, filter: RecordFilterInput, args: PageArgs) {
    const window = pageWindow(args, RECORD_PAGE_MAX, RecordService.listBinding(filter));
    this.checkFilter(filter);
    const sql = new SqlParams();
    const where = [...this.filterSql(filter, sql)];
    const keyset = keysetSql(window, sql);
    where.push(...keyset.where);
    const join = this.visible(principal, sql);
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM ingested_records r JOIN connectors c ON c.id = r.connector_id AND ${join}
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${keyset.order} LIMIT ${sql.param(window.limit + 1)}`,
      sql.values,
    );
    return {
      rows: rows.map(toRow),
      window,
      count: async (): Promise<number> => {
        const countSql = new SqlParams();
        const countWhere = this.filterSql(filter, countSql);
        const [{ count }] = await this.dataSource.query(
          `SELECT count(*)::int AS count FROM ingested_records r JOIN connectors c ON c.id = r.connector_id AND ${this.visible(principal, countSql)}
           ${countWhere.length ? `WHERE ${countWhere.join(' AND ')}` : ''}`,
          countSql.values,
        );
        return count;
      },
    };
  }

  /** Visible records by id, one statement for any number of ids (federation references). */
  async findByIds(principal: Principal, ids: readonly string[]): Promise<RecordRow[]> {
    const sql = new SqlParams();
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM ingested_records r JOIN connectors c ON c.id = r.connector_id AND ${this.visible(principal, sql)}
       WHERE r.id = ANY(${sql.param(ids)}::text[])`,
      sql.values,
    );
    return rows.map(toRow);
  }

  /** `Connector.records`' page, its cursors bound to the connector and the arguments; checked before the batch it joins. */
  static connectorWindow(connectorId: string, args: PageArgs & Omit<ConnectorRecordsArgs, 'window'>): ConnectorRecordsArgs {
    const { kind, since, until } = args;
    const window = pageWindow(args, RECORD_PAGE_MAX, bindList('connector.records', { connectorId, kind, since, until }, RECORD_KEY));
    for (const arg of ['after', 'before'] as const) if (window[arg] !== null) positionOf(window[arg]!, arg);
    checkRange(since, until, '');
    return { window, kind, since, until };
  }

  private connectorArgsSql(args: Omit<ConnectorRecordsArgs, 'window'> & { window: PageWindow | null }, sql: SqlParams): { where: string[]; order: string } {
    const where = this.filterSql({ kinds: args.kind ? [args.kind] : null, since: args.since, until: args.until }, sql);
    if (!args.window) return { where, order: 'r.ingested_at DESC, r.id DESC' };
    const keyset = keysetSql(args.window, sql);
    return { where: [...where, ...keyset.where], order: keyset.order };
  }

  /**
   * `Connector.records` for many connectors with the same arguments: `first + 1` rows per
   * connector in ONE statement, a lateral join over the ids (latest-per-parent.ts orders by id
   * only). The connectors are joined with the visibility predicate again, so a deleted or
   * invisible parent has no records whichever way it was reached.
   */
  async listForConnectors(principal: Principal, connectorIds: readonly string[], args: ConnectorRecordsArgs): Promise<Map<string, RecordRow[]>> {
    const sql = new SqlParams();
    const ids = sql.param(connectorIds);
    const tenant = sql.param(principal.tenantId);
    const keyset = this.connectorArgsSql(args, sql);
    const where = [`r.tenant_id = ${tenant}`, 'r.connector_id = c.id', ...keyset.where];
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM unnest(${ids}::text[]) AS k(id)
       JOIN connectors c ON c.id = k.id AND c.tenant_id = ${tenant} AND ${connectorVisibility(principal, 'c', sql)} AND NOT c.is_deleted
       CROSS JOIN LATERAL (
         SELECT * FROM ingested_records r WHERE ${where.join(' AND ')}
         ORDER BY ${keyset.order} LIMIT ${sql.param(args.window.limit + 1)}
       ) r
       ORDER BY r.connector_id, ${keyset.order}`,
      sql.values,
    );
    const byConnector = new Map<string, RecordRow[]>(connectorIds.map((id) => [id, []]));
    for (const raw of rows) {
      const row = toRow(raw);
      byConnector.get(row.connectorId)?.push(row);
    }
    return byConnector;
  }

  /** `Connector.records.totalCount`: the connector's visible records matching the arguments (no cursor). */
  async countForConnector(principal: Principal, connectorId: string, args: Omit<ConnectorRecordsArgs, 'window'>): Promise<number> {
    const sql = new SqlParams();
    const where = [`r.connector_id = ${sql.param(connectorId)}`, ...this.connectorArgsSql({ ...args, window: null }, sql).where];
    const [{ count }] = await this.dataSource.query(
      `SELECT count(*)::int AS count FROM ingested_records r JOIN connectors c ON c.id = r.connector_id AND ${this.visible(principal, sql)}
       WHERE ${where.join(' AND ')}`,
      sql.values,
    );
    return count;
  }
}

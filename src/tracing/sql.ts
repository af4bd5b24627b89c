import { EventSubscriber, type AfterQueryEvent, type BeforeQueryEvent, type EntitySubscriberInterface, type QueryRunner } from 'typeorm';
import { markError, SpanKind, startSpan, tracingEnabled, type Span } from './tracing.js';

/** Longest statement text kept on a span. */
const MAX_STATEMENT = 4096;

interface Pending {
  span: Span;
  query: string;
  parameters: unknown;
}

/** Spans of the statements a query runner has in flight, oldest first (pg runs them in order). */
const pending = new WeakMap<QueryRunner, Pending[]>();

/**
 * One CLIENT span per statement TypeORM runs (the same statements the per-request counter counts,
 * src/db/statement-counter.ts), through TypeORM's own beforeQuery/afterQuery subscriber events.
 * The statement text is kept with its placeholders and string literals blanked; parameter values
 * are never read.
 */
@EventSubscriber()
export class SqlTracingSubscriber implements EntitySubscriberInterface {
  beforeQuery(event: BeforeQueryEvent): void {
    if (!tracingEnabled()) return;
    const span = startSpan(spanName(event.query), { kind: SpanKind.CLIENT, attributes: sqlAttributes(event.query) });
    if (!span) return;
    const list = pending.get(event.queryRunner) ?? [];
    list.push({ span, query: event.query, parameters: event.parameters });
    pending.set(event.queryRunner, list);
  }

  afterQuery(event: AfterQueryEvent): void {
    const list = pending.get(event.queryRunner);
    if (!list?.length) return;
    let index = list.findIndex((p) => p.query === event.query && p.parameters === event.parameters);
    if (index < 0) index = 0;
    const [{ span }] = list.splice(index, 1) as [Pending];
    if (!list.length) pending.delete(event.queryRunner);
    if (!event.success) markError(span, event.error);
    span.end();
  }
}

/** Statement text safe to export: string literals blanked, whitespace collapsed, bounded. */
export function sanitizeStatement(sql: string): string {
  const text = sql
    .replace(/'(?:[^']|'')*'/g, "'?'")
    .replace(/\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, "'?'")
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > MAX_STATEMENT ? `${text.slice(0, MAX_STATEMENT)}…` : text;
}

const OPERATION = /^\s*(?:\/\*[\s\S]*?\*\/\s*)?([A-Za-z]+)(?:\s+(TRANSACTION|ISOLATION|LOCAL))?/;
const TABLE = /\b(?:FROM|INTO|UPDATE|JOIN)\s+((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?)/i;

function operationOf(sql: string): string {
  const match = OPERATION.exec(sql);
  return match ? `${match[1]!.toUpperCase()}${match[2] ? ` ${match[2].toUpperCase()}` : ''}` : 'SQL';
}

function tableOf(sql: string): string | undefined {
  const match = TABLE.exec(sql);
  return match ? match[1]!.replace(/"/g, '') : undefined;
}

/** `SELECT connectors`, `INSERT pgboss.job`, `COMMIT`: operation and first table (semantic conventions' summary form). */
export function spanName(sql: string): string {
  const operation = operationOf(sql);
  const table = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'WITH'].includes(operation) ? tableOf(sql) : undefined;
  return table ? `${operation} ${table}` : operation;
}

function sqlAttributes(sql: string) {
  const statement = sanitizeStatement(sql);
  const operation = operationOf(sql);
  const table = tableOf(sql);
  return {
    'db.system': 'postgresql',
    'db.system.name': 'postgresql',
    'db.statement': statement,
    'db.operation.name': operation,
    ...(table ? { 'db.collection.name': table } : {}),
  };
}

import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { Caller, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { page } from '../../graphql/pagination.js';
import { toConnector } from '../connectors/connector.mapper.js';
import { Connector } from '../connectors/connector.type.js';
import { RecordKindEnum, type RecordKind } from './record.enums.js';
import { toRecord } from './record.mapper.js';
import { RecordService, type RecordRow } from './record.service.js';
import { RecordConnection, RecordFilter, RecordNode } from './record.type.js';

/**
 * A page of records through pagination.ts's `page()` (sliced nodes, lazy edges): each row is
 * handed over under its keyset position, so the cursors carry (ingested_at, id).
 */
function recordPage(rows: RecordRow[], first: number, after: string | null, countTotal: () => Promise<number>): RecordConnection {
  const positioned = rows.map((row) => ({ id: row.position, row }));
  return page(positioned, first, after, (p) => toRecord(p.row), Object.assign(new RecordConnection(), { countTotal }));
}

/** A string field of `data` for records of `kind`; null for other kinds or other value types. */
function dataField(record: RecordNode, kind: RecordKind, field: string): string | null {
  if (record.kind !== kind) return null;
  const value = record.data?.[field];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

@Resolver(() => RecordNode)
export class RecordResolver {
  @Query(() => RecordConnection, { description: 'Ingested records of the connectors you can see, newest first by ingestedAt; first ≤ 200.' })
  async records(
    @Arg('filter', () => RecordFilter, { nullable: true }) filter: RecordFilter | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RecordConnection> {
    const { principal } = rc;
    const { rows, count } = await ctx.services.records.list(principal, filter ?? {}, first, after);
    return recordPage(rows, first, after, count);
  }

  @FieldResolver(() => Connector, { nullable: true, description: 'The connector that delivered it.' })
  async connector(@Root() record: RecordNode, @Ctx() ctx: GraphQLContext): Promise<Connector | null> {
    const row = await ctx.loaders.connector.load(record.connectorId);
    return row && toConnector(row);
  }

  @FieldResolver(() => String, { nullable: true, description: 'Events: the source address.' })
  src(@Root() record: RecordNode): string | null {
    return dataField(record, 'event', 'src');
  }

  @FieldResolver(() => String, { nullable: true, description: 'Events: the destination address.' })
  dst(@Root() record: RecordNode): string | null {
    return dataField(record, 'event', 'dst');
  }

  @FieldResolver(() => String, { nullable: true, description: 'Indicators: the type, e.g. ipv4, domain, sha256.' })
  indicatorType(@Root() record: RecordNode): string | null {
    return dataField(record, 'indicator', 'type');
  }

  @FieldResolver(() => String, { nullable: true, description: 'Indicators: the value.' })
  indicatorValue(@Root() record: RecordNode): string | null {
    return dataField(record, 'indicator', 'value');
  }

  @FieldResolver(() => String, { nullable: true, description: 'Vulnerabilities: the CVE id.' })
  cveId(@Root() record: RecordNode): string | null {
    return dataField(record, 'vulnerability', 'id');
  }

  @FieldResolver(() => String, { nullable: true, description: 'Transactions: the chain.' })
  chain(@Root() record: RecordNode): string | null {
    return dataField(record, 'transaction', 'chain');
  }

  @FieldResolver(() => String, { nullable: true, description: 'Transactions: the transaction hash.' })
  hash(@Root() record: RecordNode): string | null {
    return dataField(record, 'transaction', 'hash');
  }
}

/** `Connector.records`: one statement for every connector of a request with the same arguments. */
@Resolver(() => Connector)
export class ConnectorRecordsResolver {
  @FieldResolver(() => RecordConnection, { description: 'The records this connector delivered, newest first by ingestedAt; first ≤ 200. Empty once it is deleted.' })
  async records(
    @Root() connector: Connector,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('kind', () => RecordKindEnum, { nullable: true }) kind: RecordKind | null,
    @Arg('since', () => Date, { nullable: true, description: 'ingestedAt >= since' }) since: Date | null,
    @Arg('until', () => Date, { nullable: true, description: 'ingestedAt < until' }) until: Date | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RecordConnection> {
    const { principal } = rc;
    const args = { first, after: after ?? null, kind: kind ?? null, since: since ?? null, until: until ?? null };
    // Argument errors belong to this field, not to the batch it would have joined.
    RecordService.checkConnectorArgs(args);
    const rows = await ctx.loaders.connectorRecords.load({ connectorId: connector.id, ...args });
    return recordPage(rows, first, after, () => ctx.services.records.countForConnector(principal, connector.id, args));
  }
}

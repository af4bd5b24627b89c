import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, Info, Int, Query, Resolver, Root } from 'type-graphql';
import { Caller, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { boundPage } from '../../graphql/pagination.js';
import type { PageWindow } from '../../context/cursors.js';
import { projectionOf } from '../../graphql/selection.js';
import { Connector } from '../connectors/connector.type.js';
import { RecordKindEnum, type RecordKind } from './record.enums.js';
import { toRecord } from './record.mapper.js';
import { RecordService, type RecordRow } from './record.service.js';
import { RecordConnection, RecordFilter, RecordNode } from './record.type.js';

/**
 * A page of records through pagination.ts's `boundPage()` (sliced nodes, lazy edges): the cursors
 * carry each row's keyset position (ingested_at, id), bound to the list.
 */
function recordPage(rows: RecordRow[], window: PageWindow, countTotal: () => Promise<number>): RecordConnection {
  return boundPage(rows, window, (row) => row.position, toRecord, Object.assign(new RecordConnection(), { countTotal }));
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
  @Query(() => RecordConnection, { description: 'Ingested records of the connectors you can see, newest first by ingestedAt; first or last ≤ 200 (neither: first 50). Cursors page only the list (and filter) they came from.' })
  async records(
    @Arg('filter', () => RecordFilter, { nullable: true }) filter: RecordFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'Forwards from after; default 50 unless last is given.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Backwards from before (or from the oldest record).' }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RecordConnection> {
    const { principal } = rc;
    const { rows, window, count } = await ctx.services.records.list(principal, filter ?? {}, { first, after, last, before });
    return recordPage(rows, window, count);
  }

  @FieldResolver(() => Connector, { nullable: true, description: 'The connector that delivered it.' })
  async connector(@Root() record: RecordNode, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<Connector | null> {
    return ctx.loaders.connector.load(record.connectorId, projectionOf(info));
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
  @FieldResolver(() => RecordConnection, { description: 'The records this connector delivered, newest first by ingestedAt; first or last ≤ 200 (neither: first 50). Empty once it is deleted.' })
  async records(
    @Root() connector: Connector,
    @Arg('first', () => Int, { nullable: true, description: 'Forwards from after; default 50 unless last is given.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Backwards from before (or from the oldest record).' }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Arg('kind', () => RecordKindEnum, { nullable: true }) kind: RecordKind | null,
    @Arg('since', () => Date, { nullable: true, description: 'ingestedAt >= since' }) since: Date | null,
    @Arg('until', () => Date, { nullable: true, description: 'ingestedAt < until' }) until: Date | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RecordConnection> {
    const { principal } = rc;
    // Argument errors belong to this field, not to the batch it would have joined.
    const args = RecordService.connectorWindow(connector.id, { first, after, last, before, kind: kind ?? null, since: since ?? null, until: until ?? null });
    const rows = await ctx.loaders.connectorRecords.load({ connectorId: connector.id, ...args });
    return recordPage(rows, args.window, () => ctx.services.records.countForConnector(principal, connector.id, args));
  }
}

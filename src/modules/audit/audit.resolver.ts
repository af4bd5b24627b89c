import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, ID, Info, Int, Query, Resolver, Root } from 'type-graphql';
import { Caller, Requires, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { boundPage } from '../../graphql/pagination.js';
import { projectionOf } from '../../graphql/selection.js';
import { Connector } from '../connectors/connector.type.js';
import { AuditEvent, AuditEventConnection, AuditEventFilter } from './audit-event.type.js';
import { toAuditEvent } from './audit.mapper.js';

@Resolver(() => AuditEvent)
export class AuditResolver {
  @Query(() => AuditEvent, { nullable: true })
  @Requires('viewer')
  async auditEvent(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<AuditEvent | null> {
    const row = await ctx.loaders.auditEvent.load(id);
    return row && toAuditEvent(row);
  }

  @Query(() => AuditEventConnection, { description: 'The tenant\'s audit trail, newest first; first or last ≤ 100 (neither: first 50). Cursors page only the list (and filter) they came from.' })
  async auditEvents(
    @Arg('filter', () => AuditEventFilter, { nullable: true }) filter: AuditEventFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'Forwards from after; default 50 unless last is given.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Backwards from before (or from the oldest event), like a previous-page cursor.' }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuditEventConnection> {
    const { principal } = rc;
    const { rows, window } = await ctx.services.audit.list(principal, filter ?? {}, { first, after, last, before });
    return boundPage(rows, window, (row) => row.id, toAuditEvent, new AuditEventConnection());
  }

  @FieldResolver(() => Connector, { nullable: true, description: 'The connector the event concerns, when visible.' })
  async connector(@Root() event: AuditEvent, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<Connector | null> {
    if (!event.connectorId) return null;
    return ctx.loaders.connector.load(event.connectorId, projectionOf(info));
  }
}

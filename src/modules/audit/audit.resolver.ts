import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { Caller, Requires, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { page } from '../../graphql/pagination.js';
import { toConnector } from '../connectors/connector.mapper.js';
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

  @Query(() => AuditEventConnection, { description: 'The tenant\'s audit trail, newest first; first ≤ 100.' })
  async auditEvents(
    @Arg('filter', () => AuditEventFilter, { nullable: true }) filter: AuditEventFilter | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuditEventConnection> {
    const { principal } = rc;
    const rows = await ctx.services.audit.list(principal, filter ?? {}, first, after);
    return page(rows, first, after, toAuditEvent, new AuditEventConnection());
  }

  @FieldResolver(() => Connector, { nullable: true, description: 'The connector the event concerns, when visible.' })
  async connector(@Root() event: AuditEvent, @Ctx() ctx: GraphQLContext): Promise<Connector | null> {
    if (!event.connectorId) return null;
    const row = await ctx.loaders.connector.load(event.connectorId);
    return row && toConnector(row);
  }
}

import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AppError } from '../../errors/app-error.js';
import { Caller, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { toConnector } from '../connectors/connector.mapper.js';
import { Connector } from '../connectors/connector.type.js';
import { ConnectorHealthSummary, HealthEvent } from './health.type.js';

const HISTORY_MAX = 100;

@Resolver(() => Connector)
export class HealthResolver {
  @Query(() => ConnectorHealthSummary, { description: 'Visible connectors counted by health status, for a dashboard.' })
  async connectorHealthSummary(@Caller('viewer') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<ConnectorHealthSummary> {
    return ctx.services.health.summary(rc.principal);
  }

  @Mutation(() => Connector, { description: 'Runs a health check now and returns the connector with its updated status.' })
  async checkConnectorHealth(@Arg('id', () => ID) id: string, @Caller('editor') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<Connector> {
    const { principal } = rc;
    const [connector] = await ctx.services.connectors.findByIds(principal, [id]);
    if (!connector) throw AppError.notFound('connector', id);
    if (connector.isDeleted) throw AppError.badInput(`connector ${id} is deleted: restore it first`);
    if (!connector.enabled) return toConnector(connector);
    ctx.loaders.connector.clear(id);
    const checked = await ctx.services.connectorTests.withSlot(principal.tenantId, () => ctx.services.health.checkNow(id, false));
    return toConnector(checked ?? connector);
  }

  @FieldResolver(() => [HealthEvent], { description: 'Status transitions, newest first.' })
  async healthHistory(@Root() connector: Connector, @Arg('first', () => Int, { defaultValue: 20 }) first: number, @Ctx() ctx: GraphQLContext): Promise<HealthEvent[]> {
    if (!Number.isInteger(first) || first < 0 || first > HISTORY_MAX) throw AppError.badInput(`first must be from 0 to ${HISTORY_MAX}`);
    const rows = await ctx.loaders.connectorHealth.load({ parentId: connector.id, first, after: null });
    return rows.map((e) => ({ at: e.at, from: e.from, to: e.to, reason: e.reason }));
  }
}

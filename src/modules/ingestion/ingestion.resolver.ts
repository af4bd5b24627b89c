import { isPushProvider } from '../../adapters/registry.js';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from 'type-graphql';
import { AppError } from '../../errors/app-error.js';
import { Caller, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { Connector } from '../connectors/connector.type.js';
import type { IngestionRunEntity } from './ingestion-run.entity.js';
import { IngestionRun } from './ingestion-run.type.js';

const RUNS_MAX = 100;

function toRun(e: IngestionRunEntity): IngestionRun {
  return {
    id: e.id,
    connectorId: e.connectorId,
    status: e.status,
    trigger: e.trigger,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    recordsRead: e.recordsRead,
    recordsWritten: e.recordsWritten,
    duplicates: e.duplicates,
    error: e.error,
  };
}

@Resolver(() => Connector)
export class IngestionResolver {
  @Mutation(() => IngestionRun, { description: 'Queues a run now (enabled connectors only).' })
  async syncConnector(@Arg('id', () => ID) id: string, @Caller('editor') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<IngestionRun> {
    const [connector] = await ctx.services.connectors.findByIds(rc.principal, [id]);
    if (!connector) throw AppError.notFound('connector', id);
    if (!connector.enabled || connector.isDeleted) throw AppError.badInput(`connector ${id} is disabled: enable it before syncing`);
    if (isPushProvider(connector.provider)) {
      throw AppError.badInput(`connector ${id} is a push connector (${connector.provider}): it is not polled, its records arrive through the intake`);
    }
    return toRun(await ctx.services.ingestion.syncNow(rc, connector));
  }

  @FieldResolver(() => [IngestionRun], { description: 'Newest first.' })
  async ingestionRuns(@Root() connector: Connector, @Arg('first', () => Int, { defaultValue: 20 }) first: number, @Ctx() ctx: GraphQLContext): Promise<IngestionRun[]> {
    if (!Number.isInteger(first) || first < 0 || first > RUNS_MAX) throw AppError.badInput(`first must be from 0 to ${RUNS_MAX}`);
    const rows = await ctx.loaders.connectorRuns.load({ parentId: connector.id, first, after: null });
    return rows.map(toRun);
  }
}

import { isPushProvider } from '../../adapters/registry.js';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from 'type-graphql';
import { AppError } from '../../errors/app-error.js';
import { Caller, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { Connector } from '../connectors/connector.type.js';
import { toConnector } from '../connectors/connector.mapper.js';
import { operationalSettings } from '../../adapters/operations.js';
import { ConnectorSchedule } from './schedule.type.js';
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

  @Mutation(() => Connector, {
    description:
      'Reads history again: the next run starts from `from` (providers with a time cursor) or, without it, from the start. Audited (CONNECTOR_CURSOR_RESET). Enabled: a run is queued now; disabled: takes effect on enable. A run in flight ends without committing its older cursor. Records read again are deduplicated.',
  })
  async resetConnectorCursor(
    @Arg('id', () => ID) id: string,
    @Arg('from', () => Date, { nullable: true, description: 'Re-read what changed at or after this instant; null: from the start.' }) from: Date | null,
    @Arg('reason', () => String) reason: string,
    @Caller('editor') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Connector> {
    const [connector] = await ctx.services.connectors.findByIds(rc.principal, [id]);
    if (!connector) throw AppError.notFound('connector', id);
    ctx.loaders.connector.clear(id);
    return toConnector(await ctx.services.ingestion.resetCursor(rc, connector, from, reason));
  }

  @FieldResolver(() => Date, {
    nullable: true,
    description: 'When the next run starts (cron or interval, held to the next sync window); null while disabled, and for push connectors.',
  })
  async nextSyncAt(@Root() connector: Connector, @Ctx() ctx: GraphQLContext): Promise<Date | null> {
    if (!connector.enabled || connector.isDeleted || isPushProvider(connector.provider)) return null;
    return ctx.services.ingestion.nextSyncAt(connector, await ctx.loaders.queuedSyncStart.load(connector.id));
  }

  @FieldResolver(() => ConnectorSchedule, { nullable: true, description: 'When runs start (config.schedule, config.syncIntervalSec); null for push connectors.' })
  schedule(@Root() connector: Connector): ConnectorSchedule | null {
    if (isPushProvider(connector.provider)) return null;
    const s = operationalSettings(connector.config).schedule;
    return { cron: s.cron, intervalSec: s.cron ? null : s.intervalSec, timezone: s.timezone, windows: s.windows };
  }

  @FieldResolver(() => [IngestionRun], { description: 'Newest first.' })
  async ingestionRuns(@Root() connector: Connector, @Arg('first', () => Int, { defaultValue: 20 }) first: number, @Ctx() ctx: GraphQLContext): Promise<IngestionRun[]> {
    if (!Number.isInteger(first) || first < 0 || first > RUNS_MAX) throw AppError.badInput(`first must be from 0 to ${RUNS_MAX}`);
    const rows = await ctx.loaders.connectorRuns.load({ parentId: connector.id, first, after: null });
    return rows.map(toRun);
  }
}

import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { listAdapters } from '../../adapters/registry.js';
import { toRecordKind } from '../records/record.enums.js';
import type { ConnectorType } from '../../adapters/spi.js';
import { Caller, NullUnless, Requires, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { ConnectorTypeEnum } from '../../graphql/enums.js';
import { boundPage } from '../../graphql/pagination.js';
import { projectionOf } from '../../graphql/selection.js';
import { AuditService } from '../audit/audit.service.js';
import { Application } from '../applications/application.type.js';
import { toApplication } from '../applications/application.mapper.js';
import { AuditEventConnection } from '../audit/audit-event.type.js';
import { toAuditEvent } from '../audit/audit.mapper.js';
import { BulkToggleInput, ConnectorFilter, CreateConnectorInput, TestConnectorConfigInput, UpdateConnectorInput } from './connector.inputs.js';
import { toConnectionTestResult, toConnector } from './connector.mapper.js';
import { BulkToggleOutcome, BulkToggleResult, ConnectionTestResult, Connector, ConnectorConnection, ConnectorProvider, CredentialRotationResult } from './connector.type.js';
import { JSONScalar } from '../../graphql/scalars.js';

const same = <T>(row: T): T => row;
const PAGE = [['nodes'], ['edges', 'node']] as const;
const RESULT_CONNECTOR = [['results', 'connector']] as const;

@Resolver(() => Connector)
export class ConnectorResolver {
  @Query(() => Connector, { nullable: true, description: 'A visible connector, deleted ones included (isDeleted tells).' })
  @Requires('viewer')
  async connector(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<Connector | null> {
    return ctx.loaders.connector.load(id, projectionOf(info));
  }

  @Query(() => ConnectorConnection, { description: 'Newest first; first or last ≤ 200 (neither: first 50). Cursors page only the list (and filter) they came from.' })
  async connectors(
    @Arg('filter', () => ConnectorFilter, { nullable: true }) filter: ConnectorFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'Forwards from after; default 50 unless last is given.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Backwards from before (or from the end of the list).' }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ConnectorConnection> {
    const { principal } = rc;
    const { rows, window, count } = await ctx.services.connectors.list(principal, filter, { first, after, last, before }, projectionOf(info, PAGE));
    return boundPage(rows, window, (row) => row.id, same, Object.assign(new ConnectorConnection(), { countTotal: count }));
  }

  @Query(() => [ConnectorProvider])
  @Requires('viewer')
  connectorProviders(
    @Arg('type', () => ConnectorTypeEnum, { nullable: true }) type: ConnectorType | null,
    @Ctx() ctx: GraphQLContext,
  ): ConnectorProvider[] {
    return listAdapters(type ?? undefined).map(({ spec }) => ({
      id: spec.id,
      type: spec.type,
      name: spec.name,
      description: spec.description,
      authTypes: spec.authTypes,
      configSchema: spec.configSchema,
      credentialsSchema: spec.credentialsSchema,
      requiredCredentials: spec.requiredCredentials as Record<string, string[]>,
      eventTypes: spec.eventTypes,
      documentationUrl: spec.documentationUrl ?? null,
      recordKinds: (spec.recordKinds ?? []).map(toRecordKind),
      schemaVersion: spec.configVersion ?? 1,
    }));
  }

  @Mutation(() => Connector)
  async createConnector(@Arg('input', () => CreateConnectorInput) input: CreateConnectorInput, @Caller('editor') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<Connector> {
    return toConnector(await ctx.services.connectors.create(rc, input));
  }

  @Mutation(() => Connector)
  async updateConnector(
    @Arg('id', () => ID) id: string,
    @Arg('expectedVersion', () => Int) expectedVersion: number,
    @Arg('input', () => UpdateConnectorInput) input: UpdateConnectorInput,
    @Caller('editor') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Connector> {
    ctx.loaders.connector.clear(id);
    return toConnector(await ctx.services.connectors.update(rc, id, expectedVersion, input));
  }

  @Mutation(() => Connector, { description: 'Soft delete: hidden from lists, restorable; also disables the connector.' })
  async deleteConnector(
    @Arg('id', () => ID) id: string,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
    @Caller('editor') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Connector> {
    ctx.loaders.connector.clear(id);
    return toConnector(await ctx.services.connectors.delete(rc, id, expectedVersion));
  }

  @Mutation(() => Connector, {
    description: 'Switches a connector on or off in one step: config and credentials are kept; ingestion starts or stops.',
  })
  async toggleConnector(
    @Arg('id', () => ID) id: string,
    @Arg('enabled', () => Boolean) enabled: boolean,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
    @Caller('editor') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Connector> {
    ctx.loaders.connector.clear(id);
    return toConnector(await ctx.services.connectors.toggle(rc, id, enabled, reason, expectedVersion));
  }

  @Mutation(() => BulkToggleResult, {
    description:
      'Switches up to 1,000 connectors on or off, named by ids or by the connectors filter (exactly one). Each connector goes through toggleConnector in a transaction of its own, with its own audit event carrying bulkId; a failure on one leaves the others as they are. dryRun answers what would change and writes nothing.',
  })
  async toggleConnectors(
    @Arg('input', () => BulkToggleInput) input: BulkToggleInput,
    @Caller('editor') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<BulkToggleResult> {
    const result = await ctx.services.connectors.toggleMany(rc, input);
    for (const { connectorId } of result.results) ctx.loaders.connector.clear(connectorId);
    const count = (outcome: string) => result.results.filter((r) => r.outcome === outcome).length;
    // `results.connector`: every selected connector in one statement, with the selection's columns only.
    const projection = projectionOf(info, RESULT_CONNECTOR);
    return {
      ...result,
      results: result.results.map((r) =>
        Object.assign(new BulkToggleOutcome(), { id: r.connectorId, connectorId: r.connectorId, outcome: r.outcome, error: r.error, loadConnector: () => ctx.loaders.connector.load(r.connectorId, projection) }),
      ),
      counts: {
        total: result.results.length,
        changed: count('CHANGED'),
        unchanged: count('UNCHANGED'),
        notFound: count('NOT_FOUND'),
        versionConflict: count('VERSION_CONFLICT'),
        failed: count('FAILED'),
      },
    };
  }

  @Mutation(() => Connector, {
    description: `Until \`until\` (in the future, at most 30 days ahead), the connector's alert notifications (health changes, failed runs, OAuth refresh failures, toggles by SYSTEM) and automatic disabling by health policies are suppressed; health is still tracked. A person's toggles are still announced.`,
  })
  async snoozeConnectorAlerts(
    @Arg('id', () => ID) id: string,
    @Arg('until', () => Date) until: Date,
    @Arg('reason', () => String) reason: string,
    @Caller('editor') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Connector> {
    ctx.loaders.connector.clear(id);
    return toConnector(await ctx.services.connectors.snoozeAlerts(rc, id, until, reason));
  }

  @Mutation(() => Connector, { description: 'Ends a snooze early; a connector that is not snoozed is returned unchanged.' })
  async unsnoozeConnectorAlerts(
    @Arg('id', () => ID) id: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Caller('editor') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Connector> {
    ctx.loaders.connector.clear(id);
    return toConnector(await ctx.services.connectors.unsnoozeAlerts(rc, id, reason));
  }

  @Mutation(() => CredentialRotationResult, {
    description: 'Admins: writes new credentials as a new version, tests them (unless skipTest), and makes them active only if the test passes.',
  })
  async rotateCredentials(
    @Arg('id', () => ID) id: string,
    @Arg('credentials', () => JSONScalar, { description: 'Write-only.' }) credentials: unknown,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
    @Arg('skipTest', () => Boolean, { defaultValue: false }) skipTest: boolean,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CredentialRotationResult> {
    ctx.loaders.connector.clear(id);
    const outcome = await ctx.services.rotations.rotate(rc, id, credentials, expectedVersion, skipTest);
    return { rotated: outcome.rotated, connector: toConnector(outcome.connector), test: outcome.test && toConnectionTestResult(outcome.test) };
  }

  @Mutation(() => Boolean, { description: 'Admins: removes a soft-deleted connector and every version of its secrets.' })
  async purgeConnector(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    ctx.loaders.connector.clear(id);
    return ctx.services.connectors.purge(rc, id);
  }

  @Mutation(() => Connector, { description: 'Brings back a soft-deleted connector, disabled.' })
  async restoreConnector(@Arg('id', () => ID) id: string, @Caller('editor') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<Connector> {
    ctx.loaders.connector.clear(id);
    return toConnector(await ctx.services.connectors.restore(rc, id));
  }

  @Mutation(() => ConnectionTestResult, {
    description: 'Tests a stored connector against its upstream (authentication, a sample query, latency); stored as lastTest.',
  })
  async testConnector(@Arg('id', () => ID) id: string, @Caller('editor') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<ConnectionTestResult> {
    ctx.loaders.connector.clear(id);
    return toConnectionTestResult(await ctx.services.connectorTests.testStored(rc, id));
  }

  @Mutation(() => ConnectionTestResult, { description: 'Tests a draft configuration before creating a connector; nothing is stored.' })
  async testConnectorConfig(@Arg('input', () => TestConnectorConfigInput) input: TestConnectorConfigInput, @Caller('editor') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<ConnectionTestResult> {
    return toConnectionTestResult(await ctx.services.connectorTests.testDraft(rc, input));
  }

  @FieldResolver(() => String, { nullable: true, description: 'Admins only; null for others.' })
  @NullUnless('admin')
  vaultPath(@Root() connector: Connector): string | null {
    return connector.vaultPath;
  }

  @FieldResolver(() => Application, { nullable: true })
  async application(@Root() connector: Connector, @Ctx() ctx: GraphQLContext): Promise<Application | null> {
    if (!connector.applicationId) return null;
    const row = await ctx.loaders.application.load(connector.applicationId);
    return row && toApplication(row);
  }

  @FieldResolver(() => AuditEventConnection, { description: 'This connector\'s audit trail, newest first; first or last ≤ 100 (neither: first 20).' })
  async auditEvents(
    @Root() connector: Connector,
    @Arg('first', () => Int, { nullable: true, description: 'Forwards from after; default 20 unless last is given.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Backwards from before (or from the oldest event).' }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuditEventConnection> {
    // Argument errors belong to this field, not to the batch it would have joined.
    const window = AuditService.connectorWindow(connector.id, { first, after, last, before });
    const rows = await ctx.loaders.connectorAuditEvents.load({ parentId: connector.id, window });
    return boundPage(rows, window, (row) => row.id, toAuditEvent, new AuditEventConnection());
  }
}

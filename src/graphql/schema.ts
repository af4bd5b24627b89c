import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { graphql, parse, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import 'reflect-metadata';
import { buildSchema, createResolversMap } from 'type-graphql';
import { ApiKeyResolver } from '../modules/applications/api-key.resolver.js';
import { ApplicationResolver } from '../modules/applications/application.resolver.js';
import { toApplication } from '../modules/applications/application.mapper.js';
import { AuditResolver } from '../modules/audit/audit.resolver.js';
import { CallerResolver } from '../modules/caller/caller.resolver.js';
import { toAuditEvent } from '../modules/audit/audit.mapper.js';
import { ConnectorResolver } from '../modules/connectors/connector.resolver.js';
import { HealthResolver } from '../modules/health/health.resolver.js';
import { IngestionResolver } from '../modules/ingestion/ingestion.resolver.js';
import { ConnectorIntakeTokensResolver, IntakeTokenResolver } from '../modules/intake/intake-token.resolver.js';
import { NormalizationResolver } from '../modules/normalization/normalization.resolver.js';
import { WebhookResolver } from '../modules/notifications/webhook.resolver.js';
import { toWebhookEndpoint } from '../modules/notifications/webhook.mapper.js';
import { ConnectorRecordsResolver, RecordResolver } from '../modules/records/record.resolver.js';
import { toRecord } from '../modules/records/record.mapper.js';
import { hasRole, ROLES, type Role } from '../auth/principal.js';
import { withAuthDirectives } from './access.js';
import { caller, type GraphQLContext } from './context.js';
import { DateTimeScalar } from './scalars.js';
import { dropPlainFieldResolvers } from './plain-fields.js';
import { projectionOf } from './selection.js';

export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@authenticated", "@requiresScopes"])';

type Ref = { id: string };

/**
 * The entities a gateway resolves here, each with the role its references need: checked by
 * `__resolveReference` and printed on the entity's fields for the router (access.ts). They load
 * through the per-request, tenant-scoped loaders: any number of references costs one statement
 * per entity type; another tenant's id resolves to null. `belowRole: 'null'`: a caller below the
 * role gets null too, as for an id it cannot see, instead of FORBIDDEN.
 */
const entities: Record<string, { role: Role; belowRole?: 'null'; load(ref: Ref, ctx: GraphQLContext, info: GraphQLResolveInfo): Promise<unknown> }> = {
  Connector: {
    role: 'viewer',
    // Only the columns the gateway's selection on Connector needs, every reference in one statement.
    load: (ref, ctx, info) => ctx.loaders.connector.load(ref.id, projectionOf(info)),
  },
  Application: {
    role: 'viewer',
    async load(ref, ctx) {
      const row = await ctx.loaders.application.load(ref.id);
      // As `application(id)`: a deleted application is gone for readers.
      return row && !row.isDeleted ? toApplication(row) : null;
    },
  },
  AuditEvent: {
    role: 'viewer',
    async load(ref, ctx) {
      const row = await ctx.loaders.auditEvent.load(ref.id);
      return row && toAuditEvent(row);
    },
  },
  Record: {
    role: 'viewer',
    async load(ref, ctx) {
      // Visible only with its connector (not deleted); another tenant's id resolves to null.
      const row = await ctx.loaders.record.load(ref.id);
      return row && toRecord(row);
    },
  },
  WebhookEndpoint: {
    // As webhookEndpoint(id): admins of its tenant (and application, for application tokens); never the secret.
    role: 'admin',
    belowRole: 'null',
    async load(ref, ctx) {
      const row = await ctx.loaders.webhookEndpoint.load(ref.id);
      return row && toWebhookEndpoint(row);
    },
  },
};

/**
 * type-graphql has no federation support and its printer drops `@key`: build its schema, print it
 * with the directives, add the Federation 2 `@link` and the auth directives of the declared roles
 * (access.ts), and hand that with type-graphql's resolvers to `buildSubgraphSchema` (STACK.md).
 */
export async function buildFederatedSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [ConnectorResolver, ApplicationResolver, ApiKeyResolver, AuditResolver, IngestionResolver, HealthResolver, NormalizationResolver, RecordResolver, ConnectorRecordsResolver, IntakeTokenResolver, ConnectorIntakeTokensResolver, WebhookResolver, CallerResolver],
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: false,
  });
  const entityRoles = Object.fromEntries(Object.entries(entities).map(([type, { role }]) => [type, role]));
  const typeDefs = withAuthDirectives(parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`), schema, entityRoles);
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<unknown>;
  // Plain properties resolve with graphql-js's default resolver, not a type-graphql wrapper per value.
  dropPlainFieldResolvers(resolvers);
  for (const [type, { role, belowRole, load }] of Object.entries(entities)) {
    const __resolveReference = (ref: Ref, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
      if (belowRole !== 'null') caller(ctx, role);
      else if (!hasRole(caller(ctx, ROLES[0]).principal, role)) return null;
      return load(ref, ctx, info);
    };
    resolvers[type] = { ...(resolvers[type] as object), __resolveReference } as GraphQLResolverMap<unknown>[string];
  }
  return buildSubgraphSchema({ typeDefs, resolvers });
}

/** The SDL a gateway sees in `_service { sdl }`, as committed in schema/connectors.graphql. */
export async function printFederatedSchema(schema: GraphQLSchema): Promise<string> {
  const result = await graphql({ schema, source: '{ _service { sdl } }' });
  const sdl = (result.data?._service as { sdl?: string } | undefined)?.sdl;
  if (!sdl) throw new Error(`could not print the subgraph SDL: ${JSON.stringify(result.errors)}`);
  return sdl.trimEnd() + '\n';
}

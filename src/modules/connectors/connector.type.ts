import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { AuthType, ConnectorType } from '../../adapters/spi.js';
import {
  AuthTypeEnum,
  ConnectorScopeEnum,
  ConnectorTypeEnum,
  HealthStatusEnum,
  RunStateEnum,
  SourceTypeEnum,
  TestStepNameEnum,
} from '../../graphql/enums.js';
import { PageInfo } from '../../graphql/pagination.js';
import { JSONScalar } from '../../graphql/scalars.js';
import type { ConnectorScope, HealthStatus, RunState, SourceType } from './connector.enums.js';
import { RecordKindEnum, type RecordKind } from '../records/record.enums.js';

@ObjectType()
export class ConnectorMetrics {
  @Field(() => Int) totalSynced!: number;
  @Field(() => Int) last24h!: number;
  @Field(() => Float, { nullable: true }) avgLatencyMs!: number | null;
}

@ObjectType()
export class ConnectionTestStep {
  @Field(() => TestStepNameEnum) name!: string;
  @Field(() => Boolean) passed!: boolean;
  @Field(() => Float, { nullable: true }) latencyMs!: number | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field(() => Boolean, { nullable: true }) retryable!: boolean | null;
  @Field(() => String, { nullable: true }) remediation!: string | null;
}

@ObjectType()
export class ConnectionTestResult {
  @Field(() => Boolean) success!: boolean;
  @Field(() => Date) testedAt!: Date;
  @Field(() => Float) latencyMs!: number;
  @Field(() => [ConnectionTestStep]) steps!: ConnectionTestStep[];
  @Field(() => [JSONScalar], { description: 'At most 5 normalized records; secrets never included.' })
  sample!: unknown[];
  @Field(() => String, { nullable: true }) message!: string | null;
}

/** A tenant's external data source, as clients see it: no secret values, ever. */
@Directive('@key(fields: "id")')
@ObjectType()
export class Connector {
  @Field(() => ID, { description: 'Type-prefixed ULID (cnn_…).' }) id!: string;
  @Field(() => String) tenantId!: string;
  @Field(() => String, { nullable: true, description: 'The application whose token created the connector.' })
  appId!: string | null;
  @Field(() => ID, { nullable: true }) applicationId!: string | null;
  @Field(() => String) name!: string;
  @Field(() => ConnectorTypeEnum) type!: ConnectorType;
  @Field(() => String, { description: 'Provider id, e.g. "generic_rest", "nvd".' }) provider!: string;
  @Field(() => ConnectorScopeEnum) scope!: ConnectorScope;
  @Field(() => String, { nullable: true }) ownerId!: string | null;
  @Field(() => String, { nullable: true }) groupId!: string | null;
  @Field(() => String, { nullable: true }) userId!: string | null;
  @Field(() => JSONScalar, { description: 'Non-secret configuration only.' }) config!: Record<string, unknown>;
  @Field(() => AuthTypeEnum) authType!: AuthType;
  @Field(() => String, { nullable: true, description: 'Admins only; null for others.' }) vaultPath!: string | null;
  @Field(() => [String], { description: 'Names of the secret fields that are set; never their values.' })
  credentialFields!: string[];
  @Field(() => Int, { nullable: true }) credentialVersion!: number | null;
  @Field(() => Date, { nullable: true }) credentialLastRotatedAt!: Date | null;
  @Field(() => Date, { nullable: true }) nextRotationDue!: Date | null;
  @Field(() => Boolean) oauthRefreshNeeded!: boolean;
  @Field(() => Date, { nullable: true }) oauthTokenExpiresAt!: Date | null;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => Date, { nullable: true, description: 'When `enabled` last changed.' }) enabledChangedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Who last changed `enabled` (a user, an API key, or "system").' })
  enabledChangedBy!: string | null;
  @Field(() => String, { nullable: true, description: 'Why `enabled` last changed.' }) enabledReason!: string | null;
  @Field(() => HealthStatusEnum) syncStatus!: HealthStatus;
  @Field(() => RunStateEnum) runState!: RunState;
  @Field(() => Date, { nullable: true }) lastSyncAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastCheckedAt!: Date | null;
  @Field(() => Int) consecutiveErrors!: number;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => ConnectorMetrics) metrics!: ConnectorMetrics;
  @Field(() => [String]) eventTypes!: string[];
  @Field(() => String, { nullable: true }) webhookEndpointId!: string | null;
  @Field(() => [String]) tags!: string[];
  @Field(() => ConnectionTestResult, { nullable: true }) lastTest!: ConnectionTestResult | null;
  @Field(() => Int) version!: number;
  @Field(() => Int) schemaVersion!: number;
  @Field(() => String, { description: 'Provenance tag set by the client (default "edm").' }) source!: string;
  @Field(() => SourceTypeEnum, { description: 'Where the last versioned write came from: SYSTEM, API (API keys), or the X-Source-Type a person\'s client declared (FRONTEND by default).' })
  sourceType!: SourceType;
  @Field(() => Date, { nullable: true, description: 'While in the future, alert notifications and automatic disabling are suppressed; null when not snoozed.' })
  alertsSnoozedUntil!: Date | null;
  @Field(() => String, { nullable: true, description: 'Why the alerts are snoozed; null when not snoozed.' }) alertsSnoozeReason!: string | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date) updatedAt!: Date;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field(() => String, { nullable: true }) updatedBy!: string | null;
  @Field(() => Boolean) isDeleted!: boolean;
  @Field(() => Date, { nullable: true }) deletedAt!: Date | null;
  @Field(() => String, { nullable: true }) deletedBy!: string | null;
}

@ObjectType()
export class ConnectorEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Connector) node!: Connector;
}

@ObjectType()
export class ConnectorConnection {
  @Field(() => [ConnectorEdge]) edges!: ConnectorEdge[];
  @Field(() => [Connector]) nodes!: Connector[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  /** Counted only when a client asks for it. */
  @Field(() => Int)
  totalCount(): Promise<number> {
    return this.countTotal();
  }
  countTotal!: () => Promise<number>;
}

@ObjectType()
export class ConnectorProvider {
  @Field(() => String, { description: 'The `provider` value.' }) id!: string;
  @Field(() => ConnectorTypeEnum) type!: ConnectorType;
  @Field(() => String) name!: string;
  @Field(() => String) description!: string;
  @Field(() => [AuthTypeEnum]) authTypes!: AuthType[];
  @Field(() => JSONScalar, { description: 'JSON Schema of the configuration.' }) configSchema!: Record<string, unknown>;
  @Field(() => JSONScalar, { description: 'JSON Schema of the credentials; every property is secret.' })
  credentialsSchema!: Record<string, unknown>;
  @Field(() => JSONScalar, { description: 'Required credential fields per auth type.' })
  requiredCredentials!: Record<string, string[]>;
  @Field(() => [String], { description: 'The streams or record subtypes a connector can ingest; a connector lists the ones it reads.' })
  eventTypes!: string[];
  @Field(() => String, { nullable: true, description: "Where the vendor documents the API the provider reads." })
  documentationUrl!: string | null;
  @Field(() => [RecordKindEnum], { description: 'Kinds of normalized records the provider produces.' })
  recordKinds!: RecordKind[];
  @Field(() => Int, { description: "Version of the provider's config schema; connectors of older versions are upgraded at start-up." })
  schemaVersion!: number;
}

@ObjectType()
export class CredentialRotationResult {
  @Field(() => Boolean, { description: 'False when the new credentials failed their test: the previous ones stay active.' })
  rotated!: boolean;
  @Field(() => Connector) connector!: Connector;
  @Field(() => ConnectionTestResult, { nullable: true, description: 'The test of the new credentials; null with skipTest.' })
  test!: ConnectionTestResult | null;
}

export const BULK_OUTCOMES = ['CHANGED', 'UNCHANGED', 'NOT_FOUND', 'FORBIDDEN', 'VERSION_CONFLICT', 'FAILED'] as const;
export type BulkOutcome = (typeof BULK_OUTCOMES)[number];
const BulkOutcomeEnum = Object.fromEntries(BULK_OUTCOMES.map((v) => [v, v])) as Record<BulkOutcome, string>;
registerEnumType(BulkOutcomeEnum, {
  name: 'BulkOutcome',
  description: 'What toggleConnectors did (or, with dryRun, would do) to one connector; each answers as toggleConnector would for that connector alone.',
  valuesConfig: {
    CHANGED: { description: 'Switched, with its own audit event carrying bulkId.' },
    UNCHANGED: { description: 'Already in the asked state; nothing written.' },
    NOT_FOUND: {
      description:
        'No such connector the caller can see (unknown, another tenant, another application for an application token, or a GROUP or USER scope the caller is outside of), or it no longer matches the filter.',
    },
    FORBIDDEN: {
      description:
        'Reserved: the caller sees the connector but may not switch it. Not produced today: switching needs the editor role (WRITE for API keys), which toggleConnectors itself requires of the whole call (FORBIDDEN as an error), and every connector a caller can see it may switch, as toggleConnector does; a connector outside the caller\'s scope, application or tenant is NOT_FOUND. It would appear if a per-connector permission finer than visibility were added.',
    },
    VERSION_CONFLICT: { description: 'Not at its expected version (expectedVersions).' },
    FAILED: { description: 'Refused or failed for another reason (e.g. deleted); `error` says why.' },
  },
});

/** One connector's result in a toggleConnectors answer. */
@ObjectType({ description: "One connector's result in a toggleConnectors answer." })
export class BulkToggleOutcome {
  @Field(() => ID, { description: 'The connector, as named in ids (or matched by the filter).' }) id!: string;
  @Field(() => ID, { description: 'The same value as id.' }) connectorId!: string;
  @Field(() => BulkOutcomeEnum) outcome!: BulkOutcome;
  @Field(() => String, { nullable: true, description: 'Why, for NOT_FOUND, VERSION_CONFLICT and FAILED; null otherwise.' }) error!: string | null;
  @Field(() => Connector, { nullable: true, description: 'The connector as it is after the call, as connector(id) shows it; null when the caller cannot see it.' })
  connector(): Promise<Connector | null> {
    return this.loadConnector();
  }
  loadConnector!: () => Promise<Connector | null>;
}

@ObjectType()
export class BulkToggleCounts {
  @Field(() => Int) total!: number;
  @Field(() => Int) changed!: number;
  @Field(() => Int) unchanged!: number;
  @Field(() => Int) notFound!: number;
  @Field(() => Int) versionConflict!: number;
  @Field(() => Int) failed!: number;
}

@ObjectType()
export class BulkToggleResult {
  @Field(() => ID, { description: 'Carried by the audit event of every connector the call changed (auditEvents(filter: { bulkId })).' })
  bulkId!: string;
  @Field(() => Boolean, { description: 'True: nothing was written; the results are what would happen.' }) dryRun!: boolean;
  @Field(() => [BulkToggleOutcome], { description: 'One per connector, in the order of ids (or newest first for a filter).' }) results!: BulkToggleOutcome[];
  @Field(() => BulkToggleCounts) counts!: BulkToggleCounts;
}

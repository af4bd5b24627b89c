import { Field, ID, InputType, Int } from 'type-graphql';
import type { AuthType, ConnectorType } from '../../adapters/spi.js';
import { AuthTypeEnum, ConnectorScopeEnum, ConnectorTypeEnum, HealthStatusEnum } from '../../graphql/enums.js';
import { JSONScalar } from '../../graphql/scalars.js';
import type { ConnectorScope, HealthStatus } from './connector.enums.js';

@InputType()
export class ConnectorFilter {
  @Field(() => ConnectorTypeEnum, { nullable: true }) type?: ConnectorType;
  @Field(() => String, { nullable: true }) provider?: string;
  @Field(() => Boolean, { nullable: true }) enabled?: boolean;
  @Field(() => [HealthStatusEnum], { nullable: true }) syncStatus?: HealthStatus[];
  @Field(() => ID, { nullable: true }) applicationId?: string;
  @Field(() => ConnectorScopeEnum, { nullable: true }) scope?: ConnectorScope;
  @Field(() => String, { nullable: true }) tag?: string;
  @Field(() => String, { nullable: true, description: 'Name contains, case-insensitive.' }) search?: string;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) includeDeleted?: boolean;
}

@InputType()
export class CreateConnectorInput {
  @Field(() => String) name!: string;
  @Field(() => String) provider!: string;
  @Field(() => ConnectorScopeEnum, { nullable: true, defaultValue: 'ORG' }) scope?: ConnectorScope;
  @Field(() => String, { nullable: true }) groupId?: string;
  @Field(() => String, { nullable: true }) userId?: string;
  @Field(() => ID, { nullable: true }) applicationId?: string;
  @Field(() => JSONScalar, { nullable: true, description: 'Omitted: {}.' }) config?: Record<string, unknown>;
  @Field(() => AuthTypeEnum, { nullable: true, defaultValue: 'NONE' }) authType?: AuthType;
  @Field(() => JSONScalar, { nullable: true, description: 'Write-only.' }) credentials?: Record<string, unknown>;
  @Field(() => [String], { nullable: true }) eventTypes?: string[];
  @Field(() => [String], { nullable: true }) tags?: string[];
  @Field(() => String, { nullable: true, description: "A webhook endpoint of your tenant (an application token: of its application, or a tenant-wide one) that also gets this connector's notifications; anything else is BAD_USER_INPUT." })
  webhookEndpointId?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Connectors are created disabled unless asked.' })
  enabled?: boolean;
  @Field(() => String, { nullable: true, description: 'Provenance tag, 1–64 characters of a-z 0-9 _ . - (default "edm").' })
  source?: string;
}

/** Omitted fields are unchanged; credentials change only through rotateCredentials. */
@InputType()
export class UpdateConnectorInput {
  @Field(() => String, { nullable: true }) name?: string;
  @Field(() => ConnectorScopeEnum, { nullable: true }) scope?: ConnectorScope;
  @Field(() => String, { nullable: true }) groupId?: string;
  @Field(() => String, { nullable: true }) userId?: string;
  @Field(() => ID, { nullable: true }) applicationId?: string;
  @Field(() => JSONScalar, { nullable: true }) config?: Record<string, unknown>;
  @Field(() => AuthTypeEnum, { nullable: true }) authType?: AuthType;
  @Field(() => [String], { nullable: true }) eventTypes?: string[];
  @Field(() => [String], { nullable: true }) tags?: string[];
  @Field(() => String, { nullable: true, description: "A webhook endpoint of your tenant (an application token: of its application, or a tenant-wide one) that also gets this connector's notifications; anything else is BAD_USER_INPUT. Null clears it." })
  webhookEndpointId?: string | null;
  @Field(() => String, { nullable: true, description: 'Provenance tag, 1–64 characters of a-z 0-9 _ . -.' }) source?: string;
}

/** `toggleConnectors`: exactly one of `ids` and `filter`, at most 1,000 connectors. */
@InputType({ description: 'toggleConnectors: exactly one of ids and filter, at most 1,000 connectors.' })
export class BulkToggleInput {
  @Field(() => [ID], { nullable: true, description: 'The connectors to switch, at most 1,000, each once.' }) ids?: string[] | null;
  @Field(() => [Int], { nullable: true, description: 'With ids only: the version each connector is expected at, in the order of ids (VERSION_CONFLICT otherwise).' })
  expectedVersions?: number[] | null;
  @Field(() => ConnectorFilter, { nullable: true, description: "The `connectors` query's filter; it must match at most 1,000 connectors." })
  filter?: ConnectorFilter | null;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => String, { description: 'Required; recorded on every audit event of the call.' }) reason!: string;
  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Answer what would change, and write nothing.' }) dryRun?: boolean;
}

@InputType()
export class TestConnectorConfigInput {
  @Field(() => String) provider!: string;
  @Field(() => JSONScalar, { nullable: true, description: 'Omitted: {}.' }) config?: Record<string, unknown>;
  @Field(() => AuthTypeEnum, { nullable: true, defaultValue: 'NONE' }) authType?: AuthType;
  @Field(() => JSONScalar, { nullable: true, description: 'Write-only; used for this test and dropped.' }) credentials?: Record<string, unknown>;
}

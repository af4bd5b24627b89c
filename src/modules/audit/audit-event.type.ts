import { Directive, Field, ID, InputType, ObjectType } from 'type-graphql';
import { ActorTypeEnum, AuditEventTypeEnum, SourceTypeEnum } from '../../graphql/enums.js';
import type { SourceType } from '../connectors/connector.enums.js';
import { PageInfo } from '../../graphql/pagination.js';
import { JSONScalar } from '../../graphql/scalars.js';
import type { ActorType, AuditEventType } from './audit.enums.js';

@Directive('@key(fields: "id")')
@ObjectType({ description: 'One recorded change. Append-only; secret values never appear.' })
export class AuditEvent {
  @Field(() => ID, { description: 'Type-prefixed ULID (aud_…).' }) id!: string;
  @Field(() => String) tenantId!: string;
  @Field(() => String, { nullable: true }) appId!: string | null;
  @Field(() => AuditEventTypeEnum) eventType!: AuditEventType;
  @Field(() => Date) occurredAt!: Date;
  @Field(() => ActorTypeEnum) actorType!: ActorType;
  @Field(() => String, { nullable: true }) actorId!: string | null;
  @Field(() => String, { nullable: true }) actorEmail!: string | null;
  @Field(() => String) targetType!: string;
  @Field(() => String) targetId!: string;
  /** Set for events about a connector; resolved by `AuditEvent.connector`. */
  connectorId!: string | null;
  @Field(() => JSONScalar, { nullable: true, description: '{ field: { before, after } }; secret values replaced by "[REDACTED]".' })
  changes!: Record<string, unknown> | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true }) requestId!: string | null;
  @Field(() => String, { nullable: true }) clientIp!: string | null;
  @Field(() => String, { nullable: true }) userAgent!: string | null;
  @Field(() => ID, { nullable: true, description: 'The toggleConnectors call the event belongs to (bulkId of its answer).' })
  bulkId!: string | null;
  @Field(() => SourceTypeEnum, { nullable: true, description: 'Where the write came from; null on events older than the field.' })
  sourceType!: SourceType | null;
}

@ObjectType()
export class AuditEventEdge {
  @Field(() => String) cursor!: string;
  @Field(() => AuditEvent) node!: AuditEvent;
}

@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEventEdge]) edges!: AuditEventEdge[];
  @Field(() => [AuditEvent]) nodes!: AuditEvent[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@InputType()
export class AuditEventFilter {
  @Field(() => [AuditEventTypeEnum], { nullable: true }) eventType?: AuditEventType[];
  @Field(() => Date, { nullable: true, description: 'occurredAt >= startDate' }) startDate?: Date;
  @Field(() => Date, { nullable: true, description: 'occurredAt < endDate' }) endDate?: Date;
  @Field(() => String, { nullable: true }) userEmail?: string;
  @Field(() => String, { nullable: true }) actorId?: string;
  @Field(() => ID, { nullable: true }) targetId?: string;
  @Field(() => ID, { nullable: true, description: 'The events of one toggleConnectors call.' }) bulkId?: string;
}

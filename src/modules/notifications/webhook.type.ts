import { Directive, Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from '../../graphql/pagination.js';
import { NOTIFICATION_EVENT_TYPES, type NotificationEventName } from './notification.events.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from './notification.service.js';

export const WebhookEventTypeEnum = Object.fromEntries(Object.keys(NOTIFICATION_EVENT_TYPES).map((k) => [k, k])) as Record<NotificationEventName, NotificationEventName>;
registerEnumType(WebhookEventTypeEnum, {
  name: 'WebhookEventType',
  description: 'What a webhook can announce. The payload\'s `type` is the dotted name (CONNECTOR_HEALTH_CHANGED is "connector.health_changed").',
  valuesConfig: Object.fromEntries(Object.entries(NOTIFICATION_EVENT_TYPES).map(([k, wire]) => [k, { description: `"${wire}"` }])),
});

export const WebhookDeliveryStatusEnum = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, s])) as Record<DeliveryStatus, DeliveryStatus>;
registerEnumType(WebhookDeliveryStatusEnum, {
  name: 'WebhookDeliveryStatus',
  description: 'PENDING: not tried yet; RETRYING: failed, retried at nextAttemptAt; SUCCEEDED: answered 2xx; FAILED: every attempt failed; SKIPPED: the endpoint was disabled.',
});

/**
 * An entity: another subgraph may hold a reference (`{ __typename: "WebhookEndpoint", id }`) and the
 * gateway resolves it here (src/graphql/schema.ts), for admins of the endpoint's tenant (and its
 * application, for application tokens) only; anyone else gets null. The secret is never a field.
 */
@Directive('@key(fields: "id")')
@ObjectType({
  description:
    'Where notifications go: signed per Standard Webhooks. Admins only (a reference through _entities resolves for admins of its tenant, null for anyone else). The signing secret is shown once (create, rotate) and is never a field of the endpoint.',
})
export class WebhookEndpoint {
  @Field(() => ID, { description: 'Type-prefixed ULID (whk_…).' }) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) url!: string;
  @Field(() => [WebhookEventTypeEnum]) eventTypes!: NotificationEventName[];
  @Field(() => [ID], { nullable: true, description: 'Only these connectors\' events (plus connectors whose webhookEndpointId names this endpoint); null: every connector.' })
  connectorIds!: string[] | null;
  @Field(() => ID, { nullable: true, description: 'Set for endpoints created with an application token: only that application\'s connectors.' })
  applicationId!: string | null;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => Date, { nullable: true, description: 'Set when every attempt of a delivery failed and the endpoint was switched off; cleared when it is enabled again.' })
  failingSince!: Date | null;
  @Field(() => String, { nullable: true }) disabledReason!: string | null;
  @Field(() => Int, { description: 'Version of the signing secret in the secret store.' }) secretVersion!: number;
  @Field(() => Date) createdAt!: Date;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field(() => Date) updatedAt!: Date;
  @Field(() => Int) version!: number;
}

@ObjectType({ description: 'A webhook endpoint with its signing secret: the answer of createWebhookEndpoint and rotateWebhookSecret, the only place the secret is shown.' })
export class CreatedWebhookEndpoint {
  @Field(() => WebhookEndpoint) endpoint!: WebhookEndpoint;
  @Field(() => String, { description: 'whsec_ + base64 of 32 bytes (Standard Webhooks). Shown once: keep it with the receiver.' }) secret!: string;
  @Field(() => String, { deprecationReason: 'Use secret', description: 'The same value as secret.' }) signingSecret!: string;
}

@ObjectType({ description: 'One event sent (or being sent) to one endpoint. Never the secret nor the response body.' })
export class WebhookDelivery {
  @Field(() => ID, { description: 'Type-prefixed ULID (dlv_…).' }) id!: string;
  @Field(() => ID) endpointId!: string;
  @Field(() => ID, { description: 'The event, and the webhook-id header: the same on every attempt and redelivery.' }) eventId!: string;
  @Field(() => WebhookEventTypeEnum) eventType!: NotificationEventName;
  @Field(() => ID, { nullable: true }) connectorId!: string | null;
  @Field(() => WebhookDeliveryStatusEnum) status!: DeliveryStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => Date, { nullable: true }) nextAttemptAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastAttemptAt!: Date | null;
  @Field(() => Int, { nullable: true, description: 'HTTP status of the last attempt; null when no response came.' }) responseStatus!: number | null;
  @Field(() => Float, { nullable: true, description: 'How long the last attempt took, in milliseconds; null until an attempt was made.' }) latencyMs!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Date, { nullable: true }) deliveredAt!: Date | null;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType()
export class WebhookDeliveryEdge {
  @Field(() => String) cursor!: string;
  @Field(() => WebhookDelivery) node!: WebhookDelivery;
}

@ObjectType()
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge]) edges!: WebhookDeliveryEdge[];
  @Field(() => [WebhookDelivery]) nodes!: WebhookDelivery[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@InputType()
export class CreateWebhookEndpointInput {
  @Field(() => String) name!: string;
  @Field(() => String, { description: 'http(s); reachable under the egress policy (EGRESS_ALLOW for private addresses).' }) url!: string;
  @Field(() => [WebhookEventTypeEnum]) eventTypes!: NotificationEventName[];
  @Field(() => [ID], { nullable: true, description: 'Limit to these connectors (at most 1000); omit for every connector.' }) connectorIds?: string[] | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) enabled?: boolean | null;
}

@InputType()
export class UpdateWebhookEndpointInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => [WebhookEventTypeEnum], { nullable: true }) eventTypes?: NotificationEventName[] | null;
  @Field(() => [ID], { nullable: true, description: 'null: every connector.' }) connectorIds?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: 'true on a failing endpoint clears failingSince.' }) enabled?: boolean | null;
}

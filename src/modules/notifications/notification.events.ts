import type { EntityManager } from 'typeorm';

/**
 * The events a tenant can be notified of, as webhook payloads name them (`type`), and as the API
 * names them (`WebhookEventType`). Payloads are small and never carry a secret.
 */
export const NOTIFICATION_EVENT_TYPES = {
  CONNECTOR_HEALTH_CHANGED: 'connector.health_changed',
  CONNECTOR_AUTO_DISABLED: 'connector.auto_disabled',
  CONNECTOR_TOGGLED: 'connector.toggled',
  CONNECTOR_TEST_FAILED: 'connector.test_failed',
  INGESTION_RUN_FAILED: 'ingestion.run_failed',
  CREDENTIALS_ROTATION_DUE: 'credentials.rotation_due',
  CREDENTIALS_ROTATED: 'credentials.rotated',
  OAUTH_TOKEN_REFRESH_FAILED: 'oauth.token_refresh_failed',
  /** Sent by `sendTestWebhook` to one endpoint only; nobody subscribes to it. */
  WEBHOOK_TEST: 'webhook.test',
} as const;

export type NotificationEventName = keyof typeof NOTIFICATION_EVENT_TYPES;
export type NotificationWireType = (typeof NOTIFICATION_EVENT_TYPES)[NotificationEventName];

/** What endpoints may subscribe to. */
export const SUBSCRIBABLE_EVENTS: NotificationEventName[] = (Object.keys(NOTIFICATION_EVENT_TYPES) as NotificationEventName[]).filter((name) => name !== 'WEBHOOK_TEST');

/** The connector an event concerns, as the payload shows it. */
export interface ConnectorRef {
  id: string;
  tenantId: string;
  applicationId: string | null;
  name: string;
  provider: string;
  type: string;
}

/** One event to emit: written with its deliveries in the caller's transaction. */
export interface NotificationInput {
  type: NotificationEventName;
  connector: ConnectorRef;
  data: Record<string, unknown>;
  /** At most one event per tenant and key (e.g. a rotation due on one date). */
  dedupKey?: string;
}

/**
 * Alerts the system raises on its own about a connector: suppressed while the connector's alerts are
 * snoozed (`snoozeConnectorAlerts`). What a person or an API key did (a toggle, a rotation, a test
 * they ran) is still announced, and so are rotation reminders (not an alert about the connector's
 * behaviour, and deduplicated per due date).
 */
export const SNOOZABLE_EVENTS: ReadonlySet<NotificationEventName> = new Set<NotificationEventName>([
  'CONNECTOR_HEALTH_CHANGED',
  'CONNECTOR_AUTO_DISABLED',
  'INGESTION_RUN_FAILED',
  'OAUTH_TOKEN_REFRESH_FAILED',
]);

/** Whether a snooze of the event's connector suppresses it: the alerts above, and toggles by SYSTEM (policies, schedules). */
export function isSnoozable(input: NotificationInput): boolean {
  if (!input.connector.id) return false;
  if (SNOOZABLE_EVENTS.has(input.type)) return true;
  return input.type === 'CONNECTOR_TOGGLED' && (input.data.actor as { type?: string } | undefined)?.type === 'SYSTEM';
}

/** Emits an event in `m`, the transaction of the change (NotificationService.emit). */
export type Notify = (m: EntityManager, input: NotificationInput) => Promise<unknown>;

/** A connector row as read with snake_case columns, as events name it. */
export function connectorRefOfRow(c: Record<string, unknown>): ConnectorRef {
  return {
    id: c.id as string,
    tenantId: c.tenant_id as string,
    applicationId: (c.application_id as string | null) ?? null,
    name: c.name as string,
    provider: c.provider as string,
    type: c.type as string,
  };
}

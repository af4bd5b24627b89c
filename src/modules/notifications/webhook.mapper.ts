import type { WebhookEndpointRow } from './webhook-endpoint.service.js';
import { WebhookEndpoint } from './webhook.type.js';

/** What a reader sees of an endpoint: not its tenant nor who changed it last (the secret is not in the row at all). */
export function toWebhookEndpoint(row: WebhookEndpointRow): WebhookEndpoint {
  const { tenantId: _tenant, updatedBy: _by, ...visible } = row;
  return Object.assign(new WebhookEndpoint(), visible);
}

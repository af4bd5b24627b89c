import type { Principal } from '../../auth/principal.js';
import { byIdLoader } from '../../graphql/batch.js';
import type { WebhookEndpointService } from './webhook-endpoint.service.js';

/** Per-request, tenant-scoped: the principal is fixed when the loaders are made. */
export function createWebhookLoaders(service: WebhookEndpointService, principal: Principal) {
  return {
    /**
     * Endpoint id → the endpoint or null (missing, another tenant's, or another application's for
     * an application token): any number of `_entities` references in one statement. Callers check
     * the admin role first (schema.ts).
     */
    webhookEndpoint: byIdLoader((ids) => service.findByIds(principal, ids)),
  };
}

import type { Principal } from '../../auth/principal.js';
import { pageLoader } from '../../graphql/batch.js';
import type { HealthService } from './health.service.js';

export function createHealthLoaders(service: HealthService, principal: Principal) {
  return {
    connectorHealth: pageLoader((ids, first) => service.historyFor(principal, ids, first)),
  };
}

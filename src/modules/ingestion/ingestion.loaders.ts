import type { Principal } from '../../auth/principal.js';
import { pageLoader } from '../../graphql/batch.js';
import type { IngestionService } from './ingestion.service.js';

export function createIngestionLoaders(service: IngestionService, principal: Principal) {
  return {
    connectorRuns: pageLoader((ids, first) => service.runsFor(principal, ids, first)),
  };
}

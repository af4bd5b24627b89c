import type { Principal } from '../../auth/principal.js';
import { pageLoader, SlicedLoader } from '../../graphql/batch.js';
import type { IngestionService } from './ingestion.service.js';

export function createIngestionLoaders(service: IngestionService, principal: Principal) {
  return {
    connectorRuns: pageLoader((ids, first) => service.runsFor(principal, ids, first)),
    /** Connector id → the start of its queued sync job, or null (`Connector.nextSyncAt`); ids of visible connectors only. */
    queuedSyncStart: new SlicedLoader<string, Date | null>(async (ids) => {
      const starts = await service.queuedStarts(ids);
      return ids.map((id) => starts.get(id) ?? null);
    }),
  };
}

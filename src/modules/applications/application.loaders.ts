import type { Principal } from '../../auth/principal.js';
import { byIdLoader, SlicedLoader } from '../../graphql/batch.js';
import type { ApiKeyEntity } from './api-key.entity.js';
import type { ApplicationService } from './application.service.js';

export function createApplicationLoaders(service: ApplicationService, principal: Principal) {
  return {
    application: byIdLoader((ids) => service.findByIds(principal, ids)),
    /** Application id → its API keys; one statement for every application of a request. */
    applicationApiKeys: new SlicedLoader<string, ApiKeyEntity[]>(async (ids) => {
      const byApplication = await service.apiKeysOf(principal, ids);
      return ids.map((id) => byApplication.get(id) ?? []);
    }),
  };
}

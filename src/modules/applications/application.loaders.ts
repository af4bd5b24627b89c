import type { Principal } from '../../auth/principal.js';
import { byIdLoader } from '../../graphql/batch.js';
import type { ApplicationService } from './application.service.js';

export function createApplicationLoaders(service: ApplicationService, principal: Principal) {
  return {
    application: byIdLoader((ids) => service.findByIds(principal, ids)),
  };
}

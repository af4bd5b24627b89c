import type { Principal } from '../../auth/principal.js';
import { SlicedLoader } from '../../graphql/batch.js';
import type { IntakeTokenEntity } from './intake-token.entity.js';
import type { IntakeTokenService } from './intake-token.service.js';
import type { IntakeService, IntakeStats } from './intake.service.js';

/** Per-request, tenant-scoped: the principal is fixed when the loaders are made. */
export function createIntakeLoaders(tokens: IntakeTokenService, intake: IntakeService, principal: Principal) {
  return {
    /** Connector id → its intake tokens, newest first; one statement for every connector of a request. */
    connectorIntakeTokens: new SlicedLoader<string, IntakeTokenEntity[]>(async (ids) => {
      const byConnector = await tokens.tokensOf(principal, ids);
      return ids.map((id) => byConnector.get(id) ?? []);
    }),
    /** Connector id → its intake counters, or null; one statement for every connector of a request. */
    connectorIntakeStats: new SlicedLoader<string, IntakeStats | null>(async (ids) => {
      const byConnector = await intake.statsOf(principal, ids);
      return ids.map((id) => byConnector.get(id) ?? null);
    }),
  };
}

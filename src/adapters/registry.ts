/**
 * Provider id → adapter. An explicit list: a hand-written provider is one import and one entry
 * here, a declarative one a line in `manifests/index.ts`; no registration by side effect.
 */
import { cloudTrailAdapter } from './cloudtrail/index.js';
import { compileManifest } from './declarative/engine.js';
import { ethereumAdapter } from './ethereum/index.js';
import { genericRestAdapter } from './generic-rest/index.js';
import { loadManifests } from './manifests/index.js';
import { nvdAdapter } from './nvd/index.js';
import { PUSH_ADAPTERS } from './push/index.js';
import { taxiiAdapter } from './taxii/index.js';
import type { Adapter, ConnectorType } from './spi.js';

/** Hand-written adapters, the push providers, then the declarative catalog (`manifests/`), compiled once at load. */
const ADAPTERS: readonly Adapter[] = [genericRestAdapter, nvdAdapter, taxiiAdapter, cloudTrailAdapter, ethereumAdapter, ...PUSH_ADAPTERS, ...loadManifests().map((m) => compileManifest(m))];

const BY_ID: ReadonlyMap<string, Adapter> = new Map(ADAPTERS.map((a) => [a.spec.id, a]));

/** The adapter of a provider id (`generic_rest`, ...), or undefined for an unknown one. */
export function getAdapter(provider: string): Adapter | undefined {
  return BY_ID.get(provider);
}

/** All adapters, or those of one connector type, in registration order. */
export function listAdapters(type?: ConnectorType): Adapter[] {
  return ADAPTERS.filter((a) => type === undefined || a.spec.type === type);
}

/** Whether a provider is pushed to (syslog, HEC) rather than polled. */
export function isPushProvider(provider: string): boolean {
  return BY_ID.get(provider)?.spec.mode === 'push';
}

/** The ids of the push providers (for SQL that must leave them out of polling). */
export const PUSH_PROVIDER_IDS: readonly string[] = ADAPTERS.filter((a) => a.spec.mode === 'push').map((a) => a.spec.id);

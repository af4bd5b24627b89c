/**
 * Provider id → adapter. An explicit list: a hand-written provider is one import and one entry
 * here, a declarative one a line in `manifests/index.ts`; no registration by side effect.
 */
import { compileManifest } from './declarative/engine.js';
import { genericRestAdapter } from './generic-rest/index.js';
import { loadManifests } from './manifests/index.js';
import { nvdAdapter } from './nvd/index.js';
import type { Adapter, ConnectorType } from './spi.js';

/** Hand-written adapters, then the declarative catalog (`manifests/`), compiled once at load. */
const ADAPTERS: readonly Adapter[] = [genericRestAdapter, nvdAdapter, ...loadManifests().map((m) => compileManifest(m))];

const BY_ID: ReadonlyMap<string, Adapter> = new Map(ADAPTERS.map((a) => [a.spec.id, a]));

/** The adapter of a provider id (`generic_rest`, ...), or undefined for an unknown one. */
export function getAdapter(provider: string): Adapter | undefined {
  return BY_ID.get(provider);
}

/** All adapters, or those of one connector type, in registration order. */
export function listAdapters(type?: ConnectorType): Adapter[] {
  return ADAPTERS.filter((a) => type === undefined || a.spec.type === type);
}

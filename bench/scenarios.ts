/**
 * The GraphQL operations the benchmark sends, shared by the driver (bench/run.ts) and the floor
 * server (bench/floor.ts), which recognizes them by their exact text.
 */

/** The 20 Connector fields every read scenario selects (metrics counts as one, with 3 leaves). */
export const CONNECTOR_FIELDS = [
  'id',
  'name',
  'type',
  'provider',
  'scope',
  'applicationId',
  'ownerId',
  'config',
  'authType',
  'credentialFields',
  'enabled',
  'enabledChangedAt',
  'syncStatus',
  'runState',
  'lastSyncAt',
  'consecutiveErrors',
  'metrics { totalSynced last24h avgLatencyMs }',
  'tags',
  'version',
  'updatedAt',
] as const;

const SELECTION = CONNECTOR_FIELDS.join(' ');

/** (a) The first page of the big tenant's connectors. */
export const LIST_QUERY = `query BenchConnectors { connectors(first: 50) { nodes { ${SELECTION} } pageInfo { hasNextPage endCursor } } }`;
export const LIST_FIRST = 50;

/**
 * (a) as PostGraphile v4 names it (bench/postgraphile.ts): the same page of the same view of the
 * table (visible, not deleted, newest first), the same 20 columns (metrics is its jsonb column
 * whole, which holds exactly the 3 leaves) and the same pageInfo.
 */
export const PEER_LIST_QUERY = `query BenchConnectors { allConnectors(first: 50, orderBy: ID_DESC) { nodes { ${CONNECTOR_FIELDS.map((f) => (f.startsWith('metrics') ? 'metrics' : f)).join(' ')} } pageInfo { hasNextPage endCursor } } }`;

/** (b) One connector by id. */
export const BY_ID_QUERY = `query BenchConnector($id: ID!) { connector(id: $id) { ${SELECTION} } }`;

/** (c) What a gateway sends to resolve Connector references of another subgraph's entities. */
export const ENTITIES_QUERY = `query BenchEntities($representations: [_Any!]!) { _entities(representations: $representations) { ... on Connector { ${SELECTION} } } }`;

/** (d) The one-click switch; the fields a UI reads back after toggling. */
export const TOGGLE_FIELDS = ['id', 'enabled', 'version', 'syncStatus', 'runState', 'enabledChangedAt'] as const;
export const TOGGLE_MUTATION = `mutation BenchToggle($id: ID!, $enabled: Boolean!, $reason: String, $expectedVersion: Int) { toggleConnector(id: $id, enabled: $enabled, reason: $reason, expectedVersion: $expectedVersion) { ${TOGGLE_FIELDS.join(' ')} } }`;

export type OperationName = 'list' | 'byId' | 'entities' | 'toggle';

export const OPERATIONS: ReadonlyMap<string, OperationName> = new Map([
  [LIST_QUERY, 'list'],
  [BY_ID_QUERY, 'byId'],
  [ENTITIES_QUERY, 'entities'],
  [TOGGLE_MUTATION, 'toggle'],
]);

export interface GraphQLBody {
  query: string;
  variables?: Record<string, unknown>;
}

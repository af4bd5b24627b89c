/** GraphQL documents and inputs shared by the integration tests. */
export const CONNECTOR_FIELDS = `id tenantId appId applicationId name type provider scope groupId userId ownerId config authType
  credentialFields credentialVersion enabled syncStatus runState tags eventTypes version schemaVersion source sourceType
  createdAt updatedAt createdBy updatedBy isDeleted deletedAt deletedBy metrics { totalSynced last24h avgLatencyMs }`;

export const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { ${CONNECTOR_FIELDS} } }`;
export const UPDATE = `mutation($id: ID!, $v: Int!, $input: UpdateConnectorInput!) { updateConnector(id: $id, expectedVersion: $v, input: $input) { ${CONNECTOR_FIELDS} } }`;
export const DELETE = `mutation($id: ID!, $v: Int) { deleteConnector(id: $id, expectedVersion: $v) { ${CONNECTOR_FIELDS} } }`;
export const RESTORE = `mutation($id: ID!) { restoreConnector(id: $id) { ${CONNECTOR_FIELDS} } }`;
export const GET = `query($id: ID!) { connector(id: $id) { ${CONNECTOR_FIELDS} } }`;
export const LIST = `query($filter: ConnectorFilter, $first: Int, $after: String) {
  connectors(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } } nodes { id name type provider enabled tags scope isDeleted }
  } }`;
export const ENTITIES = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Connector { id name isDeleted tenantId } } }`;

export function restInput(name: string, extra: Record<string, unknown> = {}) {
  return { name, provider: 'generic_rest', config: { baseUrl: 'https://api.example.com/v1' }, ...extra };
}

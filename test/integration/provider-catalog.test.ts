/**
 * The catalog through the service: `connectorProviders`, a named provider's whole lifecycle
 * (create, test, enable, records) against its replica, event types that restrict what is read,
 * the OAuth 2.0 token state kept by every token fetch, and stored configs upgraded to a newer
 * manifest version at start-up.
 */
import { CONNECTOR_TYPES } from '../../src/adapters/spi.js';
import { MANIFEST_IDS } from '../../src/adapters/manifests/index.js';
import { replica as splunkReplica } from '../../replicas/splunk.js';
import { replica as etherscanReplica } from '../../replicas/etherscan.js';
import type { StartedReplica } from '../../replicas/base.js';
import { startAuthorizationServer, type AuthorizationServer } from '../../replicas/oidc.js';
import { admin, editor } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const WORKER_ENV = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_MAINTENANCE_SEC: '1', JOB_TIMEOUT_SEC: '5', STALE_RUN_SEC: '5' };
const PROVIDERS = `query($type: ConnectorType) { connectorProviders(type: $type) {
  id type name description authTypes configSchema credentialsSchema requiredCredentials eventTypes documentationUrl recordKinds schemaVersion } }`;
const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id provider type version schemaVersion eventTypes config } }`;
const TEST = `mutation($id: ID!) { testConnector(id: $id) { success steps { name passed errorCode remediation } sample } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { id enabled } }`;
const HEALTH = `mutation($id: ID!) { checkConnectorHealth(id: $id) { id oauthRefreshNeeded oauthTokenExpiresAt } }`;
const STATE = `query($id: ID!) { connector(id: $id) { id schemaVersion version config oauthRefreshNeeded oauthTokenExpiresAt
  ingestionRuns(first: 5) { status recordsRead error }
  records(first: 200) { totalCount edges { node { kind severity title observedAt data } } } } }`;

let svc: TestService;
let splunk: StartedReplica;
let etherscan: StartedReplica;
let as: AuthorizationServer;
let ed: string;

beforeAll(async () => {
  as = await startAuthorizationServer();
  splunk = await splunkReplica.start({ verifyBearer: as.verify });
  etherscan = await etherscanReplica.start();
  svc = await startTestService('provider_catalog', WORKER_ENV);
  ed = await editor('cat1');
});
afterAll(async () => {
  await svc?.close();
  await splunk?.close();
  await etherscan?.close();
  await as?.close();
});

async function runToEnd(id: string) {
  await svc.ok(TOGGLE, { id, enabled: true }, ed);
  return waitFor('a finished run', async () => {
    const c = (await svc.ok(STATE, { id }, ed)).connector;
    return c.ingestionRuns.some((r: { status: string }) => r.status !== 'RUNNING' && r.status !== 'QUEUED') && c;
  }, 30_000);
}

describe('connectorProviders', () => {
  test('lists every manifest with its schemas, documentation, record kinds and schema version', async () => {
    const list = (await svc.ok(PROVIDERS, {}, ed)).connectorProviders as Array<Record<string, any>>;
    const ids = list.map((p) => p.id);
    for (const id of MANIFEST_IDS) expect(ids).toContain(id);
    const byId = new Map(list.map((p) => [p.id, p]));
    expect(byId.get('splunk')).toMatchObject({
      type: 'SIEM',
      authTypes: expect.arrayContaining(['API_KEY', 'OAUTH2_CLIENT_CREDENTIALS']),
      documentationUrl: expect.stringMatching(/^https:\/\/docs\.splunk\.com\//),
      recordKinds: ['EVENT'],
      schemaVersion: 1,
    });
    expect(byId.get('splunk')!.configSchema.properties.baseUrl.default).toMatch(/^https:\/\//);
    expect(byId.get('etherscan')).toMatchObject({ recordKinds: ['TRANSACTION'], eventTypes: ['transactions', 'erc20_transfers'] });
    for (const p of list) for (const prop of Object.values(p.credentialsSchema.properties ?? {}) as Array<{ writeOnly: boolean }>) expect(prop.writeOnly).toBe(true);
    // Every connector type has at least one provider (NETWORK: the push providers suricata_eve and zeek).
    for (const type of CONNECTOR_TYPES) expect([type, list.some((p) => p.type === type)]).toEqual([type, true]);
  });

  test('the README example filter { type: SIEM } finds the SIEM providers', async () => {
    const siem = (await svc.ok(PROVIDERS, { type: 'SIEM' }, ed)).connectorProviders.map((p: { id: string }) => p.id);
    expect(siem).toEqual(expect.arrayContaining(['splunk', 'microsoft_sentinel', 'ibm_qradar', 'elastic_security']));
  });
});

describe('a named provider, end to end', () => {
  test('create a splunk connector, test it, enable it and read its records', async () => {
    const c = splunk.connection();
    const created = (await svc.ok(CREATE, { input: { name: 'Splunk ES', provider: 'splunk', authType: c.authType, credentials: c.credentials, config: c.config } }, ed)).createConnector;
    expect(created).toMatchObject({ provider: 'splunk', type: 'SIEM', schemaVersion: 1 });
    const tested = (await svc.ok(TEST, { id: created.id }, ed)).testConnector;
    expect(tested.success).toBe(true);
    expect(tested.sample[0]).toMatchObject({ kind: 'event', eventType: expect.any(String) });
    const state = await runToEnd(created.id);
    expect(state.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(state.records.totalCount).toBe(splunk.items().length);
    for (const { node } of state.records.edges) {
      expect(node.kind).toBe('EVENT');
      expect(node.observedAt).toEqual(expect.any(String));
      expect(JSON.stringify(node.data)).not.toContain(c.credentials.token);
    }
    expect(state.records.edges.some(({ node }: { node: { severity: number | null } }) => node.severity !== null)).toBe(true);
  });

  test('a wrong token tells the user where Splunk issues tokens', async () => {
    const w = splunk.wrongConnection();
    const created = (await svc.ok(CREATE, { input: { name: 'Splunk wrong', provider: 'splunk', authType: w.authType, credentials: w.credentials, config: w.config } }, ed)).createConnector;
    const tested = (await svc.ok(TEST, { id: created.id }, ed)).testConnector;
    const auth = tested.steps.find((s: { name: string }) => s.name === 'AUTHENTICATE');
    expect(auth).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', remediation: expect.stringMatching(splunkReplica.authRemediation) });
  });

  test('a config that is not the provider\'s is refused with the field named, nothing stored', async () => {
    const before = Number((await svc.dataSource.query('SELECT count(*) FROM connectors'))[0].count);
    const res = await svc.gql(CREATE, { input: { name: 'bad', provider: 'splunk', authType: 'API_KEY', credentials: { token: 'x'.repeat(20) }, config: { serach: 'typo' } } }, ed);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toMatch(/config\.serach is not a setting of splunk/);
    expect(Number((await svc.dataSource.query('SELECT count(*) FROM connectors'))[0].count)).toBe(before);
  });
});

describe('generic_rest in the manifest language', () => {
  test('a config the manifest rules refuse is BAD_USER_INPUT at create, naming the problem, nothing stored', async () => {
    const before = Number((await svc.dataSource.query('SELECT count(*) FROM connectors'))[0].count);
    const config = { baseUrl: 'https://api.example.com', path: '/v1/{{credentials.apiKey}}', pagination: { type: 'offset', limit: 10 } };
    const res = await svc.gql(CREATE, { input: { name: 'custom', provider: 'generic_rest', config } }, ed);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toMatch(/unknown template name "credentials.apiKey"/);
    expect(res.body.errors![0]!.message).toMatch(/offset needs offsetParam, limitParam and limit/);
    expect(Number((await svc.dataSource.query('SELECT count(*) FROM connectors'))[0].count)).toBe(before);
  });
});

describe('eventTypes', () => {
  test('a connector reads only the event types it lists; a deselected stream is never requested', async () => {
    const c = etherscan.connection();
    const created = (
      await svc.ok(CREATE, { input: { name: 'Treasury', provider: 'etherscan', authType: c.authType, credentials: c.credentials, config: c.config, eventTypes: ['erc20_transfers'] } }, ed)
    ).createConnector;
    etherscan.server.clearRequests();
    const state = await runToEnd(created.id);
    expect(state.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(state.records.totalCount).toBeGreaterThan(0);
    expect(new Set(state.records.edges.map(({ node }: { node: { data: { eventType: string } } }) => node.data.eventType))).toEqual(new Set(['erc20_transfers']));
    const actions = new Set(etherscan.server.requests.map((r) => r.query.action));
    expect(actions.has('tokentx')).toBe(true);
    expect(actions.has('txlist')).toBe(false);
  });

  test('an event type the provider does not have is refused', async () => {
    const c = etherscan.connection();
    const res = await svc.gql(CREATE, { input: { name: 'x', provider: 'etherscan', authType: c.authType, credentials: c.credentials, config: c.config, eventTypes: ['nfts'] } }, ed);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toMatch(/"nfts".*not provided by etherscan/);
  });
});

describe('OAuth 2.0 token state', () => {
  test('every token fetch keeps oauthTokenExpiresAt current; a refused refresh sets oauthRefreshNeeded', async () => {
    const config = { ...splunk.connection().config, tokenUrl: as.tokenUrl, scope: as.scope };
    const created = (
      await svc.ok(CREATE, { input: { name: 'Splunk via IdP', provider: 'splunk', authType: 'OAUTH2_CLIENT_CREDENTIALS', credentials: { clientId: as.clientId, clientSecret: as.clientSecret }, config } }, ed)
    ).createConnector;
    // An ingestion run obtains the first token.
    const ran = await runToEnd(created.id);
    expect(ran.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(ran.oauthRefreshNeeded).toBe(false);
    expect(new Date(ran.oauthTokenExpiresAt).getTime()).toBeGreaterThan(Date.now());

    // The authorization server forgets the client (a rotated secret): the next token request is refused.
    const other = await startAuthorizationServer({ clientSecret: 'another-secret-0123456789abcdef' });
    try {
      await svc.dataSource.query(`UPDATE connectors SET config = config || jsonb_build_object('tokenUrl', $2::text) WHERE id = $1`, [created.id, other.tokenUrl]);
      const checked = (await svc.ok(HEALTH, { id: created.id }, ed)).checkConnectorHealth;
      expect(checked.oauthRefreshNeeded).toBe(true);
      // Back to a working token endpoint: the next health check clears it and reports the new expiry.
      await svc.dataSource.query(`UPDATE connectors SET config = config || jsonb_build_object('tokenUrl', $2::text) WHERE id = $1`, [created.id, as.tokenUrl]);
      const again = (await svc.ok(HEALTH, { id: created.id }, ed)).checkConnectorHealth;
      expect(again.oauthRefreshNeeded).toBe(false);
      expect(new Date(again.oauthTokenExpiresAt).getTime()).toBeGreaterThan(Date.now());
    } finally {
      await other.close();
    }
  });
});

describe('schemaVersion', () => {
  test('a stored etherscan config of manifest version 1 is upgraded at start-up, audited as SYSTEM', async () => {
    const c = etherscan.connection();
    const created = (await svc.ok(CREATE, { input: { name: 'Old etherscan', provider: 'etherscan', authType: c.authType, credentials: c.credentials, config: c.config } }, ed)).createConnector;
    expect(created.schemaVersion).toBe(2);
    // As version 1 stored it: Etherscan API V1, one host per network.
    const { chainId: _chainId, ...rest } = created.config as Record<string, unknown>;
    const v1 = { ...rest, baseUrl: 'https://api-sepolia.etherscan.io', network: 'sepolia' };
    await svc.dataSource.query('UPDATE connectors SET config = $2, schema_version = 1 WHERE id = $1', [created.id, JSON.stringify(v1)]);

    expect(await svc.services.connectors.upgradeConfigs()).toBe(1);
    const after = (await svc.ok(STATE, { id: created.id }, ed)).connector;
    expect(after.schemaVersion).toBe(2);
    expect(after.version).toBe(created.version + 1);
    expect(after.config).toMatchObject({ baseUrl: 'https://api.etherscan.io', chainId: 11155111 });
    expect(after.config).not.toHaveProperty('network');
    const [audit] = await svc.dataSource.query(
      `SELECT actor_type, actor_id, changes FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_UPDATED' ORDER BY id DESC LIMIT 1`,
      [created.id],
    );
    expect(audit).toMatchObject({ actor_type: 'SYSTEM', actor_id: 'config-migration', changes: expect.objectContaining({ schemaVersion: { before: 1, after: 2 } }) });
    // Idempotent: nothing is left to upgrade.
    expect(await svc.services.connectors.upgradeConfigs()).toBe(0);
  });

  test('another tenant never sees the upgraded connector', async () => {
    const other = await admin('cat2');
    const list = (await svc.ok(`{ connectors(first: 50) { edges { node { id } } } }`, {}, other)).connectors.edges;
    expect(list).toEqual([]);
  });
});

import { admin, editor, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { CREATE } from '../helpers/fixtures.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';

const SENTINEL = `S3NT1NEL-${Math.random().toString(36).slice(2)}`;
const RESULT = `success testedAt latencyMs message sample steps { name passed latencyMs message errorCode retryable remediation }`;
const TEST = `mutation($id: ID!) { testConnector(id: $id) { ${RESULT} } }`;
const TEST_DRAFT = `mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { ${RESULT} } }`;

let svc: TestService;
let up: RestUpstream;
let ed: string;

beforeAll(async () => {
  svc = await startTestService('connector_testing');
  up = await startRestUpstream({ records: makeRecords(12), pageSize: 10 });
  ed = await editor('t1');
});
afterAll(async () => {
  await svc?.close();
  await up?.close();
});

function draft(extra: Record<string, unknown> = {}) {
  return { provider: 'generic_rest', config: { baseUrl: up.url, path: '/items' }, ...extra };
}

test('testConnectorConfig: four passing steps, ≤ 5 sample records, total ≥ sum of steps, nothing stored', async () => {
  const before = await svc.dataSource.query('SELECT (SELECT count(*) FROM connectors)::int c, (SELECT count(*) FROM audit_events)::int a');
  const result = (await svc.ok(TEST_DRAFT, { input: draft() }, ed)).testConnectorConfig;
  expect(result.success).toBe(true);
  expect(result.steps.map((s: any) => [s.name, s.passed])).toEqual([
    ['CONNECT', true],
    ['AUTHENTICATE', true],
    ['SAMPLE_QUERY', true],
    ['VALIDATE_FORMAT', true],
  ]);
  for (const step of result.steps) expect(step.latencyMs).toBeGreaterThanOrEqual(0);
  const sum = result.steps.reduce((acc: number, s: any) => acc + s.latencyMs, 0);
  expect(result.latencyMs).toBeGreaterThanOrEqual(sum);
  expect(result.sample).toHaveLength(5);
  expect(result.sample[0]).toMatchObject({ kind: 'record', id: 'rec-0' });
  const after = await svc.dataSource.query('SELECT (SELECT count(*) FROM connectors)::int c, (SELECT count(*) FROM audit_events)::int a');
  expect(after).toEqual(before);
});

test('a wrong API key fails AUTHENTICATE with a remediation; the key appears nowhere', async () => {
  up.apiKey = 'the-right-key';
  try {
    const res = await svc.gql(TEST_DRAFT, { input: draft({ authType: 'API_KEY', credentials: { apiKey: SENTINEL } }) }, ed);
    expect(res.body.errors).toBeUndefined();
    const result = res.body.data.testConnectorConfig;
    expect(result.success).toBe(false);
    const auth = result.steps.find((s: any) => s.name === 'AUTHENTICATE');
    expect(auth).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', retryable: false });
    expect(auth.remediation).toMatch(/key/i);
    expect(result.steps.filter((s: any) => s.name === 'SAMPLE_QUERY' || s.name === 'VALIDATE_FORMAT').every((s: any) => !s.passed)).toBe(true);
    expect(JSON.stringify(res.body)).not.toContain(SENTINEL);
    expect(svc.logs.text()).not.toContain(SENTINEL);
    const audit = await svc.dataSource.query('SELECT row_to_json(a)::text AS j FROM audit_events a');
    expect(audit.map((r: any) => r.j).join('\n')).not.toContain(SENTINEL);
  } finally {
    up.apiKey = undefined;
  }
});

test('draft credentials are validated against the provider schema', async () => {
  const res = await svc.gql(TEST_DRAFT, { input: draft({ authType: 'API_KEY', credentials: {} }) }, ed);
  expect(errorCode(res)).toBe('BAD_USER_INPUT');
  expect(res.body.errors![0]!.message).toMatch(/credentials\.apiKey is required for API_KEY/);
});

test('testConnector stores lastTest, audits CONNECTOR_TESTED, and leaves version alone', async () => {
  const c = (await svc.ok(CREATE, { input: { name: 'Testable', provider: 'generic_rest', config: { baseUrl: up.url, path: '/items' } } }, ed)).createConnector;
  const result = (await svc.ok(TEST, { id: c.id }, ed)).testConnector;
  expect(result.success).toBe(true);
  const stored = (await svc.ok(`query($id: ID!) { connector(id: $id) { version lastTest { success testedAt steps { name passed } sample } } }`, { id: c.id }, ed)).connector;
  expect(stored.version).toBe(1);
  expect(stored.lastTest).toMatchObject({ success: true, testedAt: result.testedAt });
  expect(stored.lastTest.sample).toHaveLength(5);
  const events = (await svc.ok(`query($id: ID!) { auditEvents(filter: { targetId: $id, eventType: [CONNECTOR_TESTED] }) { nodes { actorId changes } } }`, { id: c.id }, await admin('t1'))).auditEvents.nodes;
  expect(events).toHaveLength(1);
  expect(events[0].changes.lastTest.after.success).toBe(true);

  up.failAlways(500);
  try {
    const failed = (await svc.ok(TEST, { id: c.id }, ed)).testConnector;
    expect(failed.success).toBe(false);
    expect(failed.steps.some((s: any) => !s.passed && s.errorCode)).toBe(true);
  } finally {
    up.recover();
  }
});

test('testConnector: viewers are FORBIDDEN, other tenants get NOT_FOUND, and neither reaches the upstream', async () => {
  const c = (await svc.ok(CREATE, { input: { name: 'Guarded test', provider: 'generic_rest', config: { baseUrl: up.url, path: '/items' } } }, ed)).createConnector;
  const seen = up.requests.length;
  expect(errorCode(await svc.gql(TEST, { id: c.id }, await viewer('t1')))).toBe('FORBIDDEN');
  expect(errorCode(await svc.gql(TEST, { id: c.id }, await admin('t2')))).toBe('NOT_FOUND');
  expect(up.requests.length).toBe(seen);
});

test('a connector pointing at a private address is refused by the egress guard', async () => {
  const strict = await startTestService('connector_testing_egress', { EGRESS_ALLOW: '' });
  try {
    const result = (await strict.ok(TEST_DRAFT, { input: draft() }, ed)).testConnectorConfig;
    expect(result.success).toBe(false);
    expect(result.steps[0]).toMatchObject({ name: 'CONNECT', passed: false, errorCode: 'EGRESS_DENIED' });
  } finally {
    await strict.close();
  }
});

/**
 * OWASP API Security Top 10 (2023), API1: Broken Object Level Authorization, for
 * `resetConnectorCursor`. Another tenant, and a user of the same tenant outside a USER-scoped
 * connector, get NOT_FOUND and change nothing: the cursor row, the audit trail and the queue stay as
 * they were. The owners can reset (positive controls).
 */
import { editor } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';

const CREATE = 'mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }';
const RESET = 'mutation($id: ID!, $from: DateTime, $reason: String!) { resetConnectorCursor(id: $id, from: $from, reason: $reason) { id } }';
const NEXT = 'query($id: ID!) { connector(id: $id) { id nextSyncAt } }';

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService('fleet-schedules-isolation');
});

afterAll(async () => {
  await svc?.close();
});

const config = { baseUrl: 'https://api.example.com', path: '/items', query: { since: '{{window.start}}' }, cursor: { field: '/seen', type: 'datetime' } };

async function state(id: string) {
  const cursors = await svc.dataSource.query('SELECT cursor, generation FROM ingestion_cursors WHERE connector_id = $1', [id]);
  const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE connector_id = $1 AND event_type = 'CONNECTOR_CURSOR_RESET'`, [id]);
  return { cursors, events: n };
}

test('another tenant cannot reset a connector\'s cursor, nor learn that it exists', async () => {
  const a = await editor('tenant-a', { subject: 'alice' });
  const b = await editor('tenant-b', { subject: 'bob' });
  const { id } = (await svc.ok(CREATE, { input: { name: 'A feed', provider: 'generic_rest', config } }, a)).createConnector;
  const before = await state(id);
  for (const from of [null, new Date(Date.now() - 3600_000).toISOString()]) {
    const res = await svc.gql(RESET, { id, from, reason: 'replay' }, b);
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(res.body.data?.resetConnectorCursor ?? null).toBeNull();
  }
  // An id that does not exist answers the same.
  expect(errorCode(await svc.gql(RESET, { id: 'cnn_01JAAAAAAAAAAAAAAAAAAAAAAA', reason: 'replay' }, b))).toBe('NOT_FOUND');
  expect(await state(id)).toEqual(before);
  expect((await svc.ok(NEXT, { id }, b)).connector).toBeNull();
  // Positive control: the owner's tenant can.
  await svc.ok(RESET, { id, from: new Date(Date.now() - 3600_000).toISOString(), reason: 'replay' }, a);
  const after = await state(id);
  expect(after.events).toBe(1);
  expect(after.cursors[0].generation).toBe(1);
});

test('a USER-scoped connector is reset only by whoever can see it', async () => {
  const owner = await editor('tenant-c', { subject: 'carol' });
  const other = await editor('tenant-c', { subject: 'dave' });
  const { id } = (await svc.ok(CREATE, { input: { name: 'Carol\'s feed', provider: 'generic_rest', scope: 'USER', config } }, owner)).createConnector;
  expect(errorCode(await svc.gql(RESET, { id, reason: 'replay' }, other))).toBe('NOT_FOUND');
  expect(await state(id)).toEqual({ cursors: [], events: 0 });
  await svc.ok(RESET, { id, reason: 'replay' }, owner);
  expect((await state(id)).events).toBe(1);
});

/**
 * `records`, `Connector.records` and `Record` references over rows seeded straight into
 * `ingested_records` (ids from record-identity.ts): every filter alone and combined, keyset paging
 * on (ingested_at, id) to the microsecond, the typed fields per kind, argument bounds, forged
 * cursors, and the SQL statements each shape of request costs.
 */
import { recordId } from '../../src/modules/records/record-identity.js';
import { admin } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { CREATE, DELETE, restInput } from '../helpers/fixtures.js';

let svc: TestService;

interface Seed {
  tenantId: string;
  connectorId: string;
  kind: string;
  data?: Record<string, unknown>;
  ingestedAt: string;
  observedAt?: string | null;
  lastSeenAt?: string;
  duplicateCount?: number;
  severity?: number | null;
  title?: string | null;
  dedupKey?: string;
}

let seq = 0;

/** Inserts rows as the sink would store them; returns their ids in order. */
async function seed(rows: Seed[]): Promise<string[]> {
  const values = rows.map((r) => {
    const dedupKey = r.dedupKey ?? `key-${++seq}`;
    return {
      id: recordId(r.tenantId, r.connectorId, dedupKey),
      tenant_id: r.tenantId,
      connector_id: r.connectorId,
      dedup_key: dedupKey,
      kind: r.kind,
      record: r.data ?? { kind: r.kind },
      run_id: 'run_seeded',
      observed_at: r.observedAt ?? null,
      ingested_at: r.ingestedAt,
      last_seen_at: r.lastSeenAt ?? r.ingestedAt,
      duplicate_count: r.duplicateCount ?? 0,
      severity: r.severity ?? null,
      title: r.title ?? null,
    };
  });
  await svc.dataSource.query(
    `INSERT INTO ingested_records (id, tenant_id, connector_id, dedup_key, kind, record, run_id, observed_at, ingested_at, last_seen_at, duplicate_count, severity, title)
     SELECT x.id, x.tenant_id, x.connector_id, x.dedup_key, x.kind, x.record, x.run_id, x.observed_at, x.ingested_at, x.last_seen_at, x.duplicate_count, x.severity, x.title
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, tenant_id text, connector_id text, dedup_key text, kind text, record jsonb, run_id text,
       observed_at timestamptz, ingested_at timestamptz, last_seen_at timestamptz, duplicate_count int, severity real, title text)`,
    [JSON.stringify(values)],
  );
  return values.map((v) => v.id);
}

async function connector(token: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await svc.ok(CREATE, { input: restInput(name, extra) }, token)).createConnector.id;
}

const RECORDS = `query($filter: RecordFilter, $first: Int, $after: String) {
  records(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id }
  } }`;

const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString();

beforeAll(async () => {
  svc = await startTestService('records');
});
afterAll(() => svc?.close());

describe('filters', () => {
  const T = 'rec-filters';
  let t: string;
  let f1: string;
  let f2: string;
  let deleted: string;
  /** r[1] … r[8]: the seeded records by number. */
  const r: string[] = [];
  let deletedRecord: string;

  beforeAll(async () => {
    t = await admin(T);
    f1 = await connector(t, 'F1');
    f2 = await connector(t, 'F2');
    deleted = await connector(t, 'Deleted');
    const ids = await seed([
      { tenantId: T, connectorId: f1, kind: 'event', ingestedAt: at(1), severity: 7.1, title: 'Failed login from 10.0.0.1', observedAt: '2024-12-31T23:59:00.000Z',
        data: { kind: 'event', format: 'CEF', name: 'Failed login from 10.0.0.1', src: '10.0.0.1', dst: '10.0.0.2', severity: 7.1 }, duplicateCount: 4, lastSeenAt: at(30) },
      { tenantId: T, connectorId: f2, kind: 'event', ingestedAt: at(2), severity: 3, title: 'Port scan', data: { kind: 'event', name: 'Port scan', src: '192.0.2.9', dst: null } },
      { tenantId: T, connectorId: f1, kind: 'indicator', ingestedAt: at(3), title: 'ipv4 198.51.100.7', data: { kind: 'indicator', type: 'ipv4', value: '198.51.100.7' } },
      { tenantId: T, connectorId: f2, kind: 'vulnerability', ingestedAt: at(4), severity: 9.8, title: 'CVE-2024-0001 100% remote code execution',
        data: { kind: 'vulnerability', id: 'CVE-2024-0001', cvss: [{ baseScore: 9.8 }] } },
      { tenantId: T, connectorId: f1, kind: 'transaction', ingestedAt: at(5), title: '0xabc', data: { kind: 'transaction', chain: 'ethereum', hash: '0xabc', from: '0x1', to: '0x2', value: '1' } },
      { tenantId: T, connectorId: f2, kind: 'record', ingestedAt: at(6), severity: 5, title: 'user_name changed', data: { kind: 'record', title: 'user_name changed', src: 'not an event' } },
      { tenantId: T, connectorId: f1, kind: 'record', ingestedAt: at(7), severity: 0, title: 'userXname changed', data: { kind: 'record' } },
      { tenantId: T, connectorId: f2, kind: 'record', ingestedAt: at(8), severity: 2, title: '100 alerts suppressed', data: { kind: 'record' } },
      { tenantId: T, connectorId: deleted, kind: 'event', ingestedAt: at(9), severity: 10, title: 'Failed login on a deleted connector', data: { kind: 'event', src: '10.9.9.9' } },
    ]);
    r.push('', ...ids.slice(0, 8));
    deletedRecord = ids[8]!;
    await svc.ok(DELETE, { id: deleted }, t);
  });

  async function ids(filter: Record<string, unknown> | null, first = 50): Promise<string[]> {
    return (await svc.ok(RECORDS, { filter, first }, t)).records.nodes.map((n: any) => n.id);
  }
  const nums = (...n: number[]) => n.map((i) => r[i]);

  test('no filter: every visible record newest first; a deleted connector\'s records are not listed', async () => {
    expect(await ids(null)).toEqual(nums(8, 7, 6, 5, 4, 3, 2, 1));
    expect(await ids({})).toEqual(nums(8, 7, 6, 5, 4, 3, 2, 1));
    expect(await ids({ connectorIds: [deleted] })).toEqual([]);
  });

  test('each filter alone', async () => {
    expect(await ids({ connectorIds: [f1] })).toEqual(nums(7, 5, 3, 1));
    expect(await ids({ connectorIds: [f2, f1] })).toEqual(nums(8, 7, 6, 5, 4, 3, 2, 1));
    expect(await ids({ connectorIds: ['cnn_01ARZ3NDEKTSV4RRFFQ69G5FAV'] })).toEqual([]);
    expect(await ids({ connectorIds: [] })).toEqual(nums(8, 7, 6, 5, 4, 3, 2, 1));
    expect(await ids({ kinds: ['EVENT', 'INDICATOR'] })).toEqual(nums(3, 2, 1));
    expect(await ids({ kinds: ['VULNERABILITY'] })).toEqual(nums(4));
    expect(await ids({ kinds: ['TRANSACTION'] })).toEqual(nums(5));
    expect(await ids({ kinds: ['RECORD'] })).toEqual(nums(8, 7, 6));
    // since is inclusive, until exclusive, on ingestedAt.
    expect(await ids({ since: at(3) })).toEqual(nums(8, 7, 6, 5, 4, 3));
    expect(await ids({ until: at(3) })).toEqual(nums(2, 1));
    expect(await ids({ since: at(2), until: at(5) })).toEqual(nums(4, 3, 2));
    expect(await ids({ since: at(8) })).toEqual(nums(8));
    expect(await ids({ until: at(1) })).toEqual([]);
    // severity is a real column: 7.1 finds the stored 7.1; records without a severity never match.
    expect(await ids({ severityAtLeast: 7.1 })).toEqual(nums(4, 1));
    expect(await ids({ severityAtLeast: 7.2 })).toEqual(nums(4));
    expect(await ids({ severityAtLeast: 0 })).toEqual(nums(8, 7, 6, 4, 2, 1));
    expect(await ids({ severityAtLeast: 10 })).toEqual([]);
  });

  test('search: a case-insensitive substring of the title; % and _ are literal', async () => {
    expect(await ids({ search: 'failed LOGIN' })).toEqual(nums(1));
    expect(await ids({ search: '  port scan ' })).toEqual(nums(2));
    expect(await ids({ search: '100%' })).toEqual(nums(4));
    expect(await ids({ search: '%' })).toEqual(nums(4));
    expect(await ids({ search: 'user_name' })).toEqual(nums(6));
    expect(await ids({ search: '_' })).toEqual(nums(6));
    expect(await ids({ search: '\\' })).toEqual([]);
    expect(await ids({ search: 'changed' })).toEqual(nums(7, 6));
    expect(await ids({ search: 'nothing like this' })).toEqual([]);
    expect(await ids({ search: 'x'.repeat(200) })).toEqual([]);
    const long = await svc.gql(RECORDS, { filter: { search: 'x'.repeat(201) } }, t);
    expect(errorCode(long)).toBe('BAD_USER_INPUT');
  });

  test('filters combined', async () => {
    expect(await ids({ connectorIds: [f2], kinds: ['VULNERABILITY', 'RECORD'], severityAtLeast: 3, since: at(1), until: at(8) })).toEqual(nums(6, 4));
    expect(await ids({ connectorIds: [f2], kinds: ['VULNERABILITY', 'RECORD'], severityAtLeast: 3, since: at(1), until: at(8), search: 'REMOTE' })).toEqual(nums(4));
    expect(await ids({ connectorIds: [f1], kinds: ['VULNERABILITY'] })).toEqual([]);
    expect(await ids({ connectorIds: [f1], kinds: ['EVENT', 'RECORD'], severityAtLeast: 0 })).toEqual(nums(7, 1));
    expect(await ids({ kinds: ['RECORD', 'EVENT'], search: 'e', until: at(7) })).toEqual(nums(6, 1));
    expect(await ids({ connectorIds: [f1, f2, deleted], kinds: ['EVENT'], search: 'failed login' })).toEqual(nums(1));
  });

  test('totalCount follows the filter, not the page, and costs a second statement only when selected', async () => {
    const withCount = `query($filter: RecordFilter, $first: Int) { records(filter: $filter, first: $first) { totalCount nodes { id } } }`;
    const res = await svc.gql(withCount, { filter: { connectorIds: [f1] }, first: 1 }, t);
    expect(res.body.data.records).toEqual({ totalCount: 4, nodes: nums(7).map((id) => ({ id })) });
    expect(res.statements).toBe(2);
    expect((await svc.ok(withCount, { filter: { severityAtLeast: 7.1 } }, t)).records.totalCount).toBe(2);
    expect((await svc.ok(withCount, { filter: {} }, t)).records.totalCount).toBe(8);
    const without = await svc.gql(RECORDS, { filter: { connectorIds: [f1] }, first: 1 }, t);
    expect(without.statements).toBe(1);
  });

  test('the typed fields per kind, from data; null where they do not apply', async () => {
    const query = `query($filter: RecordFilter) { records(filter: $filter) { nodes {
      id kind observedAt ingestedAt dedupKey duplicateCount lastSeenAt data severity title
      src dst indicatorType indicatorValue cveId chain hash connector { id name } } } }`;
    const nodes: any[] = (await svc.ok(query, { filter: {} }, t)).records.nodes;
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const none = { src: null, dst: null, indicatorType: null, indicatorValue: null, cveId: null, chain: null, hash: null };
    expect(byId.get(r[1])).toEqual({
      ...none,
      id: r[1],
      kind: 'EVENT',
      observedAt: '2024-12-31T23:59:00.000Z',
      ingestedAt: at(1),
      dedupKey: expect.stringMatching(/^key-\d+$/),
      duplicateCount: 4,
      lastSeenAt: at(30),
      data: { kind: 'event', format: 'CEF', name: 'Failed login from 10.0.0.1', src: '10.0.0.1', dst: '10.0.0.2', severity: 7.1 },
      severity: 7.1,
      title: 'Failed login from 10.0.0.1',
      src: '10.0.0.1',
      dst: '10.0.0.2',
      connector: { id: f1, name: 'F1' },
    });
    expect(byId.get(r[1]).id).toMatch(/^rec_[0-9A-F]{26}$/);
    expect(byId.get(r[2])).toMatchObject({ ...none, kind: 'EVENT', src: '192.0.2.9', dst: null, connector: { id: f2 } });
    expect(byId.get(r[3])).toMatchObject({ ...none, kind: 'INDICATOR', indicatorType: 'ipv4', indicatorValue: '198.51.100.7', severity: null, observedAt: null });
    expect(byId.get(r[4])).toMatchObject({ ...none, kind: 'VULNERABILITY', cveId: 'CVE-2024-0001', severity: 9.8 });
    expect(byId.get(r[5])).toMatchObject({ ...none, kind: 'TRANSACTION', chain: 'ethereum', hash: '0xabc' });
    // A generic record's `src` key is not an event's source.
    expect(byId.get(r[6])).toMatchObject({ ...none, kind: 'RECORD', data: { kind: 'record', title: 'user_name changed', src: 'not an event' } });
  });

  test('Connector.records with its arguments; a deleted connector has none', async () => {
    const query = `query($id: ID!, $first: Int, $after: String, $kind: RecordKind, $since: DateTime, $until: DateTime) {
      connector(id: $id) { id records(first: $first, after: $after, kind: $kind, since: $since, until: $until) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id kind } } } }`;
    const recs = async (vars: Record<string, unknown>) => (await svc.ok(query, vars, t)).connector.records;
    expect((await recs({ id: f1 })).nodes.map((n: any) => n.id)).toEqual(nums(7, 5, 3, 1));
    expect((await recs({ id: f1, kind: 'EVENT' })).nodes).toEqual([{ id: r[1], kind: 'EVENT' }]);
    expect((await recs({ id: f1, since: at(3), until: at(7) })).nodes.map((n: any) => n.id)).toEqual(nums(5, 3));
    expect((await recs({ id: f2, kind: 'RECORD', since: at(6) })).nodes.map((n: any) => n.id)).toEqual(nums(8, 6));
    const first = await recs({ id: f1, first: 2 });
    expect(first).toMatchObject({ totalCount: 4, pageInfo: { hasNextPage: true } });
    expect(first.nodes.map((n: any) => n.id)).toEqual(nums(7, 5));
    const second = await recs({ id: f1, first: 2, after: first.pageInfo.endCursor });
    expect(second.nodes.map((n: any) => n.id)).toEqual(nums(3, 1));
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect((await recs({ id: f1, kind: 'RECORD', first: 1 })).totalCount).toBe(1);

    const gone = (await svc.ok(query, { id: deleted }, t)).connector;
    expect(gone).toEqual({ id: deleted, records: { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] } });
    for (const [vars, path] of [[{ first: 201 }, 'first'], [{ first: -1 }, 'first'], [{ since: at(5), until: at(5) }, 'since']] as const) {
      const res = await svc.gql(query, { id: f1, ...vars }, t);
      expect([path, errorCode(res)]).toEqual([path, 'BAD_USER_INPUT']);
    }
  });

  test('several connectors with different arguments in one request', async () => {
    const query = `{ connectors(first: 10) { nodes { id
      events: records(kind: EVENT) { nodes { id } }
      newest: records(first: 1) { nodes { id } pageInfo { hasNextPage } } } } }`;
    const res = await svc.gql(query, {}, t);
    expect(res.body.errors).toBeUndefined();
    const byId = new Map(res.body.data.connectors.nodes.map((n: any) => [n.id, n]));
    expect(byId.get(f1)).toEqual({ id: f1, events: { nodes: [{ id: r[1] }] }, newest: { nodes: [{ id: r[7] }], pageInfo: { hasNextPage: true } } });
    expect(byId.get(f2)).toEqual({ id: f2, events: { nodes: [{ id: r[2] }] }, newest: { nodes: [{ id: r[8] }], pageInfo: { hasNextPage: true } } });
    // connectors, then one statement per distinct set of arguments.
    expect(res.statements).toBe(3);
  });

  test('_entities resolves visible records and null for a deleted connector\'s record or an unknown id', async () => {
    const query = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Record { id kind title connector { id } } } }`;
    const reps = [r[4], deletedRecord, 'rec_00000000000000000000000000', r[1]].map((id) => ({ __typename: 'Record', id }));
    const res = await svc.gql(query, { reps }, t);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data._entities).toEqual([
      { id: r[4], kind: 'VULNERABILITY', title: 'CVE-2024-0001 100% remote code execution', connector: { id: f2 } },
      null,
      null,
      { id: r[1], kind: 'EVENT', title: 'Failed login from 10.0.0.1', connector: { id: f1 } },
    ]);
  });

  test('first bounds and invalid ranges are BAD_USER_INPUT', async () => {
    for (const first of [201, -1, 1000]) expect([first, errorCode(await svc.gql(RECORDS, { first }, t))]).toEqual([first, 'BAD_USER_INPUT']);
    const zero = (await svc.ok(RECORDS, { first: 0 }, t)).records;
    expect(zero).toMatchObject({ nodes: [], pageInfo: { hasNextPage: true, startCursor: null, endCursor: null } });
    expect((await svc.ok(RECORDS, { first: 200 }, t)).records.nodes).toHaveLength(8);
    expect(errorCode(await svc.gql(RECORDS, { filter: { since: at(5), until: at(5) } }, t))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(RECORDS, { filter: { since: at(6), until: at(5) } }, t))).toBe('BAD_USER_INPUT');
    const tooMany = Array.from({ length: 201 }, (_, i) => `cnn_${i}`);
    expect(errorCode(await svc.gql(RECORDS, { filter: { connectorIds: tooMany } }, t))).toBe('BAD_USER_INPUT');
  });

  test('a forged cursor is BAD_USER_INPUT, and reads nothing', async () => {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
    const real = (await svc.ok(RECORDS, { first: 2 }, t)).records.pageInfo.endCursor as string;
    // v2:<list>:<scope hash>:<position> (src/context/cursors.ts)
    const position = Buffer.from(real, 'base64url').toString('utf8').replace(/^v2:records:[A-Za-z0-9_-]{12}:/, '');
    expect(position).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\|rec_[0-9A-F]{26}$/);
    const forged = [
      'not-a-cursor',
      b64('v1:garbage'),
      b64('v1:cnn_01ARZ3NDEKTSV4RRFFQ69G5FAV'),
      b64(`v1:${position.replace('|', ';')}`),
      b64(`v1:2025-13-45T99:99:99.000000Z|${r[1]}`),
      b64(`v1:${position.split('|')[0]}|rec_1' OR '1'='1`),
      b64(`v1:${position}`) + '=',
      real.slice(0, -2),
      b64(`v2:${position}`),
    ];
    for (const after of forged) {
      const res = await svc.gql(RECORDS, { after }, t);
      expect([after, errorCode(res)]).toEqual([after, 'BAD_USER_INPUT']);
      expect(res.statements).toBe(0);
    }
    const viaConnector = await svc.gql(`query($id: ID!, $after: String) { connector(id: $id) { records(after: $after) { nodes { id } } } }`, { id: f1, after: forged[1] }, t);
    expect(errorCode(viaConnector)).toBe('BAD_USER_INPUT');
  });
});

describe('paging through 250 records', () => {
  const T = 'rec-paging';
  let t: string;
  let c: string;
  let other: string;
  /** The seeded ids in the expected order: ingested_at DESC, then id DESC. */
  let expected: string[];

  beforeAll(async () => {
    t = await admin(T);
    c = await connector(t, 'Pager');
    other = await connector(t, 'Other');
    // 25 instants, 10 records each, a microsecond apart: equal times are ordered by id, and a
    // cursor that kept only milliseconds would skip or repeat records.
    const rows: Seed[] = [];
    for (let i = 0; i < 250; i++) {
      const group = Math.floor(i / 10);
      const micros = String(100 + (group % 3)).padStart(3, '0');
      const ms = String(Math.floor(group / 3)).padStart(3, '0');
      rows.push({ tenantId: T, connectorId: c, kind: i % 2 ? 'event' : 'record', ingestedAt: `2025-02-01T00:00:00.${ms}${micros}Z`, title: `paged ${i}` });
    }
    const ids = await seed(rows);
    await seed([{ tenantId: T, connectorId: other, kind: 'event', ingestedAt: '2025-02-01T00:00:00.005000Z' }]);
    const withTimes = ids.map((id, i) => ({ id, at: rows[i]!.ingestedAt }));
    withTimes.sort((x, y) => (x.at === y.at ? (x.id < y.id ? 1 : -1) : x.at < y.at ? 1 : -1));
    expected = withTimes.map((x) => x.id);
    expect(new Set(rows.map((x) => x.ingestedAt)).size).toBe(25);
  });

  async function pageThrough(first: number, read: (after: string | null) => Promise<any>): Promise<string[]> {
    const seen: string[] = [];
    let after: string | null = null;
    for (let n = 0; n < 300; n++) {
      const page: any = await read(after);
      seen.push(...page.nodes.map((x: any) => x.id));
      expect(page.edges.map((e: any) => e.node.id)).toEqual(page.nodes.map((x: any) => x.id));
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      if (page.nodes.length) expect(page.pageInfo.endCursor).toBe(page.edges[page.edges.length - 1].cursor);
      if (!page.pageInfo.hasNextPage) break;
      expect(page.nodes).toHaveLength(first);
      after = page.pageInfo.endCursor;
    }
    return seen;
  }

  const PAGE = `query($filter: RecordFilter, $first: Int, $after: String) { records(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id } } nodes { id } } }`;

  test.each([100, 7, 200])('Query.records by %i: each record once, no gaps, newest first, ties by id', async (first) => {
    const seen = await pageThrough(first, async (after) => (await svc.ok(PAGE, { filter: { connectorIds: [c] }, first, after }, t)).records);
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
    expect(seen).toEqual(expected);
  });

  test('Connector.records by 9: the same order', async () => {
    const query = `query($id: ID!, $first: Int, $after: String) { connector(id: $id) { records(first: $first, after: $after) {
      pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id } } nodes { id } } } }`;
    const seen = await pageThrough(9, async (after) => (await svc.ok(query, { id: c, first: 9, after }, t)).connector.records);
    expect(seen).toEqual(expected);
  });

  test('the same cursor gives the same page; each field pages the same rows with cursors of its own', async () => {
    const one = (await svc.ok(PAGE, { filter: { connectorIds: [c] }, first: 15 }, t)).records;
    const again = (await svc.ok(PAGE, { filter: { connectorIds: [c] }, first: 15, after: one.pageInfo.endCursor }, t)).records;
    const twice = (await svc.ok(PAGE, { filter: { connectorIds: [c] }, first: 15, after: one.pageInfo.endCursor }, t)).records;
    expect(again.nodes).toEqual(twice.nodes);
    expect(again.nodes.map((n: any) => n.id)).toEqual(expected.slice(15, 30));
    const NESTED = `query($id: ID!, $first: Int, $after: String) { connector(id: $id) { records(first: $first, after: $after) { nodes { id } pageInfo { endCursor } } } }`;
    // A cursor is bound to the list it came from (issue 20): Query.records' is refused by Connector.records.
    expect(errorCode(await svc.gql(NESTED, { id: c, first: 15, after: one.pageInfo.endCursor }, t))).toBe('BAD_USER_INPUT');
    const nestedOne = (await svc.ok(NESTED, { id: c, first: 15 }, t)).connector.records;
    const viaConnector = (await svc.ok(NESTED, { id: c, first: 15, after: nestedOne.pageInfo.endCursor }, t)).connector.records;
    expect(viaConnector.nodes).toEqual(again.nodes);
  });

  test('a 200-record page costs one statement; with totalCount two', async () => {
    const res = await svc.gql(PAGE, { filter: { connectorIds: [c] }, first: 200 }, t);
    expect(res.body.data.records.nodes).toHaveLength(200);
    expect(res.statements).toBe(1);
    const counted = await svc.gql(`{ records(first: 200) { totalCount nodes { id } } }`, {}, t);
    expect(counted.body.data.records.totalCount).toBe(251);
    expect(counted.statements).toBe(2);
  });

  test('_entities of 100 Record references costs one statement', async () => {
    const reps = expected.slice(0, 100).map((id) => ({ __typename: 'Record', id }));
    const res = await svc.gql(`query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Record { id title kind } } }`, { reps }, t);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data._entities.map((e: any) => e.id)).toEqual(expected.slice(0, 100));
    expect(res.statements).toBe(1);
  });
});

describe('statements per request', () => {
  const T = 'rec-statements';
  let t: string;
  const connectors: string[] = [];

  beforeAll(async () => {
    t = await admin(T);
    for (let i = 0; i < 20; i++) connectors.push(await connector(t, `S${i}`));
    const rows: Seed[] = [];
    connectors.forEach((c, i) => {
      for (let j = 0; j < 6; j++) rows.push({ tenantId: T, connectorId: c, kind: 'event', ingestedAt: at(100 + i * 10 + j), title: `s${i}-${j}` });
    });
    await seed(rows);
  });

  test('connectors(first: 20) { nodes { records(first: 5) } } = 2 statements', async () => {
    const res = await svc.gql(`{ connectors(first: 20) { nodes { id records(first: 5) { nodes { id title } pageInfo { hasNextPage } } } } }`, {}, t);
    expect(res.body.errors).toBeUndefined();
    const nodes = res.body.data.connectors.nodes;
    expect(nodes).toHaveLength(20);
    for (const n of nodes) {
      const i = connectors.indexOf(n.id);
      expect(n.records.nodes.map((x: any) => x.title)).toEqual([5, 4, 3, 2, 1].map((j) => `s${i}-${j}`));
      expect(n.records.pageInfo.hasNextPage).toBe(true);
    }
    expect(res.statements).toBe(2);
  });

  test('the connector of each record of a page: one more statement', async () => {
    const res = await svc.gql(`{ records(first: 120) { nodes { id connector { id name } } } }`, {}, t);
    expect(res.body.data.records.nodes).toHaveLength(120);
    expect(res.body.data.records.nodes.every((n: any) => n.connector && connectors.includes(n.connector.id))).toBe(true);
    expect(res.statements).toBe(2);
  });
});

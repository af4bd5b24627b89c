/**
 * The connector subgraph behind a real Apollo Gateway, next to the investigations example subgraph:
 * all three on loopback sockets, the gateway composing both subgraphs' served SDL. Statement
 * counts are the `x-sql-statements` headers of our subgraph's responses as the gateway receives
 * them, summed over every request the gateway sent to it for one client request.
 */
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedInvestigations, type AlertRecord, type InvestigationsData } from '../../examples/investigations/data.js';
import { startInvestigationsSubgraph, type InvestigationsSubgraph } from '../../examples/investigations/server.js';
import { composeSupergraph, CompositionError, DEFAULT_OUT, DEFAULT_SUBGRAPHS, renderSupergraph, runCompose } from '../../src/cli/compose.js';
import { restInput } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { admin, editor } from '../helpers/tokens.js';

interface SubgraphCall {
  subgraph: string;
  /** Our subgraph's x-sql-statements header; null when the response had none. */
  statements: number | null;
  /** Whether the response carried a federated trace (extensions.ftv1). */
  ftv1: boolean;
  /** Whether the gateway's request carried the client's Authorization header. */
  authorized: boolean;
  /** HTTP status of the subgraph's response (0 when there was none). */
  status: number;
}

type FetchRequest = Parameters<RemoteGraphQLDataSource['didEncounterError']>[1];
type FetchResponse = NonNullable<Parameters<RemoteGraphQLDataSource['didEncounterError']>[2]>;

interface GatewayContext {
  authorization?: string;
  calls: SubgraphCall[];
}

const CONNECTOR_COUNT = 40;
const ALERT_COUNT = 200;

let svc: TestService;
let investigations: InvestigationsSubgraph;
let gateway: ApolloServer<GatewayContext>;
let gatewayUrl: string;
let supergraphSdl: string;
let tokenA: string;
let tokenB: string;
const startedAt = new Date();

/** What the connectors subgraph said when each connector was made or last changed, by id. */
const expected = new Map<string, any>();
let appNames: string[];
let connectorsA: string[];
let connectorsB: string[];
let deletedA: string;
const audit: Record<'toggled' | 'updated' | 'created', string> = { toggled: '', updated: '', created: '' };
const missingId = 'cnn_01JZZZZZZZZZZZZZZZZZZZZZZZ';
let data: InvestigationsData;

const CONNECTOR_VIEW = 'id name type enabled syncStatus isDeleted application { name }';
const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { ${CONNECTOR_VIEW} } }`;

/**
 * Forwards the client's Authorization header, as a deployed gateway must, and records every
 * response: its status, `x-sql-statements` header and whether it carried a trace.
 */
class AuthForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(readonly name: string, url: string) {
    super({ url });
  }

  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]): void {
    if (context?.authorization) request.http!.headers.set('authorization', context.authorization);
  }

  override didReceiveResponse({ response, request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['didReceiveResponse']>>[0]) {
    const header = response.http?.headers.get('x-sql-statements');
    context.calls?.push({
      subgraph: this.name,
      statements: header == null ? null : Number(header),
      ftv1: typeof response.extensions?.ftv1 === 'string',
      authorized: Boolean(request.http?.headers.get('authorization')),
      status: response.http?.status ?? 0,
    });
    return response;
  }

  // Non-2xx answers (our subgraph sends 401 for UNAUTHENTICATED) never reach didReceiveResponse.
  override didEncounterError(error: Error, fetchRequest: FetchRequest, fetchResponse?: FetchResponse, context?: GatewayContext): void {
    const header = fetchResponse?.headers.get('x-sql-statements');
    context?.calls?.push({
      subgraph: this.name,
      statements: header == null ? null : Number(header),
      ftv1: false,
      authorized: Boolean(fetchRequest.headers.get('authorization')),
      status: fetchResponse?.status ?? 0,
    });
    throw error;
  }
}

/** Test-only: reports the subgraph calls in `extensions`, and asks for traces on `x-capture-traces`. */
const accounting: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart({ request, metrics }) {
    // What usage reporting sets when it samples a trace; the gateway then sends apollo-federation-include-trace.
    if (request.http?.headers.get('x-capture-traces') === 'true') metrics.captureTraces = true;
    return {
      async willSendResponse({ response, contextValue }) {
        if (response.body.kind === 'single') {
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, subgraphCalls: contextValue.calls };
        }
      },
    };
  },
};

async function viaGateway(query: string, variables: Record<string, unknown> = {}, bearer?: string, headers: Record<string, string> = {}) {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: any[]; extensions?: { subgraphCalls?: SubgraphCall[] } };
  const calls = body.extensions?.subgraphCalls ?? [];
  const ours = calls.filter((c) => c.subgraph === 'connectors');
  return {
    status: response.status,
    body,
    calls,
    ours,
    /** SQL statements our subgraph ran for this client request, over all of the gateway's requests to it. */
    statements: ours.reduce((sum, c) => sum + (c.statements ?? Number.NaN), 0),
  };
}

async function servedSdl(url: string): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ _service { sdl } }' }) });
  const body = (await response.json()) as { data?: { _service: { sdl: string } }; errors?: unknown };
  if (!body.data) throw new Error(`no SDL from ${url}: ${JSON.stringify(body.errors)}`);
  return body.data._service.sdl;
}

function alert(id: string, connectorId: string | null, minutesAgo: number): AlertRecord {
  return { id, title: `Investigation alert ${id}`, severity: 'HIGH', createdAt: new Date(Date.UTC(2024, 0, 1) - minutesAgo * 60_000), connectorId };
}

beforeAll(async () => {
  // A deployment that reports usage to GraphOS turns inline traces on (off by default, docs/federation.md).
  svc = await startTestService('gateway_e2e', { FEDERATION_INLINE_TRACES: 'true' });
  tokenA = await admin('inv_a');
  tokenB = await admin('inv_b');
  const editorA = await editor('inv_a');

  appNames = ['Triage', 'Threat hunting', 'Compliance'];
  const appIds: string[] = [];
  for (const name of appNames) {
    appIds.push((await svc.ok('mutation($n: String!) { createApplication(name: $n) { id } }', { n: name }, tokenA)).createApplication.id);
  }
  connectorsA = [];
  for (let i = 0; i < CONNECTOR_COUNT; i++) {
    // Every fourth connector has no application; a third are enabled.
    const extra = { enabled: i % 3 === 0, ...(i % 4 === 3 ? {} : { applicationId: appIds[i % appIds.length] }) };
    const created = (await svc.ok(CREATE, { input: restInput(`Source A${i}`, extra) }, tokenA)).createConnector;
    expected.set(created.id, created);
    connectorsA.push(created.id);
  }
  connectorsB = [];
  for (let i = 0; i < 3; i++) {
    connectorsB.push((await svc.ok(CREATE, { input: restInput(`Source B${i}`) }, tokenB)).createConnector.id);
  }
  deletedA = (await svc.ok(CREATE, { input: restInput('Retired A') }, tokenA)).createConnector.id;
  await svc.ok('mutation($id: ID!) { deleteConnector(id: $id) { id } }', { id: deletedA }, tokenA);

  // Three connectors whose latest audit events differ: enabled by an editor, updated by the admin, only created.
  audit.toggled = connectorsA[1]!;
  audit.updated = connectorsA[2]!;
  audit.created = connectorsA[4]!;
  const toggled = await svc.ok(`mutation($id: ID!) { toggleConnector(id: $id, enabled: true, reason: "go live") { ${CONNECTOR_VIEW} } }`, { id: audit.toggled }, editorA);
  expected.set(audit.toggled, toggled.toggleConnector);
  const updated = await svc.ok(`mutation($id: ID!) { updateConnector(id: $id, expectedVersion: 1, input: { tags: ["edr"] }) { ${CONNECTOR_VIEW} } }`, { id: audit.updated }, tokenA);
  expected.set(audit.updated, updated.updateConnector);

  const seeded = seedInvestigations(connectorsA, { count: ALERT_COUNT, cases: 0 });
  // Older than every seeded alert, so `alerts(first: 200)` returns exactly the seeded ones.
  const extra = [
    alert('alr_audit_1', audit.toggled, 1),
    alert('alr_audit_2', audit.updated, 2),
    alert('alr_audit_3', audit.created, 3),
    alert('alr_mix_a', connectorsA[0]!, 4),
    alert('alr_mix_b', connectorsB[0]!, 5),
    alert('alr_mix_deleted', deletedA, 6),
    alert('alr_mix_missing', missingId, 7),
    alert('alr_mix_none', null, 8),
    alert('alr_mix_b2', connectorsB[1]!, 9),
  ];
  data = {
    alerts: [...seeded.alerts, ...extra],
    cases: [
      { id: 'cas_audit', title: 'Latest changes', alertIds: ['alr_audit_1', 'alr_audit_2', 'alr_audit_3'] },
      { id: 'cas_mixed', title: 'Mixed tenants', alertIds: ['alr_mix_a', 'alr_mix_b', 'alr_mix_deleted', 'alr_mix_missing', 'alr_mix_none', 'alr_mix_b2'] },
    ],
  };
  investigations = await startInvestigationsSubgraph({ data, port: 0, host: '127.0.0.1' });

  // Like IntrospectAndCompose: compose what the running subgraphs serve.
  supergraphSdl = composeSupergraph([
    { name: 'connectors', url: `${svc.url}/graphql`, sdl: await servedSdl(`${svc.url}/graphql`) },
    { name: 'investigations', url: investigations.url, sdl: await servedSdl(investigations.url) },
  ], { authorization: false }).supergraphSdl;
  const quiet = { debug() {}, info() {}, warn: console.warn, error: console.error };
  gateway = new ApolloServer<GatewayContext>({
    gateway: new ApolloGateway({ supergraphSdl, logger: quiet, buildService: ({ name, url }) => new AuthForwardingDataSource(name, url!) }),
    logger: quiet,
    plugins: [accounting],
  });
  ({ url: gatewayUrl } = await startStandaloneServer(gateway, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization, calls: [] }),
  }));
});

afterAll(async () => {
  await gateway?.stop();
  await investigations?.stop();
  await svc?.close();
});

const ALERTS = `query($first: Int) { alerts(first: $first) { id title severity createdAt connector { name type enabled syncStatus application { name } } } }`;

describe('200 alerts with their connectors through the gateway', () => {
  test('correct data; one SQL statement for all connector references and one for their applications', async () => {
    const res = await viaGateway(ALERTS, { first: ALERT_COUNT }, tokenA);
    expect(res.body.errors).toBeUndefined();
    const alerts = res.body.data.alerts;
    expect(alerts).toHaveLength(ALERT_COUNT);
    const apps = new Set<string>();
    alerts.forEach((a: any, i: number) => {
      const seeded = data.alerts[i]!;
      const c = expected.get(seeded.connectorId!);
      expect(a).toEqual({
        id: seeded.id,
        title: seeded.title,
        severity: seeded.severity,
        createdAt: seeded.createdAt.toISOString(),
        connector: { name: c.name, type: 'CUSTOM_API', enabled: c.enabled, syncStatus: c.syncStatus, application: c.application },
      });
      if (a.connector.application) apps.add(a.connector.application.name);
    });
    // The fixture really varies: names per connector, enabled and paused ones, with and without applications.
    expect(new Set(alerts.map((a: any) => a.connector.name)).size).toBe(CONNECTOR_COUNT);
    expect(new Set(alerts.map((a: any) => a.connector.syncStatus))).toEqual(new Set(['PENDING', 'PAUSED']));
    expect(alerts.some((a: any) => a.connector.application === null)).toBe(true);
    expect([...apps].sort()).toEqual([...appNames].sort());

    // One request to our subgraph (all 200 references in one _entities), which ran exactly 2 statements.
    expect(res.ours).toHaveLength(1);
    expect(res.ours[0]).toMatchObject({ authorized: true, ftv1: false, status: 200 });
    expect(res.statements).toBe(2);
    expect(res.calls.map((c) => c.subgraph).sort()).toEqual(['connectors', 'investigations']);
  });

  test('without applications the same references cost one statement: the second was the applications one', async () => {
    const res = await viaGateway(`query($first: Int) { alerts(first: $first) { id connector { name syncStatus } } }`, { first: ALERT_COUNT }, tokenA);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.alerts.map((a: any) => a.connector.name)).toEqual(data.alerts.slice(0, ALERT_COUNT).map((a) => expected.get(a.connectorId!).name));
    expect(res.ours).toHaveLength(1);
    expect(res.statements).toBe(1);
  });

  test('the Authorization header is what authenticates the gateway to our subgraph', async () => {
    const res = await viaGateway(`{ alerts(first: 3) { id connector { name } } }`);
    // Our subgraph answers 401 (UNAUTHENTICATED), ran no SQL, and the gateway nulls the references.
    expect(res.ours).toEqual([{ subgraph: 'connectors', authorized: false, statements: 0, status: 401, ftv1: false }]);
    expect(res.body.data.alerts).toEqual(data.alerts.slice(0, 3).map((a) => ({ id: a.id, connector: null })));
    expect(res.body.errors?.map((e: any) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(JSON.stringify(res.body.errors)).toContain('a valid bearer token is required');
    expect(JSON.stringify(res.body)).not.toContain('Source A');
  });
});

test('a case with its alerts’ connectors and their latest audit events', async () => {
  const res = await viaGateway(
    `query($id: ID!) { case(id: $id) { id title alerts { id connector { id name auditEvents(first: 1) { nodes { eventType occurredAt actorEmail } } } } } }`,
    { id: 'cas_audit' },
    tokenA,
  );
  expect(res.body.errors).toBeUndefined();
  const c = res.body.data.case;
  expect(c.title).toBe('Latest changes');
  expect(c.alerts.map((a: any) => [a.id, a.connector.id, a.connector.name])).toEqual([
    ['alr_audit_1', audit.toggled, expected.get(audit.toggled).name],
    ['alr_audit_2', audit.updated, expected.get(audit.updated).name],
    ['alr_audit_3', audit.created, expected.get(audit.created).name],
  ]);
  const latest = c.alerts.map((a: any) => a.connector.auditEvents.nodes);
  expect(latest.map((nodes: any[]) => nodes.length)).toEqual([1, 1, 1]);
  expect(latest.map(([e]: any[]) => [e.eventType, e.actorEmail])).toEqual([
    ['CONNECTOR_ENABLED', 'editor-inv_a@inv_a.example'],
    ['CONNECTOR_UPDATED', 'admin-inv_a@inv_a.example'],
    ['CONNECTOR_CREATED', 'admin-inv_a@inv_a.example'],
  ]);
  for (const [e] of latest) {
    expect(new Date(e.occurredAt).getTime()).toBeGreaterThanOrEqual(startedAt.getTime() - 1000);
    expect(new Date(e.occurredAt).getTime()).toBeLessThanOrEqual(Date.now());
  }
  // The same event the subgraph's own audit query calls newest.
  const direct = await svc.ok(`query($id: ID!) { auditEvents(filter: { targetId: $id }, first: 1) { nodes { eventType occurredAt } } }`, { id: audit.toggled }, tokenA);
  expect(direct.auditEvents.nodes[0]).toEqual({ eventType: latest[0][0].eventType, occurredAt: latest[0][0].occurredAt });
  // One _entities request: one statement for the connectors, one for all their audit pages.
  expect(res.ours).toHaveLength(1);
  expect(res.statements).toBe(2);
});

test('the investigation query of docs/federation.md: one statement each for connectors, applications and audit pages', async () => {
  const res = await viaGateway(
    `query Investigation($case: ID!) {
      case(id: $case) { title alerts { title severity createdAt connector {
        name type enabled syncStatus isDeleted lastSyncAt application { name }
        auditEvents(first: 1) { nodes { eventType occurredAt actorEmail } } } } } }`,
    { case: 'cas_audit' },
    tokenA,
  );
  expect(res.body.errors).toBeUndefined();
  const connectors = res.body.data.case.alerts.map((a: any) => a.connector);
  expect(connectors.map((c: any) => [c.name, c.enabled, c.application?.name ?? null, c.auditEvents.nodes[0].eventType])).toEqual(
    [audit.toggled, audit.updated, audit.created].map((id, i) => [
      expected.get(id).name,
      expected.get(id).enabled,
      expected.get(id).application?.name ?? null,
      ['CONNECTOR_ENABLED', 'CONNECTOR_UPDATED', 'CONNECTOR_CREATED'][i],
    ]),
  );
  expect(res.ours).toHaveLength(1);
  expect(res.statements).toBe(3);
});

describe('references across two tenants in one request', () => {
  const MIXED = `query { case(id: "cas_mixed") { alerts { id connector { id name isDeleted deletedAt } } } }`;
  const connectorOf = (body: any) => Object.fromEntries(body.data.case.alerts.map((a: any) => [a.id, a.connector]));

  test("only the caller's connectors resolve; others and unknown ids are null; soft-deleted ones say so", async () => {
    const res = await viaGateway(MIXED, {}, tokenA);
    expect(res.body.errors).toBeUndefined();
    const byAlert = connectorOf(res.body);
    expect(byAlert.alr_mix_a).toEqual({ id: connectorsA[0], name: 'Source A0', isDeleted: false, deletedAt: null });
    expect(byAlert.alr_mix_deleted).toMatchObject({ id: deletedA, name: 'Retired A', isDeleted: true });
    expect(Date.parse(byAlert.alr_mix_deleted.deletedAt)).not.toBeNaN();
    expect(byAlert.alr_mix_b).toBeNull();
    expect(byAlert.alr_mix_b2).toBeNull();
    expect(byAlert.alr_mix_missing).toBeNull();
    expect(byAlert.alr_mix_none).toBeNull();
    expect(JSON.stringify(res.body)).not.toContain('Source B');
    expect(res.ours).toHaveLength(1);
    expect(res.statements).toBe(1);
  });

  test("the other tenant's token sees exactly the other half", async () => {
    const res = await viaGateway(MIXED, {}, tokenB);
    expect(res.body.errors).toBeUndefined();
    const byAlert = connectorOf(res.body);
    expect(byAlert.alr_mix_b).toEqual({ id: connectorsB[0], name: 'Source B0', isDeleted: false, deletedAt: null });
    expect(byAlert.alr_mix_b2).toEqual({ id: connectorsB[1], name: 'Source B1', isDeleted: false, deletedAt: null });
    expect(byAlert.alr_mix_a).toBeNull();
    expect(byAlert.alr_mix_deleted).toBeNull();
    expect(JSON.stringify(res.body)).not.toMatch(/Source A|Retired A/);
  });
});

test('_service { sdl } carries the Federation 2 @link and the three @keys', async () => {
  const sdl = await servedSdl(`${svc.url}/graphql`);
  expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
  for (const type of ['Connector', 'Application', 'AuditEvent']) {
    expect(sdl).toMatch(new RegExp(`type ${type}\\s+@key\\(fields: "id"\\)`));
  }
  expect(sdl).toMatch(/union _Entity = [^\n]*\bConnector\b/);
  // The composed supergraph knows both subgraphs and where Connector is resolvable.
  expect(supergraphSdl).toMatch(/type Connector\s+@join__type\(graph: CONNECTORS, key: "id"\)\s+@join__type\(graph: INVESTIGATIONS, key: "id", resolvable: false\)/);
});

describe('federated tracing (ftv1)', () => {
  const QUERY = `query($id: ID!) { connector(id: $id) { name } }`;

  test('our subgraph adds extensions.ftv1 only when asked with apollo-federation-include-trace: ftv1', async () => {
    const traced = await svc.gql(QUERY, { id: connectorsA[0] }, tokenA, { 'apollo-federation-include-trace': 'ftv1' });
    const ftv1 = (traced.body as any).extensions?.ftv1;
    expect(typeof ftv1).toBe('string');
    // A protobuf Trace: the resolved field's name is in it.
    expect(Buffer.from(ftv1, 'base64').includes(Buffer.from('connector'))).toBe(true);
    const plain = await svc.gql(QUERY, { id: connectorsA[0] }, tokenA);
    expect(plain.body.data.connector.name).toBe('Source A0');
    expect((plain.body as any).extensions?.ftv1).toBeUndefined();
    const other = await svc.gql(QUERY, { id: connectorsA[0] }, tokenA, { 'apollo-federation-include-trace': 'other' });
    expect((other.body as any).extensions?.ftv1).toBeUndefined();
  });

  test('the gateway asks for traces only when it captures them (usage reporting)', async () => {
    const query = `{ alerts(first: 5) { id connector { name } } }`;
    const traced = await viaGateway(query, {}, tokenA, { 'x-capture-traces': 'true' });
    expect(traced.body.errors).toBeUndefined();
    expect(traced.ours).toEqual([expect.objectContaining({ ftv1: true, statements: 1 })]);
    const plain = await viaGateway(query, {}, tokenA);
    expect(plain.ours).toEqual([expect.objectContaining({ ftv1: false, statements: 1 })]);
    expect(plain.body.data).toEqual(traced.body.data);
  });
});

describe('npm run compose', () => {
  const fresh = (subgraphs: Array<{ name: string; url: string; sdl: string; origin: string }>) =>
    renderSupergraph(composeSupergraph(subgraphs, { authorization: false }).supergraphSdl, subgraphs);

  test('schema/supergraph.graphql is the composition of the subgraphs as served (run `npm run schema:print && npm run compose`)', async () => {
    const [connectors, example] = DEFAULT_SUBGRAPHS;
    // The served SDL was printed at startup. A schema rebuilt after requests ran would list some
    // arguments in another order: type-graphql sorts its parameter metadata in place when resolving.
    const composed = fresh([
      { name: connectors!.name, url: connectors!.url, origin: connectors!.file, sdl: await servedSdl(`${svc.url}/graphql`) },
      { name: example!.name, url: example!.url, origin: example!.file, sdl: await servedSdl(investigations.url) },
    ]);
    expect(readFileSync(DEFAULT_OUT, 'utf8')).toBe(composed);
  });

  test('the CLI writes the same file and --check passes on it', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'supergraph-')), 'supergraph.graphql');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    expect(runCompose(['--out', out], io)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(DEFAULT_OUT, 'utf8'));
    expect(runCompose(['--check'], io)).toBe(0);
    expect(runCompose(['--check', '--out', join(tmpdir(), 'no-such-supergraph.graphql')], io)).toBe(1);
  });

  test('a conflicting subgraph fails with a readable message naming the field, and nothing is written', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'supergraph-')), 'supergraph.graphql');
    const errors: string[] = [];
    const code = runCompose(
      [
        '--out', out,
        '--subgraph', 'connectors=schema/connectors.graphql=http://localhost:4001/graphql',
        '--subgraph', 'conflicting=test/fixtures/federation/conflicting.graphql=http://localhost:4009/graphql',
      ],
      { out: () => {}, err: (l) => errors.push(l) },
    );
    expect(code).toBe(1);
    expect(existsSync(out)).toBe(false);
    const text = errors.join('\n');
    expect(text).toContain('FIELD_TYPE_MISMATCH: Type of field "Connector.name" is incompatible across subgraphs');
    expect(text).toContain('type "Int" in subgraph "conflicting"');
    expect(text).toContain('type "String!" in subgraph "connectors"');
    expect(text).toContain('was not written');

    expect(() =>
      composeSupergraph([
        { name: 'connectors', url: 'http://a/graphql', sdl: readFileSync('schema/connectors.graphql', 'utf8') },
        { name: 'conflicting', url: 'http://b/graphql', sdl: readFileSync('test/fixtures/federation/conflicting.graphql', 'utf8') },
      ]),
    ).toThrow(CompositionError);
  });
});

/**
 * Intake tokens of push connectors: minted by admins, shown once, stored as a SHA-256, listed on
 * `Connector.intakeTokens` (batched), revocable, audited, and recognised by
 * `IntakeTokenService.authenticate` only while live.
 */
import { createHash } from 'node:crypto';
import { listAdapters } from '../../src/adapters/registry.js';
import { CREATE, DELETE, ENTITIES as CONNECTOR_ENTITIES, RESTORE, restInput } from '../helpers/fixtures.js';
import { errorCode, startTestService, type GqlResponse, type TestService } from '../helpers/server.js';
import { admin, editor, viewer } from '../helpers/tokens.js';

const TOKEN_FIELDS = 'id connectorId name prefix createdAt createdBy lastUsedAt revokedAt';
const CREATE_TOKEN = `mutation($connectorId: ID!, $name: String!) {
  createIntakeToken(connectorId: $connectorId, name: $name) { token intakeToken { ${TOKEN_FIELDS} } } }`;
const REVOKE_TOKEN = `mutation($id: ID!) { revokeIntakeToken(id: $id) { ${TOKEN_FIELDS} } }`;
const CONNECTOR_TOKENS = `query($id: ID!) { connector(id: $id) { id intakeTokens { ${TOKEN_FIELDS} } } }`;
const ENTITY_TOKENS = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Connector { id intakeTokens { ${TOKEN_FIELDS} } } } }`;
const EVENTS = `query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 100) {
  nodes { id eventType actorType actorId targetType targetId appId changes reason requestId } } }`;

const TOKEN_FORMAT = /^hec_[A-Za-z0-9_-]{43}$/;

/** A push provider of the registry, looked up now rather than named: any `mode: 'push'` one will do. */
function pushProvider(): string {
  const adapter = listAdapters().find((a) => a.spec.mode === 'push');
  if (!adapter) throw new Error('no provider with mode "push" is registered (src/adapters/push)');
  return adapter.spec.id;
}

let svc: TestService;
let provider: string;
let a: string; // tenant-a admin
let b: string; // tenant-b admin
let push: { id: string; applicationId: string | null };
let poll: { id: string };
let pushB: { id: string };

interface Created {
  token: string;
  intakeToken: { id: string; connectorId: string; name: string; prefix: string; createdAt: string; createdBy: string | null; lastUsedAt: string | null; revokedAt: string | null };
}

function pushInput(name: string, extra: Record<string, unknown> = {}) {
  return { name, provider, config: {}, ...extra };
}

async function createConnector(input: Record<string, unknown>, as = a) {
  return (await svc.ok(CREATE, { input }, as)).createConnector;
}

async function createToken(connectorId: string, name: string, as = a): Promise<Created> {
  return (await svc.ok(CREATE_TOKEN, { connectorId, name }, as)).createIntakeToken;
}

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/** What a refused request may not have changed. */
async function snapshot(): Promise<string> {
  const [row] = await svc.dataSource.query(
    `SELECT (SELECT count(*) FROM intake_tokens)::int AS tokens, (SELECT count(*) FROM audit_events)::int AS events,
            (SELECT coalesce(json_agg(t ORDER BY t.id), '[]')::text FROM intake_tokens t) AS rows`,
  );
  return JSON.stringify(row);
}

async function eventsFor(targetId: string, as = a) {
  return (await svc.ok(EVENTS, { filter: { targetId } }, as)).auditEvents.nodes;
}

function codeAndNoData(res: GqlResponse): string | undefined {
  expect(res.body.data?.createIntakeToken ?? res.body.data?.revokeIntakeToken ?? null).toBeNull();
  return errorCode(res);
}

beforeAll(async () => {
  provider = pushProvider();
  svc = await startTestService('intake_tokens');
  a = await admin('tenant-a', { subject: 'boss', email: 'boss@a.example' });
  b = await admin('tenant-b', { subject: 'other-boss' });
  push = await createConnector(pushInput('Firewall feed'));
  poll = await createConnector(restInput('Polled source'));
  pushB = await createConnector(pushInput('B feed'), b);
});
afterAll(() => svc?.close());

describe('createIntakeToken', () => {
  test('returns hec_ + 43 base64url characters once, with its metadata', async () => {
    const before = Date.now();
    const { token, intakeToken } = await createToken(push.id, '  Edge collector  ');
    expect(token).toMatch(TOKEN_FORMAT);
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    expect(intakeToken.id).toMatch(/^itk_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(intakeToken).toMatchObject({ connectorId: push.id, name: 'Edge collector', prefix: token.slice(4, 12), createdBy: 'boss', lastUsedAt: null, revokedAt: null });
    expect(new Date(intakeToken.createdAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
    // Two tokens never share a secret.
    const other = await createToken(push.id, 'Second');
    expect(other.token).not.toBe(token);
    expect(other.intakeToken.prefix).not.toBe(intakeToken.prefix);
  });

  test('is stored as metadata and a SHA-256: the token is in no row', async () => {
    const { token, intakeToken } = await createToken(push.id, 'Stored');
    const [row] = await svc.dataSource.query('SELECT * FROM intake_tokens WHERE id = $1', [intakeToken.id]);
    expect(row).toMatchObject({ tenant_id: 'tenant-a', connector_id: push.id, name: 'Stored', prefix: token.slice(4, 12), token_sha256: sha256(token), created_by: 'boss' });
    const [{ dump }] = await svc.dataSource.query(
      `SELECT concat_ws(E'\\n', (SELECT json_agg(t)::text FROM intake_tokens t), (SELECT json_agg(e)::text FROM audit_events e), (SELECT json_agg(c)::text FROM connectors c)) AS dump`,
    );
    expect(dump).toContain(sha256(token));
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice(4));
  });

  test('records INTAKE_TOKEN_CREATED on the connector without any token material', async () => {
    const { token, intakeToken } = await createToken(push.id, 'Audited');
    const events = await eventsFor(intakeToken.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      eventType: 'INTAKE_TOKEN_CREATED',
      actorType: 'USER',
      actorId: 'boss',
      targetType: 'IntakeToken',
      targetId: intakeToken.id,
      changes: { name: { before: null, after: 'Audited' } },
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(4));
    expect(text).not.toContain(sha256(token));
    // It is part of the connector's own history.
    const history = (await svc.ok(`query($id: ID!) { connector(id: $id) { auditEvents(first: 50) { nodes { eventType targetId } } } }`, { id: push.id }, a)).connector.auditEvents.nodes;
    expect(history).toContainEqual({ eventType: 'INTAKE_TOKEN_CREATED', targetId: intakeToken.id });
  });
});

describe('Connector.intakeTokens', () => {
  test('lists the tokens newest first, revoked ones included, never the token or its hash', async () => {
    const first = await createToken(push.id, 'List one');
    const second = await createToken(push.id, 'List two');
    await svc.ok(REVOKE_TOKEN, { id: first.intakeToken.id }, a);
    const res = await svc.gql(CONNECTOR_TOKENS, { id: push.id }, a);
    expect(res.body.errors).toBeUndefined();
    const listed = res.body.data.connector.intakeTokens;
    const ids = listed.map((t: any) => t.id);
    expect(ids.indexOf(second.intakeToken.id)).toBeLessThan(ids.indexOf(first.intakeToken.id));
    expect(ids).toEqual([...ids].sort().reverse());
    expect(listed.find((t: any) => t.id === second.intakeToken.id)).toEqual(second.intakeToken);
    expect(listed.find((t: any) => t.id === first.intakeToken.id).revokedAt).not.toBeNull();
    const text = JSON.stringify(res.body);
    for (const { token } of [first, second]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.slice(4));
      expect(text).not.toContain(sha256(token));
    }
  });

  test('is empty for a polled connector', async () => {
    expect((await svc.ok(CONNECTOR_TOKENS, { id: poll.id }, a)).connector.intakeTokens).toEqual([]);
  });

  test('viewers read it; the type has no field for the token or its hash', async () => {
    const listed = (await svc.ok(CONNECTOR_TOKENS, { id: push.id }, await viewer('tenant-a'))).connector.intakeTokens;
    expect(listed.length).toBeGreaterThan(0);
    const fields = (await svc.ok(`{ __type(name: "IntakeToken") { fields { name } } }`, {}, a)).__type.fields.map((f: any) => f.name);
    expect(fields.sort()).toEqual(['connectorId', 'createdAt', 'createdBy', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt']);
    const created = (await svc.ok(`{ __type(name: "CreatedIntakeToken") { fields { name } } }`, {}, a)).__type.fields.map((f: any) => f.name);
    expect(created.sort()).toEqual(['intakeToken', 'token']);
  });
});

describe('revokeIntakeToken', () => {
  test('sets revokedAt once, audits it once, and the token stops authenticating', async () => {
    const { token, intakeToken } = await createToken(push.id, 'To revoke');
    expect(await svc.services.intakeTokens.authenticate(token)).toEqual({ tokenId: intakeToken.id, tenantId: 'tenant-a', connectorId: push.id });
    const revoked = (await svc.ok(REVOKE_TOKEN, { id: intakeToken.id }, a)).revokeIntakeToken;
    expect(revoked).toMatchObject({ id: intakeToken.id, connectorId: push.id, name: 'To revoke', prefix: intakeToken.prefix });
    expect(revoked.revokedAt).not.toBeNull();
    const [row] = await svc.dataSource.query('SELECT revoked_by FROM intake_tokens WHERE id = $1', [intakeToken.id]);
    expect(row.revoked_by).toBe('boss');
    expect(await svc.services.intakeTokens.authenticate(token)).toBeNull();
    // Again: the same answer, nothing changed, nothing recorded.
    const again = (await svc.ok(REVOKE_TOKEN, { id: intakeToken.id }, a)).revokeIntakeToken;
    expect(again.revokedAt).toBe(revoked.revokedAt);
    const events = await eventsFor(intakeToken.id);
    expect(events.map((e: any) => e.eventType)).toEqual(['INTAKE_TOKEN_REVOKED', 'INTAKE_TOKEN_CREATED']);
    expect(events[0]).toMatchObject({ actorId: 'boss', targetType: 'IntakeToken', changes: { revokedAt: { before: null, after: revoked.revokedAt } } });
    const text = JSON.stringify(events);
    expect(text).not.toContain(token);
    expect(text).not.toContain(sha256(token));
  });

  test('unknown ids are NOT_FOUND', async () => {
    const before = await snapshot();
    expect(codeAndNoData(await svc.gql(REVOKE_TOKEN, { id: 'itk_01ARZ3NDEKTSV4RRFFQ69G5FAV' }, a))).toBe('NOT_FOUND');
    expect(codeAndNoData(await svc.gql(REVOKE_TOKEN, { id: 'not an id' }, a))).toBe('NOT_FOUND');
    expect(await snapshot()).toBe(before);
  });
});

describe('authenticate', () => {
  test('accepts a live token and names its tenant and connector', async () => {
    const { token, intakeToken } = await createToken(push.id, 'Live');
    expect(await svc.services.intakeTokens.authenticate(token)).toEqual({ tokenId: intakeToken.id, tenantId: 'tenant-a', connectorId: push.id });
  });

  test('refuses unknown, malformed and altered tokens', async () => {
    const { token } = await createToken(push.id, 'Altered');
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const candidate of [
      'hec_' + 'A'.repeat(43),
      flipped,
      token.slice(4),
      token + 'x',
      token.slice(0, -1),
      ` ${token}`,
      token.toUpperCase(),
      sha256(token),
      '',
      'Splunk ' + token,
    ]) {
      expect(await svc.services.intakeTokens.authenticate(candidate)).toBeNull();
    }
  });

  test("refuses a deleted connector's tokens, and accepts them again once it is restored", async () => {
    const c = await createConnector(pushInput('To delete'));
    const { token, intakeToken } = await createToken(c.id, 'Doomed');
    await svc.ok(DELETE, { id: c.id }, a);
    expect(await svc.services.intakeTokens.authenticate(token)).toBeNull();
    await svc.ok(RESTORE, { id: c.id }, a);
    expect(await svc.services.intakeTokens.authenticate(token)).toEqual({ tokenId: intakeToken.id, tenantId: 'tenant-a', connectorId: c.id });
  });

  test('touches lastUsedAt at most once a minute', async () => {
    const { token, intakeToken } = await createToken(push.id, 'Touched');
    const lastUsed = async (): Promise<Date | null> => (await svc.dataSource.query('SELECT last_used_at FROM intake_tokens WHERE id = $1', [intakeToken.id]))[0].last_used_at;
    expect(await lastUsed()).toBeNull();
    await svc.services.intakeTokens.authenticate(token);
    const t1 = await lastUsed();
    expect(t1).not.toBeNull();
    await svc.services.intakeTokens.authenticate(token);
    expect(await lastUsed()).toEqual(t1);
    await svc.dataSource.query(`UPDATE intake_tokens SET last_used_at = now() - interval '61 seconds' WHERE id = $1`, [intakeToken.id]);
    const backdated = await lastUsed();
    await svc.services.intakeTokens.authenticate(token);
    const t3 = await lastUsed();
    expect(t3!.getTime()).toBeGreaterThan(backdated!.getTime() + 60_000);
    const listed = (await svc.ok(CONNECTOR_TOKENS, { id: push.id }, a)).connector.intakeTokens.find((t: any) => t.id === intakeToken.id);
    expect(new Date(listed.lastUsedAt).getTime()).toBe(t3!.getTime());
  });

  test('purging the connector removes its tokens', async () => {
    const c = await createConnector(pushInput('To purge'));
    const { token, intakeToken } = await createToken(c.id, 'Purged');
    await svc.ok(DELETE, { id: c.id }, a);
    await svc.ok('mutation($id: ID!) { purgeConnector(id: $id) }', { id: c.id }, a);
    expect(await svc.dataSource.query('SELECT id FROM intake_tokens WHERE id = $1', [intakeToken.id])).toEqual([]);
    expect(await svc.services.intakeTokens.authenticate(token)).toBeNull();
    // The audit trail keeps the token's history.
    expect((await eventsFor(intakeToken.id)).map((e: any) => e.eventType)).toEqual(['INTAKE_TOKEN_CREATED']);
  });
});

describe('validation: precise codes, nothing written', () => {
  test.each([
    ['an empty name', 'BAD_USER_INPUT', () => ({ connectorId: push.id, name: '   ' }), /name must not be empty/],
    ['a name too long', 'BAD_USER_INPUT', () => ({ connectorId: push.id, name: 'x'.repeat(1000) }), /name is 1000 characters long/],
    ['a name with control characters', 'BAD_USER_INPUT', () => ({ connectorId: push.id, name: 'bad\u0007name' }), /control characters/],
    ['a polled connector', 'BAD_USER_INPUT', () => ({ connectorId: poll.id, name: 'Nope' }), /^intake tokens are for push connectors; generic_rest is polled$/],
    ['an unknown connector', 'NOT_FOUND', () => ({ connectorId: 'cnn_01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'Nope' }), /was not found/],
    ['a malformed connector id', 'NOT_FOUND', () => ({ connectorId: "'; DROP TABLE intake_tokens; --", name: 'Nope' }), /was not found/],
  ])('%s → %s', async (_label, code, variables, message) => {
    const before = await snapshot();
    const res = await svc.gql(CREATE_TOKEN, variables(), a);
    expect(codeAndNoData(res)).toBe(code);
    expect(res.body.errors![0]!.message).toMatch(message);
    expect(await snapshot()).toBe(before);
  });

  test('the polled-connector refusal points at connectorId', async () => {
    const res = await svc.gql(CREATE_TOKEN, { connectorId: poll.id, name: 'Nope' }, a);
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fieldErrors: [{ path: 'connectorId', message: 'is not a push connector' }] });
  });

  test('a deleted connector → BAD_USER_INPUT; restored, it takes tokens again', async () => {
    const c = await createConnector(pushInput('Deleted feed'));
    await svc.ok(DELETE, { id: c.id }, a);
    const before = await snapshot();
    const res = await svc.gql(CREATE_TOKEN, { connectorId: c.id, name: 'Too late' }, a);
    expect(codeAndNoData(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toMatch(/is deleted/);
    expect(await snapshot()).toBe(before);
    await svc.ok(RESTORE, { id: c.id }, a);
    expect((await createToken(c.id, 'After restore')).token).toMatch(TOKEN_FORMAT);
  });
});

describe('roles', () => {
  test('creating and revoking need admin; reading needs viewer', async () => {
    const { intakeToken } = await createToken(push.id, 'Roles');
    const before = await snapshot();
    for (const as of [await editor('tenant-a'), await viewer('tenant-a')]) {
      expect(codeAndNoData(await svc.gql(CREATE_TOKEN, { connectorId: push.id, name: 'Not admin' }, as))).toBe('FORBIDDEN');
      expect(codeAndNoData(await svc.gql(REVOKE_TOKEN, { id: intakeToken.id }, as))).toBe('FORBIDDEN');
    }
    expect(codeAndNoData(await svc.gql(CREATE_TOKEN, { connectorId: push.id, name: 'Anonymous' }))).toBe('UNAUTHENTICATED');
    expect(codeAndNoData(await svc.gql(REVOKE_TOKEN, { id: intakeToken.id }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await svc.gql(CONNECTOR_TOKENS, { id: push.id }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await svc.gql(ENTITY_TOKENS, { reps: [{ __typename: 'Connector', id: push.id }] }))).toBe('UNAUTHENTICATED');
    expect(await snapshot()).toBe(before);
    const listed = (await svc.ok(CONNECTOR_TOKENS, { id: push.id }, await editor('tenant-a'))).connector.intakeTokens;
    expect(listed.map((t: any) => t.id)).toContain(intakeToken.id);
  });
});

describe('tenant isolation and connector visibility', () => {
  let aToken: Created;
  let bToken: Created;

  beforeAll(async () => {
    aToken = await createToken(push.id, 'A token');
    bToken = await createToken(pushB.id, 'B token', b);
  });

  test("another tenant's connector and token are NOT_FOUND to the mutations, and nothing changes", async () => {
    const before = await snapshot();
    expect(codeAndNoData(await svc.gql(CREATE_TOKEN, { connectorId: push.id, name: 'From B' }, b))).toBe('NOT_FOUND');
    expect(codeAndNoData(await svc.gql(REVOKE_TOKEN, { id: aToken.intakeToken.id }, b))).toBe('NOT_FOUND');
    expect(codeAndNoData(await svc.gql(CREATE_TOKEN, { connectorId: pushB.id, name: 'From A' }, a))).toBe('NOT_FOUND');
    expect(codeAndNoData(await svc.gql(REVOKE_TOKEN, { id: bToken.intakeToken.id }, a))).toBe('NOT_FOUND');
    expect(await snapshot()).toBe(before);
    expect(await svc.services.intakeTokens.authenticate(aToken.token)).toMatchObject({ tenantId: 'tenant-a', connectorId: push.id });
    expect(await svc.services.intakeTokens.authenticate(bToken.token)).toMatchObject({ tenantId: 'tenant-b', connectorId: pushB.id });
  });

  test("the field resolver and _entities give nothing of another tenant's connector", async () => {
    expect((await svc.ok(CONNECTOR_TOKENS, { id: push.id }, b)).connector).toBeNull();
    const reps = [{ __typename: 'Connector', id: push.id }, { __typename: 'Connector', id: pushB.id }];
    const asB = await svc.gql(ENTITY_TOKENS, { reps }, b);
    expect(asB.body.errors).toBeUndefined();
    expect(asB.body.data._entities[0]).toBeNull();
    expect(asB.body.data._entities[1].intakeTokens.map((t: any) => t.id)).toEqual([bToken.intakeToken.id]);
    const asA = await svc.gql(ENTITY_TOKENS, { reps }, a);
    expect(asA.body.data._entities[1]).toBeNull();
    expect(asA.body.data._entities[0].intakeTokens.map((t: any) => t.id)).toContain(aToken.intakeToken.id);
    expect(JSON.stringify(asA.body)).not.toContain(bToken.intakeToken.id);
    expect(JSON.stringify(asB.body)).not.toContain(aToken.intakeToken.id);
  });

  test("the tokens of a connector the caller cannot see are not listed, even when asked for by id", async () => {
    const c = await createConnector(pushInput('Private feed', { scope: 'USER', userId: 'someone-else' }));
    const hidden = await createToken(c.id, 'Hidden');
    const outsider = await viewer('tenant-a', { subject: 'outsider' });
    expect((await svc.ok(CONNECTOR_TOKENS, { id: c.id }, outsider)).connector).toBeNull();
    const res = await svc.gql(ENTITY_TOKENS, { reps: [{ __typename: 'Connector', id: c.id }] }, outsider);
    expect(res.body.data._entities).toEqual([null]);
    expect(await svc.services.intakeTokens.tokensOf({ tenantId: 'tenant-a', subject: 'outsider', email: null, roles: ['viewer'], groups: [], appId: null, actorType: 'USER' }, [c.id])).toEqual(new Map([[c.id, []]]));
    // Its owner and the admins see them.
    const owner = await viewer('tenant-a', { subject: 'someone-else' });
    expect((await svc.ok(CONNECTOR_TOKENS, { id: c.id }, owner)).connector.intakeTokens.map((t: any) => t.id)).toEqual([hidden.intakeToken.id]);
  });
});

describe('statements per request', () => {
  const T = 'itk-statements';
  let t: string;
  const pushIds: string[] = [];
  const tokensOf = new Map<string, string[]>();

  beforeAll(async () => {
    t = await admin(T);
    for (let i = 0; i < 12; i++) {
      const c = await createConnector(pushInput(`Feed ${i}`), t);
      pushIds.push(c.id);
      const ids: string[] = [];
      for (let j = 0; j < 3; j++) ids.unshift((await createToken(c.id, `F${i}-${j}`, t)).intakeToken.id);
      tokensOf.set(c.id, ids);
    }
    for (let i = 0; i < 3; i++) await createConnector(restInput(`Polled ${i}`), t);
  });

  test('connectors(first: 20) { nodes { intakeTokens } } = 2 statements', async () => {
    const res = await svc.gql(`{ connectors(first: 20) { nodes { id intakeTokens { id name prefix connectorId } } } }`, {}, t);
    expect(res.body.errors).toBeUndefined();
    const nodes = res.body.data.connectors.nodes;
    expect(nodes).toHaveLength(15);
    for (const n of nodes) {
      expect(n.intakeTokens.map((x: any) => x.id)).toEqual(tokensOf.get(n.id) ?? []);
      for (const x of n.intakeTokens) expect(x.connectorId).toBe(n.id);
    }
    expect(res.statements).toBe(2);
    const without = await svc.gql(`{ connectors(first: 20) { nodes { id } } }`, {}, t);
    expect(without.statements).toBe(1);
  });

  test('_entities with 12 Connector references and their tokens = 2 statements', async () => {
    const res = await svc.gql(ENTITY_TOKENS, { reps: pushIds.map((id) => ({ __typename: 'Connector', id })) }, t);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data._entities.map((e: any) => e.id)).toEqual(pushIds);
    expect(res.body.data._entities.map((e: any) => e.intakeTokens.length)).toEqual(pushIds.map(() => 3));
    expect(res.statements).toBe(2);
    const plain = await svc.gql(CONNECTOR_ENTITIES, { reps: pushIds.map((id) => ({ __typename: 'Connector', id })) }, t);
    expect(plain.statements).toBe(1);
  });
});

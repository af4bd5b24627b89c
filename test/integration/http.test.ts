import { startTestService, type TestService } from '../helpers/server.js';
import { admin } from '../helpers/tokens.js';

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService('http');
});
afterAll(() => svc?.close());

test('/healthz and /readyz', async () => {
  expect(await (await fetch(`${svc.url}/healthz`)).json()).toEqual({ status: 'ok' });
  const ready = await fetch(`${svc.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ status: 'ready' });
});

test('GET /graphql in a browser serves GraphiQL whose assets all come from this server', async () => {
  const page = await fetch(`${svc.url}/graphql`, { headers: { accept: 'text/html' } });
  expect(page.status).toBe(200);
  const html = await page.text();
  const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  expect(sources.length).toBe(5);
  for (const source of sources) {
    expect(source.startsWith('/graphiql/')).toBe(true);
    const asset = await fetch(`${svc.url}${source}`);
    expect(asset.status).toBe(200);
    // The packages' browser builds, and the page's own start script.
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(source === '/graphiql/init.js' ? 100 : 1000);
  }
  expect(html).not.toMatch(/https?:\/\/(?!specs)/);
});

test('every response carries a request id; a given one is echoed', async () => {
  const res = await fetch(`${svc.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-123', authorization: `Bearer ${await admin('h')}` },
    body: JSON.stringify({ query: '{ connectors { totalCount } }' }),
  });
  expect(res.headers.get('x-request-id')).toBe('req-123');
});

test('an unexpected error is masked with a request id and logged, on the interpreted and the compiled execution path', async () => {
  // Break the table under the service to provoke an unexpected database error.
  await svc.dataSource.query('ALTER TABLE applications RENAME TO applications_moved');
  try {
    // The first run of a document is interpreted (graphql-js) while graphql-jit loads; later ones run compiled.
    for (const requestId of ['req-boom-1', 'req-boom-2', 'req-boom-3']) {
      const res = await fetch(`${svc.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId, authorization: `Bearer ${await admin('h')}` },
        body: JSON.stringify({ query: '{ applications { totalCount } }' }),
      });
      const body = (await res.json()) as any;
      expect(body.errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId });
      expect(body.errors[0].message).toBe(`Internal server error (request ${requestId})`);
      expect(svc.logs.text()).toContain(`"requestId":"${requestId}"`);
    }
  } finally {
    await svc.dataSource.query('ALTER TABLE applications_moved RENAME TO applications');
  }
});

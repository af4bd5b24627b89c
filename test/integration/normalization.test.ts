import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { viewer } from '../helpers/tokens.js';

const PREVIEW = `query($format: LogFormat!, $lines: [String!]!) { previewNormalization(format: $format, lines: $lines) { ok record error } }`;
let svc: TestService;

beforeAll(async () => {
  svc = await startTestService('normalization');
});
afterAll(() => svc?.close());

test('CEF and LEEF lines preview as event records; a malformed line is an error for that line only', async () => {
  const t = await viewer('t1');
  const cef = (await svc.ok(PREVIEW, {
    format: 'CEF',
    lines: [
      '<134>Nov 22 03:20:00 fw01 CEF:0|Acme|FW|1.0|100|Port scan|7|src=192.0.2.1 dst=198.51.100.2 spt=5353 dpt=22 suser=alice cs1Label=policy cs1=Block all',
      'CEF:0|Acme|FW|1.0|100',
    ],
  }, t)).previewNormalization;
  expect(cef[0]).toMatchObject({ ok: true, error: null, record: { kind: 'event', format: 'CEF', vendor: 'Acme', name: 'Port scan', severity: 7, src: '192.0.2.1', dstPort: 22, user: 'alice', extensions: { cs1Label: 'policy', cs1: 'Block all' } } });
  expect(cef[1]).toMatchObject({ ok: false, record: null });
  expect(cef[1].error).toMatch(/header/i);
  const leef = (await svc.ok(PREVIEW, { format: 'LEEF', lines: ['LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^usrName=bob'] }, t)).previewNormalization;
  expect(leef[0]).toMatchObject({ ok: true, record: { format: 'LEEF', src: '10.0.1.8', dst: '10.0.0.5', severity: 5, user: 'bob' } });
});

test('more than 1000 lines, or no token, is refused', async () => {
  expect(errorCode(await svc.gql(PREVIEW, { format: 'CEF', lines: Array(1001).fill('x') }, await viewer('t1')))).toBe('BAD_USER_INPUT');
  expect(errorCode(await svc.gql(PREVIEW, { format: 'CEF', lines: ['x'] }))).toBe('UNAUTHENTICATED');
});

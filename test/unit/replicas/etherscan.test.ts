/**
 * The Etherscan replica answers like the documented API V2: the apikey query parameter, HTTP 200
 * with {status, message, result}, "No transactions found" when empty, page/offset paging with the
 * 10,000 window, the V1 deprecation error, the rate-limit body; and the manifest parses.
 */
import { replica, WATCHED } from '../../../replicas/etherscan.js';
import { manifestOf, replicaUnderTest } from '../../helpers/replicas.js';

interface Envelope {
  status: string;
  message: string;
  result: unknown;
}

describe('etherscan replica', () => {
  const s = replicaUnderTest(replica);
  const get = async (query: Record<string, string | number>, path = '/v2/api') => {
    const res = await fetch(`${s.url}${path}?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`);
    expect(res.status).toBe(200);
    return (await res.json()) as Envelope;
  };
  const key = () => s.connection().credentials.apiKey!;

  it('refuses a wrong key with status 0 "Invalid API Key", a missing chainid, and V1', async () => {
    expect(await get({ chainid: 1, module: 'account', action: 'txlist', address: WATCHED[0]!, apikey: s.wrongConnection().credentials.apiKey! })).toEqual({ status: '0', message: 'NOTOK', result: 'Invalid API Key' });
    expect((await get({ module: 'account', action: 'txlist', address: WATCHED[0]!, apikey: key() })).result).toMatch(/Missing or unsupported chainid/);
    expect((await get({ module: 'account', action: 'txlist', address: WATCHED[0]!, apikey: key() }, '/api')).result).toMatch(/deprecated V1 endpoint/);
  });

  it('pages txlist and tokentx by page and offset, from a start block, and says when nothing is left', async () => {
    const items = s.items() as Array<{ blockNumber: string; hash: string; from: string; to: string; tokenSymbol?: string }>;
    expect(items).toHaveLength(25);
    for (const action of ['txlist', 'tokentx']) {
      for (const address of WATCHED) {
        const want = items.filter((i) => ('tokenSymbol' in i) === (action === 'tokentx') && (i.from === address || i.to === address)).map((i) => i.hash);
        const got: string[] = [];
        for (let page = 1; ; page++) {
          const body = await get({ chainid: 1, module: 'account', action, address, startblock: 0, endblock: 'latest', page, offset: 3, sort: 'asc', apikey: key() });
          if (body.status === '0') {
            expect(body).toEqual({ status: '0', message: 'No transactions found', result: [] });
            break;
          }
          expect(body.message).toBe('OK');
          got.push(...(body.result as Array<{ hash: string }>).map((r) => r.hash));
        }
        expect(got).toEqual(want);
        expect(want.length).toBeGreaterThan(0);
      }
    }
    const later = Number(items[20]!.blockNumber);
    const body = await get({ chainid: 1, module: 'account', action: 'txlist', address: WATCHED[0]!, startblock: later, apikey: key() });
    for (const r of body.result as Array<{ blockNumber: string }>) expect(Number(r.blockNumber)).toBeGreaterThanOrEqual(later);
    expect((await get({ chainid: 1, module: 'account', action: 'txlist', address: WATCHED[0]!, page: 11, offset: 1000, apikey: key() })).result).toMatch(/Result window is too large/);
    expect((await get({ chainid: 1, module: 'account', action: 'txlist', address: '0x123', apikey: key() })).result).toBe('Error! Invalid address format');
  });

  it('answers injected rate limits with Etherscan\'s NOTOK body', async () => {
    s.server.rateLimitNext(1);
    const res = await fetch(`${s.url}/v2/api?chainid=1&module=account&action=txlist&address=${WATCHED[0]}&apikey=${key()}`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({ status: '0', message: 'NOTOK', result: 'Max calls per sec rate limit reached (3/sec)' });
  });

  it('appends newer blocks and maps rows to transactions', () => {
    const before = s.items() as Array<{ blockNumber: string }>;
    s.addItems(4);
    const after = s.items() as Array<{ blockNumber: string; value: string }>;
    expect(after).toHaveLength(before.length + 4);
    expect(Number(after[after.length - 1]!.blockNumber)).toBeGreaterThan(Number(before[before.length - 1]!.blockNumber));
    const token = after.find((i) => 'tokenSymbol' in i)!;
    expect(replica.expectedRecord(token)).toMatchObject({ kind: 'transaction', chain: 'ethereum', token: (token as unknown as { contractAddress: string }).contractAddress });
    expect(replica.expectedRecord(after[0])).toMatchObject({ kind: 'transaction', value: after[0]!.value, blockNumber: Number(after[0]!.blockNumber) });
  });

  it('has a manifest the engine accepts, with two streams and the apidashboard remediation', () => {
    const manifest = manifestOf('etherscan');
    expect(manifest.streams.map((st) => st.name)).toEqual(replica.eventTypes);
    expect(manifest.auth.API_KEY!.remediation).toMatch(replica.authRemediation);
  });
});

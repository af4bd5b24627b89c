/**
 * The `ethereum` provider against a real local Ethereum node (ganache), with real transactions and
 * a real ERC-20 contract sent through viem. The adapter reaches the node through a recording
 * JSON-RPC proxy (test/helpers/ethereum.ts) that can also act like a hosted node (bearer token,
 * range cap, rate limits). The service's GraphQL API runs the stepwise test, the ingestion, the
 * restart and the records.
 */
import { jest } from '@jest/globals';
import { parseEther, toEventSelector, getAddress, type Address, type Hash } from 'viem';
import { createHttpClient, type HttpClient } from '../../../src/adapters/http/client.js';
import { getAdapter, listAdapters } from '../../../src/adapters/registry.js';
import { ethereumAdapter, formatUnits, migrateEthereumConfig, parseConfig, TRANSFER_TOPIC, type EthereumCursor, type TransferRecord } from '../../../src/adapters/ethereum/index.js';
import { upstreamHost } from '../../../src/jobs/host-gate.js';
import type { AdapterContext, CheckResult, ConnectionInput, ReadCursor, RecordBatch } from '../../../src/adapters/spi.js';
import { dedupKeyOf } from '../../../src/modules/records/record-identity.js';
import { startEthNode, startRpcProxy, type EthNode, type RpcProxy } from '../../helpers/ethereum.js';
import { startTestService, type TestService } from '../../helpers/server.js';
import { editor } from '../../helpers/tokens.js';
import { waitFor } from '../../helpers/wait.js';

const CHAIN_ID = 31337;
const TOKEN = 'S3NT1NEL-eth-node-token-7f3a';

let node: EthNode;
let proxy: RpcProxy;
let http: HttpClient;
let X: Address, A: Address, B: Address, C: Address, D: Address;
let T6: Address, T18: Address, NFT: Address;
/** Every transfer the scenario made that touches A or B: `${hash}|${eventType}|${logIndex}`. */
const expected = new Set<string>();
const produced: unknown[] = [];

const keyOf = (r: TransferRecord) => `${r.hash}|${r.eventType}|${r.logIndex ?? 'native'}`;
const ctx = (extra: Partial<AdapterContext> = {}): AdapterContext => ({ http, ...extra });

function input(config: Record<string, unknown> = {}, extra: Partial<ConnectionInput> = {}): ConnectionInput {
  return {
    config: {
      rpcUrl: proxy.url,
      chainId: CHAIN_ID,
      addresses: [A, B.toLowerCase()],
      tokenDecimals: [{ address: T6, decimals: 6, symbol: 'SIX' }],
      confirmations: 2,
      maxBlockRange: 4,
      startBlock: 0,
      ...config,
    },
    authType: 'NONE',
    credentials: {},
    ...extra,
  };
}

async function readAll(i: ConnectionInput, cursor: ReadCursor = null): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const b of ethereumAdapter.read(ctx(), i, cursor)) batches.push(b);
  produced.push(batches);
  return batches;
}
const transfers = (batches: RecordBatch[]) => batches.flatMap((b) => b.records).filter((r) => r.kind === 'transaction') as TransferRecord[];

async function nativeIn(hash: Hash) {
  expected.add(`${hash}|native_transfers|native`);
  return hash;
}
async function tokenLogged(hash: Hash) {
  const r = await node.receipt(hash);
  expected.add(`${hash}|erc20_transfers|${r.logs[0]!.logIndex}`);
  return hash;
}

beforeAll(async () => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) jest.spyOn(console, level).mockImplementation(() => undefined);
  node = await startEthNode(CHAIN_ID);
  proxy = await startRpcProxy(node.url);
  http = createHttpClient({ egressAllow: ['127.0.0.1/32'], retryBaseDelayMs: 10, connectTimeoutMs: 1000 });
  [X, A, B, C, D] = node.accounts as [Address, Address, Address, Address, Address];
  T6 = await node.deployToken(6);
  T18 = await node.deployToken(18);
  NFT = await node.deployNft();
  await node.tokenTransfer(T6, X, C, 1000n);
  // Transfers of the watched addresses A and B, and some that must not be read.
  await nativeIn(await node.sendEth(X, A, parseEther('1.5'))); // in
  await nativeIn(await node.sendEth(A, C, parseEther('0.25'))); // out
  await nativeIn(await node.sendEth(A, B, 1n)); // self (both watched)
  await node.sendEth(C, D, parseEther('0.1')); // unrelated
  await node.sendEth(X, A, 0n); // no value: not a transfer
  await tokenLogged(await node.tokenTransfer(T6, X, A, 1_234_567n)); // in, 1.234567 SIX
  await tokenLogged(await node.tokenTransfer(T6, A, C, 500_001n)); // out
  await node.tokenTransfer(T6, C, D, 10n); // unrelated
  await tokenLogged(await node.tokenTransfer(T18, X, A, 123456789012345678901234567n)); // in, decimals unknown
  await tokenLogged(await node.tokenTransfer(T18, A, B, 1n)); // self
  await node.nftMint(NFT, A, 7n); // ERC-721-shaped Transfer (4 topics): not ERC-20
  await nativeIn(await node.sendEth(A, T6, parseEther('1'), 100_000n)); // reverted: failed
  await node.mine(2);
}, 60_000);

afterAll(async () => {
  http?.close();
  await proxy?.close();
  await node?.close();
  jest.restoreAllMocks();
});

beforeEach(() => {
  proxy.clear();
  proxy.bearer = null;
  proxy.maxLogRange = null;
  proxy.breakMethod = null;
});

describe('spec and configuration', () => {
  test('registered as the BLOCKCHAIN provider ethereum, beside etherscan', () => {
    expect(getAdapter('ethereum')).toBe(ethereumAdapter);
    expect(listAdapters('BLOCKCHAIN').map((a) => a.spec.id).sort()).toEqual(['ethereum', 'etherscan']);
    expect(ethereumAdapter.spec).toMatchObject({
      type: 'BLOCKCHAIN',
      authTypes: ['NONE', 'BEARER', 'API_KEY', 'BASIC'],
      eventTypes: ['native_transfers', 'erc20_transfers', 'reorgs'],
      recordKinds: ['transaction', 'event'],
      documentationUrl: 'https://ethereum.org/en/developers/docs/apis/json-rpc/',
    });
    expect(ethereumAdapter.spec.notes).toMatch(/Reorganisations/);
  });

  test('the Transfer topic constant is keccak256 of the event signature', () => {
    expect(TRANSFER_TOPIC).toBe(toEventSelector('Transfer(address,address,uint256)'));
  });

  test('addresses: lower case or a valid EIP-55 checksum; a mistyped checksum is refused', () => {
    const checksummed = getAddress(A);
    expect(parseConfig({ rpcUrl: 'https://node.example', addresses: [checksummed] }).addresses).toEqual([A.toLowerCase()]);
    expect(parseConfig({ rpcUrl: 'https://node.example', addresses: [A.toUpperCase().replace('0X', '0x')] }).addresses).toEqual([A.toLowerCase()]);
    // Flip the case of one letter of a checksummed address.
    const i = [...checksummed].findIndex((ch, k) => k > 1 && /[a-fA-F]/.test(ch));
    const typo = checksummed.slice(0, i) + (checksummed[i] === checksummed[i]!.toUpperCase() ? checksummed[i]!.toLowerCase() : checksummed[i]!.toUpperCase()) + checksummed.slice(i + 1);
    expect(() => parseConfig({ rpcUrl: 'https://node.example', addresses: [typo] })).toThrow(/addresses\.0 has an invalid EIP-55 checksum/);
    expect(() => parseConfig({ rpcUrl: 'https://node.example', addresses: ['0x123'] })).toThrow(/addresses/);
    expect(() => parseConfig({ rpcUrl: 'https://node.example', addresses: Array.from({ length: 51 }, (_, k) => `0x${String(k).padStart(40, '0')}`) })).toThrow(/addresses/);
    expect(parseConfig({ rpcUrl: 'https://node.example', addresses: [A] })).toMatchObject({ chainId: 1, confirmations: 12, maxBlockRange: 1000, maxReorgDepth: 64 });
  });

  test('rpcUrl (the API contract\'s key): a query without secret-looking names is allowed; userinfo, a secret-looking parameter, a fragment and the old baseUrl are refused', () => {
    const ok = { rpcUrl: 'https://mainnet.infura.io/v3/0123456789abcdef?network=mainnet', addresses: [A] };
    expect(parseConfig(ok).rpcUrl).toBe(ok.rpcUrl);
    expect(ethereumAdapter.spec.configProblems!(ok)).toEqual([]);
    expect(() => parseConfig({ rpcUrl: 'https://node.example/?apiKey=abc123', addresses: [A] })).toThrow(/rpcUrl must not carry the secret-looking query parameter "apiKey"/);
    expect(() => parseConfig({ rpcUrl: 'https://user:pw@node.example/', addresses: [A] })).toThrow(/rpcUrl must not contain a user name or password/);
    expect(() => parseConfig({ rpcUrl: 'https://node.example/#x', addresses: [A] })).toThrow(/rpcUrl must not contain a fragment/);
    expect(ethereumAdapter.spec.configProblems!({ rpcUrl: 'https://node.example/#x', addresses: [A] })).toEqual([{ path: 'rpcUrl', message: 'must not contain a fragment' }]);
    expect(() => parseConfig({ baseUrl: 'https://node.example', addresses: [A] })).toThrow(/unknown property "baseUrl".*missing "rpcUrl"|missing "rpcUrl".*unknown property "baseUrl"/);
    expect(upstreamHost('ethereum', { addresses: [A], rpcUrl: 'http://node.example:8545' })).toBe('node.example:8545');
  });

  test('config version 2: a stored version 1 config has its baseUrl renamed rpcUrl', () => {
    expect(ethereumAdapter.spec.configVersion).toBe(2);
    const v1 = { baseUrl: 'https://node.example/rpc', addresses: [A], confirmations: 3 };
    const v2 = migrateEthereumConfig(v1, 1);
    expect(v2).toEqual({ rpcUrl: 'https://node.example/rpc', addresses: [A], confirmations: 3 });
    expect(v1).toHaveProperty('baseUrl'); // a new object; the stored one is not changed in place
    expect(parseConfig(v2).rpcUrl).toBe('https://node.example/rpc');
    // Both keys (hand-edited): the new one wins. Already version 2: nothing changes.
    expect(migrateEthereumConfig({ baseUrl: 'https://old.example', rpcUrl: 'https://new.example', addresses: [A] }, 1)).toEqual({ rpcUrl: 'https://new.example', addresses: [A] });
    expect(migrateEthereumConfig({ rpcUrl: 'https://new.example', addresses: [A] }, 2)).toEqual({ rpcUrl: 'https://new.example', addresses: [A] });
  });

  test('formatUnits is exact (no floating point)', () => {
    expect(formatUnits(123456789012345678901234567n, 18)).toBe('123456789.012345678901234567');
    expect(formatUnits(1n, 18)).toBe('0.000000000000000001');
    expect(formatUnits(10n ** 18n, 18)).toBe('1');
    expect(formatUnits(1_234_567n, 6)).toBe('1.234567');
    expect(formatUnits(500_000n, 6)).toBe('0.5');
    expect(formatUnits(42n, 0)).toBe('42');
    expect(formatUnits(2n ** 256n - 1n, 77)).toBe('1.15792089237316195423570985008687907853269984665640564039457584007913129639935');
  });
});

describe('read', () => {
  test('a full read across many block ranges: exactly the transfers of the watched addresses', async () => {
    const head = await node.head();
    const batches = await readAll(input());
    const records = transfers(batches);
    expect(new Set(records.map(keyOf))).toEqual(expected);
    expect(records).toHaveLength(expected.size);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil((head - 2 + 1) / 4));
    // Confirmed blocks only; the cursor keeps the last block's number and hash.
    const last = batches.at(-1)!.cursor as unknown as EthereumCursor;
    const block = await node.pub.getBlock({ blockNumber: BigInt(head - 2) });
    expect(last).toMatchObject({ chainId: CHAIN_ID, block: head - 2, hash: block.hash });
    expect(last.recentHashes.at(-1)).toBe(block.hash);
    // eth_getLogs ranges stay within maxBlockRange, topic-filtered, sent as JSON-RPC batches.
    const logCalls = proxy.requests.flatMap((r) => r.calls).filter((c) => c.method === 'eth_getLogs');
    expect(logCalls.length).toBe(2 * batches.length);
    for (const c of logCalls) {
      const f = c.params[0] as { fromBlock: string; toBlock: string; topics: unknown[] };
      expect(Number(f.toBlock) - Number(f.fromBlock) + 1).toBeLessThanOrEqual(4);
      expect(f.topics[0]).toBe(TRANSFER_TOPIC);
    }
    expect(proxy.requests.some((r) => r.batch && r.calls.length > 1)).toBe(true);
    expect(proxy.requests.every((r) => r.calls.length <= 20)).toBe(true);
  });

  test('the records: direction, value in wei, exact token units, block, token; failed native transfers flagged', async () => {
    const records = transfers(await readAll(input()));
    const find = (pred: (r: TransferRecord) => boolean) => {
      const hits = records.filter(pred);
      expect(hits).toHaveLength(1);
      return hits[0]!;
    };
    const lower = (a: string) => a.toLowerCase();
    const ethIn = find((r) => r.eventType === 'native_transfers' && r.from === lower(X) && r.value === parseEther('1.5').toString());
    const receipt = await node.receipt(ethIn.hash as Hash);
    const block = await node.pub.getBlock({ blockNumber: receipt.blockNumber });
    expect(ethIn).toEqual({
      kind: 'transaction', chain: 'eip155:31337', chainId: CHAIN_ID, eventType: 'native_transfers', hash: ethIn.hash,
      blockNumber: Number(receipt.blockNumber), blockHash: receipt.blockHash, timestamp: new Date(Number(block.timestamp) * 1000).toISOString(),
      transactionIndex: 0, logIndex: null, from: lower(X), to: lower(A), value: '1500000000000000000', token: null, tokenSymbol: 'ETH',
      decimals: 18, amount: '1.5', direction: 'in', watchedAddress: lower(A), failed: false,
    });
    expect(find((r) => r.eventType === 'native_transfers' && r.to === lower(C))).toMatchObject({ direction: 'out', amount: '0.25', watchedAddress: lower(A) });
    expect(find((r) => r.eventType === 'native_transfers' && r.value === '1')).toMatchObject({ direction: 'self', amount: '0.000000000000000001' });
    expect(find((r) => r.eventType === 'native_transfers' && r.to === lower(T6))).toMatchObject({ failed: true, direction: 'out', amount: '1' });
    expect(find((r) => r.token === lower(T6) && r.to === lower(A))).toMatchObject({ value: '1234567', decimals: 6, amount: '1.234567', tokenSymbol: 'SIX', direction: 'in' });
    expect(find((r) => r.token === lower(T6) && r.from === lower(A))).toMatchObject({ value: '500001', amount: '0.500001', direction: 'out' });
    // 18-decimal token not in tokenDecimals: the raw value only, beyond 2^53 and exact.
    expect(find((r) => r.token === lower(T18) && r.to === lower(A))).toMatchObject({ value: '123456789012345678901234567', decimals: null, amount: null });
    const known = transfers(await readAll(input({ tokenDecimals: [{ address: T18, decimals: 18 }] })));
    expect(known.find((r) => r.token === lower(T18) && r.to === lower(A))).toMatchObject({ amount: '123456789.012345678901234567', decimals: 18 });
    expect(known.find((r) => r.token === lower(T18) && r.to === lower(B))).toMatchObject({ amount: '0.000000000000000001', direction: 'self' });
    expect(records.some((r) => r.token === lower(NFT))).toBe(false);
  });

  test('tokenAllowList filters by contract; deselected event types are not read', async () => {
    const onlySix = transfers(await readAll(input({ tokenAllowList: [T6] }, { eventTypes: ['erc20_transfers'] })));
    expect(onlySix.length).toBe(2);
    expect(new Set(onlySix.map((r) => r.token))).toEqual(new Set([T6.toLowerCase()]));
    const logCalls = proxy.requests.flatMap((r) => r.calls).filter((c) => c.method === 'eth_getLogs');
    expect((logCalls[0]!.params[0] as { address: string[] }).address).toEqual([T6.toLowerCase()]);
    // No native transfers asked for: no block was fetched with full transactions.
    expect(proxy.requests.flatMap((r) => r.calls).some((c) => c.method === 'eth_getBlockByNumber' && c.params[1] === true)).toBe(false);
    const nativeOnly = transfers(await readAll(input({}, { eventTypes: ['native_transfers'] })));
    expect(new Set(nativeOnly.map((r) => r.eventType))).toEqual(new Set(['native_transfers']));
  });

  test('confirmations: a transfer is read only once it has that many blocks on top', async () => {
    const first = await readAll(input());
    let cursor = first.at(-1)!.cursor;
    const hash = await node.sendEth(X, A, parseEther('0.007'));
    const mined = Number((await node.receipt(hash)).blockNumber);
    const early = await readAll(input(), cursor);
    expect(transfers(early)).toEqual([]);
    cursor = early.at(-1)?.cursor ?? cursor;
    await node.mine(1);
    expect(transfers(await readAll(input(), cursor))).toEqual([]); // 1 confirmation of 2
    await node.mine(1);
    const late = await readAll(input(), cursor);
    expect(transfers(late).map((r) => [r.hash, r.blockNumber, r.amount])).toEqual([[hash, mined, '0.007']]);
    expected.add(`${hash}|native_transfers|native`);
  });

  test('a node answering that a range is too large: the range is halved and every transfer is still read once', async () => {
    proxy.maxLogRange = 2;
    const records = transfers(await readAll(input({ maxBlockRange: 8 })));
    expect(new Set(records.map(keyOf))).toEqual(expected);
    expect(records).toHaveLength(expected.size);
    const ranges = proxy.requests.flatMap((r) => r.calls).filter((c) => c.method === 'eth_getLogs').map((c) => {
      const f = c.params[0] as { fromBlock: string; toBlock: string };
      return Number(f.toBlock) - Number(f.fromBlock) + 1;
    });
    expect(ranges[0]).toBe(8);
    expect(ranges.slice(-2).every((n) => n <= 2)).toBe(true);
  });

  test('a reorganisation: walked back to the common ancestor, new canonical transfers read, nothing duplicated', async () => {
    const i = input({ maxReorgDepth: 16 });
    const before = await readAll(i);
    const snapshot = await node.snapshot();
    const forkBase = await node.head();
    const orphan = await node.sendEth(X, A, parseEther('2'));
    const orphanToken = await node.tokenTransfer(T6, X, B, 42n);
    await node.mine(3);
    const onOldChain = await readAll(i, before.at(-1)!.cursor);
    expect(transfers(onOldChain).map((r) => r.hash).sort()).toEqual([orphan, orphanToken].sort());
    const oldCursor = onOldChain.at(-1)!.cursor as unknown as EthereumCursor;

    await node.revert(snapshot);
    expect(await node.head()).toBe(forkBase);
    const canonical = await node.sendEth(X, B, parseEther('3'));
    const canonicalToken = await node.tokenTransfer(T6, X, A, 7n);
    await node.mine(4);
    const after = await readAll(i, oldCursor as unknown as ReadCursor);
    const [reorg, ...rest] = after;
    expect(reorg!.records).toHaveLength(1);
    const event = reorg!.records[0] as Record<string, any>;
    const ancestor = await node.pub.getBlock({ blockNumber: BigInt(forkBase) });
    expect(event).toMatchObject({ kind: 'event', eventType: 'reorgs', chainId: CHAIN_ID, beyondMaxDepth: false, commonAncestor: { number: forkBase, hash: ancestor.hash } });
    expect(event.orphanedBlocks.map((b: { number: number }) => b.number)).toEqual(Array.from({ length: oldCursor.block - forkBase }, (_, k) => forkBase + 1 + k));
    expect(event.orphanedBlocks.at(-1).hash).toBe(oldCursor.hash);
    expect(reorg!.cursor).toMatchObject({ block: forkBase, hash: ancestor.hash });
    // The new chain's transfers, and not the orphaned ones again.
    expect(transfers(rest).map((r) => r.hash).sort()).toEqual([canonical, canonicalToken].sort());
    const newHashes = new Set(transfers(rest).map((r) => r.blockHash));
    for (const b of event.orphanedBlocks) expect(newHashes.has(b.hash)).toBe(false);
    // Reading again from the new cursor: nothing; the same range read twice gives the same dedup keys.
    expect(transfers(await readAll(i, after.at(-1)!.cursor))).toEqual([]);
    const again = transfers(await readAll(i, reorg!.cursor));
    expect(again.map((r) => dedupKeyOf(r, rest[0]!.dedupKey))).toEqual(transfers(rest).map((r) => dedupKeyOf(r, rest[0]!.dedupKey)));
    expected.add(`${canonical}|native_transfers|native`);
    expected.add(`${canonicalToken}|erc20_transfers|${(await node.receipt(canonicalToken)).logs[0]!.logIndex}`);
  });

  test('a reorganisation deeper than the hashes kept re-reads from the oldest kept block and says so', async () => {
    const i = input({ maxReorgDepth: 1 });
    const base = await readAll(i);
    const snapshot = await node.snapshot();
    await node.mine(5);
    const moved = await readAll(i, base.at(-1)!.cursor);
    const cursor = moved.at(-1)!.cursor as unknown as EthereumCursor;
    expect(cursor.recentHashes).toHaveLength(2);
    await node.revert(snapshot);
    await node.sendEth(C, D, 1n); // a different block at the same height
    await node.mine(5);
    const [reorg] = await readAll(i, cursor as unknown as ReadCursor);
    expect(reorg!.records[0]).toMatchObject({ eventType: 'reorgs', beyondMaxDepth: true, commonAncestor: null });
    expect(reorg!.cursor).toMatchObject({ block: cursor.block - 2, hash: null });
  });
});

describe('errors, mapped with remediations', () => {
  const step = (r: CheckResult, name: string) => r.steps.find((s) => s.name === name)!;

  test('check: four steps pass with sampled transfers', async () => {
    const result = await ethereumAdapter.check(ctx(), input({ confirmations: 0, maxBlockRange: 100 }));
    produced.push(result);
    expect(result.steps.map((s) => [s.name, s.passed])).toEqual([['CONNECT', true], ['AUTHENTICATE', true], ['SAMPLE_QUERY', true], ['VALIDATE_FORMAT', true]]);
    expect(step(result, 'SAMPLE_QUERY').message).toMatch(/Chain id 31337 as configured/);
    expect(result.sample.length).toBeGreaterThan(0);
    expect(result.sample.length).toBeLessThanOrEqual(5);
  });

  test('method not found: the node itself says so; CONFIG_INVALID naming the method', async () => {
    proxy.breakMethod = 'eth_getLogs';
    await expect(readAll(input())).rejects.toMatchObject({ code: 'CONFIG_INVALID', kind: 'method_not_found' });
    const result = await ethereumAdapter.check(ctx(), input({ confirmations: 0 }));
    expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'CONFIG_INVALID' });
    expect(step(result, 'SAMPLE_QUERY').remediation).toMatch(/does not serve eth_getLogs/);
  });

  test('rate limits: HTTP 429 with a long Retry-After, and JSON-RPC -32005, are RATE_LIMITED', async () => {
    proxy.rateLimitNext(1, { http429RetryAfterSec: 3600 });
    await expect(readAll(input())).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 3_600_000 });
    proxy.rateLimitNext(1, 'jsonrpc');
    const result = await ethereumAdapter.check(ctx(), input());
    expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'RATE_LIMITED', retryable: true });
    expect(step(result, 'SAMPLE_QUERY').remediation).toMatch(/rate limiting .*-32005/);
    // A short Retry-After is waited out by the HTTP client.
    proxy.rateLimitNext(1, { http429RetryAfterSec: 1 });
    expect(transfers(await readAll(input())).length).toBe(expected.size);
  });

  test('a bearer token: sent in the header only; a wrong one fails AUTHENTICATE', async () => {
    proxy.bearer = TOKEN;
    const ok = await ethereumAdapter.check(ctx(), input({}, { authType: 'BEARER', credentials: { token: TOKEN } }));
    expect(ok.success).toBe(true);
    expect(proxy.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    const bad = await ethereumAdapter.check(ctx(), input({}, { authType: 'BEARER', credentials: { token: `${TOKEN}-revoked` } }));
    produced.push(bad);
    expect(step(bad, 'CONNECT').passed).toBe(true);
    expect(step(bad, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED' });
    expect(step(bad, 'AUTHENTICATE').remediation).toMatch(/bearer token/);
    const none = await ethereumAdapter.check(ctx(), input());
    expect(step(none, 'AUTHENTICATE').remediation).toMatch(/requires authentication/);
    await expect(readAll(input({}, { authType: 'BEARER', credentials: { token: `${TOKEN}-revoked` } }))).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });
});

describe('through the service', () => {
  let svc: TestService;
  let ed: string;
  const env = { RUN_WORKERS: 'true', JOB_POLL_MS: '500' };
  const RESULT = 'success message steps { name passed message errorCode retryable remediation } sample';
  const TEST_DRAFT = `mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { ${RESULT} } }`;
  const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`;
  const SYNC = `mutation($id: ID!) { syncConnector(id: $id) { id } }`;
  const TEST = `mutation($id: ID!) { testConnector(id: $id) { ${RESULT} } }`;
  const CONFIG = `query($id: ID!) { connector(id: $id) { schemaVersion version config } }`;
  const STATE = `query($id: ID!) { connector(id: $id) { ingestionRuns(first: 10) { id status recordsRead recordsWritten duplicates error }
    records(first: 200, kind: TRANSACTION) { totalCount nodes { kind chain hash duplicateCount data } } } }`;
  const draft = (config: Record<string, unknown> = {}) => ({ provider: 'ethereum', config: input(config).config, authType: 'NONE' });

  beforeAll(async () => {
    svc = await startTestService('ethereum', env);
    ed = await editor('t1');
  }, 60_000);
  afterAll(async () => svc?.close());

  test('testConnectorConfig: passing steps; a wrong chain id and an unreachable node fail with remediations', async () => {
    const good = (await svc.ok(TEST_DRAFT, { input: draft({ confirmations: 0, maxBlockRange: 100 }) }, ed)).testConnectorConfig;
    expect(good.steps.map((s: { passed: boolean }) => s.passed)).toEqual([true, true, true, true]);
    expect(good.sample.length).toBeGreaterThan(0);

    const wrong = (await svc.ok(TEST_DRAFT, { input: draft({ chainId: 1 }) }, ed)).testConnectorConfig;
    expect(wrong.success).toBe(false);
    expect(wrong.steps.slice(0, 3).map((s: { name: string; passed: boolean }) => [s.name, s.passed])).toEqual([['CONNECT', true], ['AUTHENTICATE', true], ['SAMPLE_QUERY', false]]);
    expect(wrong.steps[2]).toMatchObject({ errorCode: 'CONFIG_INVALID', message: expect.stringContaining('serves chain id 31337, but the connector is configured for chain id 1') });
    expect(wrong.steps[2].remediation).toMatch(/Set chainId to 31337 .* or point rpcUrl at a node of chain 1/);

    const closed = await startRpcProxy(node.url);
    const deadUrl = closed.url;
    await closed.close();
    const dead = (await svc.ok(TEST_DRAFT, { input: { ...draft(), config: { ...draft().config, rpcUrl: deadUrl } } }, ed)).testConnectorConfig;
    expect(dead.steps[0]).toMatchObject({ name: 'CONNECT', passed: false, errorCode: 'UNREACHABLE' });
    expect(dead.steps[0].remediation).toMatch(/could not be reached: check rpcUrl/);
  });

  test('rpcUrl through the API: a path and a plain query reach the node; a secret-looking query parameter and the old baseUrl are refused', async () => {
    const withPath = `${proxy.url}/v3/project-0123?network=devnet`;
    const r = (await svc.ok(TEST_DRAFT, { input: draft({ rpcUrl: withPath, confirmations: 0 }) }, ed)).testConnectorConfig;
    expect(r.success).toBe(true);
    expect(proxy.requests.length).toBeGreaterThan(0);
    expect(proxy.requests.every((q) => q.url === '/v3/project-0123?network=devnet')).toBe(true);

    const secret = await svc.gql(CREATE, { input: { name: 'Keyed node', ...draft({ rpcUrl: `${proxy.url}/?apikey=S3NT1NEL-in-query` }) } }, ed);
    expect(secret.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(secret.body.errors)).toContain('config.rpcUrl');
    expect(JSON.stringify(secret.body.errors)).not.toContain('S3NT1NEL');
    const { rpcUrl, ...rest } = draft().config as Record<string, unknown>;
    const old = await svc.gql(CREATE, { input: { name: 'Old key', provider: 'ethereum', authType: 'NONE', config: { ...rest, baseUrl: rpcUrl } } }, ed);
    expect(old.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(old.body.errors)).toMatch(/baseUrl/);
  });

  test('a stored config of version 1 (baseUrl) is upgraded to rpcUrl at start-up, audited as SYSTEM, and still reads', async () => {
    const c = (await svc.ok(CREATE, { input: { name: 'Stored before the rename', ...draft({ confirmations: 0, maxBlockRange: 100 }) } }, ed)).createConnector;
    const created = (await svc.ok(CONFIG, { id: c.id }, ed)).connector;
    expect(created.schemaVersion).toBe(2);
    // As version 1 stored it.
    const { rpcUrl, ...rest } = created.config as Record<string, unknown>;
    await svc.dataSource.query('UPDATE connectors SET config = $2, schema_version = 1 WHERE id = $1', [c.id, JSON.stringify({ ...rest, baseUrl: rpcUrl })]);

    expect(await svc.services.connectors.upgradeConfigs()).toBe(1);
    const after = (await svc.ok(CONFIG, { id: c.id }, ed)).connector;
    expect(after).toMatchObject({ schemaVersion: 2, version: created.version + 1 });
    expect(after.config).toMatchObject({ rpcUrl });
    expect(after.config).not.toHaveProperty('baseUrl');
    const [audit] = await svc.dataSource.query(
      `SELECT actor_type, actor_id, changes FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_UPDATED' ORDER BY id DESC LIMIT 1`,
      [c.id],
    );
    expect(audit).toMatchObject({ actor_type: 'SYSTEM', actor_id: 'config-migration', changes: expect.objectContaining({ schemaVersion: { before: 1, after: 2 } }) });
    expect(await svc.services.connectors.upgradeConfigs()).toBe(0);
    // The upgraded connector still works.
    const tested = (await svc.ok(TEST, { id: c.id }, ed)).testConnector;
    expect(tested.steps.map((s: { passed: boolean }) => s.passed)).toEqual([true, true, true, true]);
  });

  test('ingestion reads every transfer; after a restart it resumes from the committed cursor', async () => {
    const c = (await svc.ok(CREATE, { input: { name: 'Treasury wallets', ...draft({ syncIntervalSec: 3600 }), enabled: true } }, ed)).createConnector;
    const done = (n: number) => async () => {
      const s = (await svc.ok(STATE, { id: c.id }, ed)).connector;
      return s.ingestionRuns.filter((r: { status: string }) => r.status !== 'QUEUED' && r.status !== 'RUNNING').length >= n && s;
    };
    const first = await waitFor('the first run', done(1), 30_000);
    expect(first.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED', error: null });
    const hashes = (s: typeof first) => s.records.nodes.map((r: { data: TransferRecord }) => keyOf(r.data)).sort();
    // The reorganised-away transfers stay (the reorg tests ran on this node before): what the service
    // stores is exactly the canonical chain's transfers, each once.
    expect(hashes(first)).toEqual([...expected].sort());
    expect(first.records.nodes.every((r: { chain: string; duplicateCount: number }) => r.chain === 'eip155:31337' && r.duplicateCount === 0)).toBe(true);

    await svc.close();
    const more = await node.sendEth(X, A, parseEther('0.3'));
    await node.mine(2);
    svc = await startTestService('ethereum', { ...env, DATABASE_URL: svc.databaseUrl });
    proxy.clear();
    await svc.ok(SYNC, { id: c.id }, ed);
    const settled = async () => {
      const s = (await svc.ok(STATE, { id: c.id }, ed)).connector;
      const busy = s.ingestionRuns.some((r: { status: string }) => r.status === 'QUEUED' || r.status === 'RUNNING');
      return !busy && s.records.totalCount === expected.size + 1 && s;
    };
    const second = await waitFor('the run after the restart', settled, 30_000);
    const runs = second.ingestionRuns as Array<{ status: string; recordsWritten: number; duplicates: number; recordsRead: number }>;
    expect(runs.filter((r) => r.status === 'SUCCEEDED').length).toBeGreaterThanOrEqual(2);
    // Across both runs: every record written once, none read twice.
    expect(runs.reduce((n, r) => n + r.recordsWritten, 0)).toBe(expected.size + 1);
    expect(runs.reduce((n, r) => n + r.duplicates, 0)).toBe(0);
    expect(hashes(second)).toEqual([...expected, `${more}|native_transfers|native`].sort());
    // The run started where the committed cursor was: no eth_getLogs below it.
    const fromBlocks = proxy.requests.flatMap((r) => r.calls).filter((x) => x.method === 'eth_getLogs').map((x) => Number((x.params[0] as { fromBlock: string }).fromBlock));
    expect(Math.min(...fromBlocks)).toBeGreaterThan(Number((await node.receipt(more)).blockNumber) - 6);
  }, 60_000);
});

// Runs last.
test('the bearer token appears in no result, record, cursor or error', () => {
  expect(produced.length).toBeGreaterThan(10);
  expect(JSON.stringify(produced)).not.toContain('S3NT1NEL');
});

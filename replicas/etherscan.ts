/**
 * Etherscan API V2 replica (`GET /v2/api?chainid=…&module=account&action=txlist|tokentx`), after
 * Etherscan's documentation:
 *
 * - Normal transactions by address: https://docs.etherscan.io/api-reference/endpoint/txlist
 * - ERC-20 token transfers by address: https://docs.etherscan.io/api-reference/endpoint/tokentx
 * - V1 → V2 migration (V1 deprecated on 2025-08-15): https://docs.etherscan.io/v2-migration
 * - Common error messages: https://docs.etherscan.io/resources/common-error-messages
 * - Rate limits (Free: 3 calls/s, 100,000 calls/day): https://docs.etherscan.io/resources/rate-limits
 * - Paging a full history: https://docs.etherscan.io/get-an-addresss-full-transaction-history
 *
 * Auth: the `apikey` query parameter (etherscan.io/apidashboard). Every answer is HTTP 200 with
 * `{status, message, result}`: `status: "1"` and `message: "OK"` on success; `status: "0"`,
 * `message: "NOTOK"` and the cause in `result` on errors (`Invalid API Key`, `Missing/Invalid API
 * Key`, the chainid error, `Error! Invalid address format`, the result-window error); an empty list
 * is `status: "0"`, `message: "No transactions found"`, `result: []`.
 *
 * Paging: `page` (from 1) and `offset` (page size), `page × offset ≤ 10,000`; filters `startblock`
 * / `endblock` (inclusive, `endblock=latest` allowed) and `sort=asc|desc`. The legacy V1 path
 * (`/api`) answers with the documented deprecation error.
 *
 * Rate limits: an injected 429 (`server.rateLimitNext`) carries Etherscan's own NOTOK body
 * (`Max calls per sec rate limit reached (3/sec)`); the replica does not throttle by itself.
 */
import { Random, ReplicaServer, serve } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'etherscan';

const API_KEY = 'REPLICAETHERSCANKEY0123456789ABCD';
const WRONG_KEY = 'WRONGETHERSCANKEY9876543210ZYXWVU';
const SUPPORTED_CHAINS = new Set(['1', '10', '56', '137', '8453', '42161', '11155111', '17000']);
/** Two watched accounts: the connection partitions its reads by them. */
export const WATCHED = ['0x4e83362442b8d1bec281594cea3050c8eb01311c', '0xd8da6bf26964af9d7eed9e03e53415d37aa96045'];
const TOKENS = [
  { contractAddress: '0xdac17f958d2ee523a2206206994597c13d831ec7', tokenName: 'Tether USD', tokenSymbol: 'USDT', tokenDecimal: '6' },
  { contractAddress: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48', tokenName: 'USD Coin', tokenSymbol: 'USDC', tokenDecimal: '6' },
  { contractAddress: '0x9f8f72aa9304c8b593d555f12ef6589cc3a579a2', tokenName: 'Maker', tokenSymbol: 'MKR', tokenDecimal: '18' },
  { contractAddress: '0x6b175474e89094c44da98b954eedeac495271d0f', tokenName: 'Dai Stablecoin', tokenSymbol: 'DAI', tokenDecimal: '18' },
];
const MAX_WINDOW = 10_000;
const FIRST_BLOCK = 21_000_000;

/** One row of `action=txlist` (every field a string, as documented). */
export interface EtherscanTransaction {
  blockNumber: string;
  timeStamp: string;
  hash: string;
  nonce: string;
  blockHash: string;
  transactionIndex: string;
  from: string;
  to: string;
  value: string;
  gas: string;
  gasPrice: string;
  isError: string;
  txreceipt_status: string;
  input: string;
  contractAddress: string;
  cumulativeGasUsed: string;
  gasUsed: string;
  confirmations: string;
  methodId: string;
  functionName: string;
}

/** One row of `action=tokentx`. Etherscan documents no log index for it. */
export interface EtherscanTokenTransfer {
  blockNumber: string;
  timeStamp: string;
  hash: string;
  nonce: string;
  blockHash: string;
  from: string;
  contractAddress: string;
  to: string;
  value: string;
  tokenName: string;
  tokenSymbol: string;
  tokenDecimal: string;
  transactionIndex: string;
  gas: string;
  gasPrice: string;
  gasUsed: string;
  cumulativeGasUsed: string;
  input: string;
  methodId: string;
  functionName: string;
  confirmations: string;
}

type Row = { stream: 'txlist' | 'tokentx'; account: string; item: EtherscanTransaction | EtherscanTokenTransfer };

/** The chain names a connector's `chainid` stands for (the normalized record's `chain`). */
export const CHAIN_NAMES: Record<string, string> = {
  '1': 'ethereum',
  '10': 'optimism',
  '56': 'bsc',
  '137': 'polygon',
  '8453': 'base',
  '42161': 'arbitrum',
  '11155111': 'sepolia',
  '17000': 'holesky',
};

class Generator extends Random {
  address(): string {
    return `0x${this.hex(40)}`;
  }
  /** A decimal string of up to `digits` digits, no leading zero (wei amounts overflow doubles). */
  amount(digits: number): string {
    const len = 1 + this.int(digits);
    let s = String(1 + this.int(9));
    for (let i = 1; i < len; i++) s += String(this.int(10));
    return s;
  }
}

/** Etherscan's `{status, message, result}` envelope. */
function envelope(status: '0' | '1', message: string, result: unknown): ReplicaResponse {
  return { status: 200, body: { status, message, result } };
}
const notOk = (result: string): ReplicaResponse => envelope('0', 'NOTOK', result);

/** Etherscan's answer when the call rate is exceeded (the suite injects it as a 429). */
export function etherscanRateLimitResponse(): ReplicaResponse {
  return { body: { status: '0', message: 'NOTOK', result: 'Max calls per sec rate limit reached (3/sec)' } };
}

export async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const server = new ReplicaServer(PROVIDER, etherscanRateLimitResponse);
  const gen = new Generator(0xe7e5);
  const rows: Row[] = [];
  const anchorSec = Math.floor((options.now ?? Date.now()) / 1000);
  let block = FIRST_BLOCK;
  let blockTime = anchorSec - 86_400 / 2;
  const blockHashes = new Map<number, string>();
  const blockHash = (n: number) => {
    let h = blockHashes.get(n);
    if (!h) blockHashes.set(n, (h = `0x${gen.hex(64)}`));
    return h;
  };
  const nonces = new Map<string, number>();
  const nextNonce = (from: string) => {
    const n = nonces.get(from) ?? gen.int(500);
    nonces.set(from, n + 1);
    return String(n);
  };

  function addRow(): void {
    const step = 1 + gen.int(8);
    block += step;
    blockTime += step * 12;
    const i = rows.length;
    const account = WATCHED[Math.floor(i / 2) % WATCHED.length]!;
    const outgoing = gen.int(2) === 0;
    const counterparty = gen.address();
    const gasPrice = String(1_000_000_000 + gen.int(40_000_000_000));
    const cumulative = String(1_000_000 + gen.int(20_000_000));
    const common = {
      blockNumber: String(block),
      timeStamp: String(blockTime),
      hash: `0x${gen.hex(64)}`,
      blockHash: blockHash(block),
      transactionIndex: String(gen.int(250)),
      gasPrice,
      cumulativeGasUsed: cumulative,
      confirmations: '0',
    };
    if (i % 3 === 2) {
      const token = gen.pick(TOKENS);
      const from = outgoing ? account : counterparty;
      const item: EtherscanTokenTransfer = {
        blockNumber: common.blockNumber,
        timeStamp: common.timeStamp,
        hash: common.hash,
        nonce: nextNonce(from),
        blockHash: common.blockHash,
        from,
        contractAddress: token.contractAddress,
        to: outgoing ? counterparty : account,
        value: gen.amount(token.tokenDecimal === '6' ? 12 : 24),
        tokenName: token.tokenName,
        tokenSymbol: token.tokenSymbol,
        tokenDecimal: token.tokenDecimal,
        transactionIndex: common.transactionIndex,
        gas: String(60_000 + gen.int(40_000)),
        gasPrice,
        gasUsed: String(40_000 + gen.int(20_000)),
        cumulativeGasUsed: cumulative,
        input: 'deprecated',
        methodId: '0xa9059cbb',
        functionName: 'transfer(address _to, uint256 _value)',
        confirmations: '0',
      };
      rows.push({ stream: 'tokentx', account, item });
    } else {
      const from = outgoing ? account : counterparty;
      const failed = gen.int(10) === 0;
      const item: EtherscanTransaction = {
        blockNumber: common.blockNumber,
        timeStamp: common.timeStamp,
        hash: common.hash,
        nonce: nextNonce(from),
        blockHash: common.blockHash,
        transactionIndex: common.transactionIndex,
        from,
        to: outgoing ? counterparty : account,
        value: gen.amount(19),
        gas: '21000',
        gasPrice,
        isError: failed ? '1' : '0',
        txreceipt_status: failed ? '0' : '1',
        input: '0x',
        contractAddress: '',
        cumulativeGasUsed: cumulative,
        gasUsed: '21000',
        confirmations: '0',
        methodId: '0x',
        functionName: '',
      };
      rows.push({ stream: 'txlist', account, item });
    }
  }

  const count = options.items ?? 25;
  for (let i = 0; i < count; i++) addRow();
  const latestBlock = () => block + 3;
  const withConfirmations = <T extends { blockNumber: string; confirmations: string }>(item: T): T => ({
    ...item,
    confirmations: String(latestBlock() - Number(item.blockNumber)),
  });

  function list(req: ReplicaRequest, action: 'txlist' | 'tokentx'): ReplicaResponse {
    const q = req.query;
    const address = (q.get('address') ?? '').toLowerCase();
    const contract = (q.get('contractaddress') ?? '').toLowerCase();
    if (action === 'txlist' || address) {
      if (!/^0x[0-9a-f]{40}$/.test(address)) return notOk('Error! Invalid address format');
    }
    if (contract && !/^0x[0-9a-f]{40}$/.test(contract)) return notOk('Error! Invalid contract address format');
    if (action === 'tokentx' && !address && !contract) return notOk('Error! Missing address or contract address');
    const startblock = Number(q.get('startblock') ?? '0');
    const endRaw = q.get('endblock') ?? 'latest';
    const endblock = endRaw === 'latest' ? Number.MAX_SAFE_INTEGER : Number(endRaw);
    if (!Number.isInteger(startblock) || startblock < 0) return notOk('Error! Invalid startblock');
    if (!Number.isInteger(endblock) || endblock < 0) return notOk('Error! Invalid endblock');
    const pageRaw = q.get('page');
    const offsetRaw = q.get('offset');
    const page = pageRaw ? Number(pageRaw) : 1;
    const offset = offsetRaw ? Number(offsetRaw) : MAX_WINDOW;
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(offset) || offset < 1) return notOk('Error! Invalid page or offset');
    if (page * offset > MAX_WINDOW) return notOk('Result window is too large, PageNo x Offset size must be less than or equal to 10000');
    const sort = (q.get('sort') ?? 'asc').toLowerCase();
    if (sort !== 'asc' && sort !== 'desc') return notOk('Error! Invalid sort order');
    let matching = rows
      .filter((r) => r.stream === action)
      .map((r) => r.item)
      .filter((it) => {
        const n = Number(it.blockNumber);
        if (n < startblock || n > endblock) return false;
        if (address && it.from !== address && it.to !== address) return false;
        if (contract && it.contractAddress !== contract) return false;
        return true;
      });
    if (sort === 'desc') matching = matching.slice().reverse();
    const result = matching.slice((page - 1) * offset, page * offset).map(withConfirmations);
    return result.length ? envelope('1', 'OK', result) : envelope('0', 'No transactions found', []);
  }

  server.route('GET', '/v2/api', (req) => {
    const q = req.query;
    const chainid = q.get('chainid') ?? '';
    if (!SUPPORTED_CHAINS.has(chainid)) {
      return notOk('Missing or unsupported chainid parameter (required for v2 api), please see https://api.etherscan.io/v2/chainlist for the list of supported chainids');
    }
    const key = q.get('apikey');
    if (!key) return notOk('Missing/Invalid API Key');
    if (key !== API_KEY) return notOk('Invalid API Key');
    const module = q.get('module');
    const action = q.get('action');
    if (module === 'account' && (action === 'txlist' || action === 'tokentx')) return list(req, action);
    if (module === 'proxy' && action === 'eth_blockNumber') {
      return { body: { jsonrpc: '2.0', id: 83, result: `0x${latestBlock().toString(16)}` } };
    }
    return notOk('Error! Missing Or invalid Action name');
  });
  server.route('GET', '/api', () => notOk('You are using a deprecated V1 endpoint, switch to Etherscan API V2.'));

  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiKey: API_KEY },
    wrongCredentials: { apiKey: WRONG_KEY },
    // Three records a page, so every (stream, address) pair of the default dataset spans pages.
    config: () => ({ addresses: [...WATCHED], pageSize: 3 }),
    oauthConfig: null,
    addItems(n: number) {
      for (let i = 0; i < n; i++) addRow();
    },
    items: () => rows.map((r) => withConfirmations(r.item)),
  });
}

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const it = item as Partial<EtherscanTransaction & EtherscanTokenTransfer>;
    const token = 'tokenSymbol' in it;
    return {
      kind: 'transaction',
      chain: 'ethereum',
      hash: it.hash,
      blockNumber: Number(it.blockNumber),
      from: it.from,
      to: it.to || null,
      value: it.value,
      timestamp: new Date(Number(it.timeStamp) * 1000).toISOString(),
      ...(token ? { token: it.contractAddress, tokenSymbol: it.tokenSymbol, tokenDecimals: Number(it.tokenDecimal) } : {}),
    };
  },
  authRemediation: /etherscan\.io\/apidashboard/,
  eventTypes: ['transactions', 'erc20_transfers'],
};

/**
 * Blocks, transactions and logs (as eth_getBlockByNumber and eth_getLogs answer them) → normalized
 * `transaction` records of transfers touching a watched address, and the `event` record of a
 * reorganisation.
 *
 * Why `transaction`: records.ts has a kind for exactly this (chain, hash, blockNumber, from, to,
 * value, timestamp), the etherscan provider writes it for the same transfers, and the records
 * query exposes `chain` and `hash` for it. A reorganisation is not a transfer: it is an `event`.
 */
import type { EventRecord, TransactionRecord } from '../records.js';
import { chainName } from './config.js';
import type { EthereumConfig, TokenInfo } from './config.js';
import { isHash, isHexData, isQuantity, quantityToNumber } from './rpc.js';

/**
 * topic0 of the ERC-20 `Transfer(address indexed from, address indexed to, uint256 value)` event:
 * keccak256("Transfer(address,address,uint256)"). Fixed by the standard (EIP-20); a constant so
 * nothing at run time hashes it (test/unit/ethereum/keccak.test.ts recomputes it with viem).
 */
export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

export const STREAMS = ['native_transfers', 'erc20_transfers', 'reorgs'] as const;
export type StreamName = (typeof STREAMS)[number];

/** The dedup key of transfers: chain id + tx hash + (native | the log's index in its block). */
export const TRANSFER_DEDUP_KEY = ['/chainId', '/hash', '/eventType', '/logIndex'] as const;
/** The dedup key of a reorganisation record: chain id + the orphaned chain it names. */
export const REORG_DEDUP_KEY = ['/chainId', '/eventType', '/eventId'] as const;

export type Direction = 'in' | 'out' | 'self';

export interface TransferRecord extends TransactionRecord {
  chainId: number;
  eventType: 'native_transfers' | 'erc20_transfers';
  blockHash: string;
  transactionIndex: number | null;
  /** The log's index in its block (ERC-20); null for a native transfer. */
  logIndex: number | null;
  /** The token contract (ERC-20); null for a native transfer. */
  token: string | null;
  tokenSymbol: string | null;
  /** The token's decimals (18 for ether); null when unknown. */
  decimals: number | null;
  /** `value` in whole units (ether, or the token's), an exact decimal string; null when the decimals are unknown. */
  amount: string | null;
  /** Relative to the watched addresses: `self` when both ends are watched. */
  direction: Direction;
  /** The watched address this transfer is about (for `self`: the sender). */
  watchedAddress: string;
  /** Native transfers: the transaction reverted (no value moved). ERC-20 logs exist only for successful ones. */
  failed: boolean;
}

export interface ReorgRecord extends EventRecord {
  eventType: 'reorgs';
  chainId: number;
  /** The newest block both chains share; null when the reorganisation went deeper than the cursor remembers. */
  commonAncestor: { number: number; hash: string } | null;
  /** The blocks read earlier that are no longer on the chain, oldest first. */
  orphanedBlocks: Array<{ number: number; hash: string }>;
  depth: number;
  /** Deeper than maxReorgDepth: everything from the oldest remembered block is read again. */
  beyondMaxDepth: boolean;
}

export interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  transactions: Array<RpcTransaction | string>;
}

export interface RpcTransaction {
  hash: string;
  from: string;
  to: string | null;
  value: string;
  transactionIndex?: string | null;
  blockHash?: string | null;
}

export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  transactionIndex?: string;
  logIndex: string;
  removed?: boolean;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Why a block answer is unusable, or null. */
export function blockProblem(b: unknown, fullTransactions: boolean): string | null {
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return 'is not a block object';
  const block = b as Partial<RpcBlock>;
  if (!isQuantity(block.number)) return 'has no valid number';
  if (!isHash(block.hash)) return 'has no valid hash';
  if (!isHash(block.parentHash)) return 'has no valid parentHash';
  if (!isQuantity(block.timestamp)) return 'has no valid timestamp';
  if (!Array.isArray(block.transactions)) return 'has no transactions array';
  if (fullTransactions) {
    for (const [i, t] of block.transactions.entries()) {
      const tx = t as Partial<RpcTransaction>;
      if (tx === null || typeof tx !== 'object') return `transaction ${i} is not an object (were full transactions asked for?)`;
      if (!isHash(tx.hash) || typeof tx.from !== 'string' || !ADDRESS.test(tx.from) || !isQuantity(tx.value)) return `transaction ${i} has no valid hash, from or value`;
      if (tx.to !== null && tx.to !== undefined && (typeof tx.to !== 'string' || !ADDRESS.test(tx.to))) return `transaction ${i} has an invalid to`;
    }
  }
  return null;
}

/** Why a log answer is unusable, or null. */
export function logProblem(l: unknown): string | null {
  if (l === null || typeof l !== 'object' || Array.isArray(l)) return 'is not a log object';
  const log = l as Partial<RpcLog>;
  if (typeof log.address !== 'string' || !ADDRESS.test(log.address)) return 'has no valid address';
  if (!Array.isArray(log.topics) || !log.topics.every(isHash)) return 'has no valid topics';
  if (!isHexData(log.data)) return 'has no valid data';
  if (!isQuantity(log.blockNumber) || !isHash(log.blockHash) || !isHash(log.transactionHash) || !isQuantity(log.logIndex)) {
    return 'has no valid blockNumber, blockHash, transactionHash or logIndex';
  }
  return null;
}

/**
 * `value` (an integer of the smallest unit) in whole units with `decimals` digits after the
 * point, exactly (BigInt arithmetic, no floating point): trailing zeros of the fraction dropped,
 * no point for a whole number. 1234567 with 6 decimals → "1.234567"; 10^18 with 18 → "1".
 */
export function formatUnits(value: bigint, decimals: number): string {
  if (!Number.isInteger(decimals) || decimals < 0) throw new RangeError('decimals must be a non-negative integer');
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString();
  if (decimals === 0) return `${negative ? '-' : ''}${digits}`;
  const padded = digits.padStart(decimals + 1, '0');
  const whole = padded.slice(0, padded.length - decimals);
  const fraction = padded.slice(padded.length - decimals).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

const topicAddress = (topic: string): string => `0x${topic.slice(26).toLowerCase()}`;

function direction(from: string, to: string | null, watched: ReadonlySet<string>): { direction: Direction; watchedAddress: string } | null {
  const out = watched.has(from);
  const inn = to !== null && watched.has(to);
  if (out && inn) return { direction: 'self', watchedAddress: from };
  if (out) return { direction: 'out', watchedAddress: from };
  if (inn) return { direction: 'in', watchedAddress: to! };
  return null;
}

const isoOf = (timestamp: string): string => new Date(quantityToNumber(timestamp, 'block timestamp') * 1000).toISOString();

export interface MapContext {
  cfg: EthereumConfig;
  watched: ReadonlySet<string>;
  tokens: ReadonlyMap<string, TokenInfo>;
}

export function mapContext(cfg: EthereumConfig): MapContext {
  return { cfg, watched: new Set(cfg.addresses), tokens: new Map((cfg.tokenDecimals ?? []).map((t) => [t.address, t])) };
}

/** The transactions of a block that move ether from or to a watched address (value > 0). */
export function nativeCandidates(block: RpcBlock, mc: MapContext): RpcTransaction[] {
  return (block.transactions as RpcTransaction[]).filter((tx) => {
    if (BigInt(tx.value) === 0n) return false;
    return direction(tx.from.toLowerCase(), tx.to ? tx.to.toLowerCase() : null, mc.watched) !== null;
  });
}

export function nativeRecord(block: RpcBlock, tx: RpcTransaction, failed: boolean, mc: MapContext): TransferRecord {
  const from = tx.from.toLowerCase();
  const to = tx.to ? tx.to.toLowerCase() : null;
  const value = BigInt(tx.value);
  return {
    kind: 'transaction',
    chain: chainName(mc.cfg.chainId),
    chainId: mc.cfg.chainId,
    eventType: 'native_transfers',
    hash: tx.hash.toLowerCase(),
    blockNumber: quantityToNumber(block.number, 'block number'),
    blockHash: block.hash.toLowerCase(),
    timestamp: isoOf(block.timestamp),
    transactionIndex: isQuantity(tx.transactionIndex) ? quantityToNumber(tx.transactionIndex, 'transactionIndex') : null,
    logIndex: null,
    from,
    to,
    value: value.toString(),
    token: null,
    tokenSymbol: 'ETH',
    decimals: 18,
    amount: formatUnits(value, 18),
    ...direction(from, to, mc.watched)!,
    failed,
  };
}

/** An ERC-20 Transfer log (3 topics, a 32-byte value) touching a watched address, or null (ERC-721 has 4 topics). */
export function erc20Record(log: RpcLog, block: RpcBlock, mc: MapContext): TransferRecord | null {
  if (log.removed === true || log.topics.length !== 3 || log.topics[0]!.toLowerCase() !== TRANSFER_TOPIC) return null;
  if (log.data.length !== 66) return null;
  const token = log.address.toLowerCase();
  if (mc.cfg.tokenAllowList?.length && !mc.cfg.tokenAllowList.includes(token)) return null;
  const from = topicAddress(log.topics[1]!);
  const to = topicAddress(log.topics[2]!);
  const dir = direction(from, to, mc.watched);
  if (!dir) return null;
  const value = BigInt(log.data);
  const known = mc.tokens.get(token);
  return {
    kind: 'transaction',
    chain: chainName(mc.cfg.chainId),
    chainId: mc.cfg.chainId,
    eventType: 'erc20_transfers',
    hash: log.transactionHash.toLowerCase(),
    blockNumber: quantityToNumber(log.blockNumber, 'log blockNumber'),
    blockHash: log.blockHash.toLowerCase(),
    timestamp: isoOf(block.timestamp),
    transactionIndex: isQuantity(log.transactionIndex) ? quantityToNumber(log.transactionIndex, 'log transactionIndex') : null,
    logIndex: quantityToNumber(log.logIndex, 'logIndex'),
    from,
    to,
    value: value.toString(),
    token,
    tokenSymbol: known?.symbol ?? null,
    decimals: known ? known.decimals : null,
    amount: known ? formatUnits(value, known.decimals) : null,
    ...dir,
    failed: false,
  };
}

export function reorgRecord(
  cfg: EthereumConfig,
  detectedAt: Date,
  commonAncestor: { number: number; hash: string } | null,
  orphanedBlocks: Array<{ number: number; hash: string }>,
  beyondMaxDepth: boolean,
): ReorgRecord {
  const first = orphanedBlocks[0];
  return {
    kind: 'event',
    format: 'ethereum',
    vendor: 'Ethereum',
    product: 'JSON-RPC node',
    productVersion: null,
    eventId: `reorg:${first ? `${first.number}:${first.hash}` : 'unknown'}`,
    name: beyondMaxDepth ? 'Chain reorganisation deeper than maxReorgDepth' : 'Chain reorganisation',
    severity: beyondMaxDepth ? 6 : 3,
    timestamp: detectedAt.toISOString(),
    src: null,
    dst: null,
    srcPort: null,
    dstPort: null,
    user: null,
    extensions: {},
    eventType: 'reorgs',
    chain: chainName(cfg.chainId),
    chainId: cfg.chainId,
    commonAncestor,
    orphanedBlocks,
    depth: orphanedBlocks.length,
    beyondMaxDepth,
  };
}

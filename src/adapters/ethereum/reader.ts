/**
 * How the `ethereum` provider reads a chain (docs/providers.md renders the summary in `notes`):
 *
 * 1. One JSON-RPC batch: `eth_chainId` (must equal the configured chainId) and `eth_blockNumber`.
 *    Blocks up to head − confirmations are read; newer ones wait.
 * 2. With a cursor: `eth_getBlockByNumber(cursor.block)`; when its hash is still the cursor's,
 *    reading continues at cursor.block + 1. Otherwise the chain was reorganised: the remembered
 *    blocks are fetched in one batch and the newest one whose hash still matches is the common
 *    ancestor; a `reorgs` record names the orphaned blocks and reading resumes after the ancestor.
 * 3. Ranges of at most maxBlockRange blocks, one batch of records each, with its cursor:
 *    - ERC-20: two `eth_getLogs` (one JSON-RPC batch) with topic0 = Transfer and topic1 (from) or
 *      topic2 (to) = a watched address, the token allow-list as `address`; a node's "range too
 *      large" answer halves the range for the rest of the read;
 *    - native: every block of the range with full transactions (`eth_getBlockByNumber(n, true)`,
 *      batched), and `eth_getTransactionReceipt` of the matching ones for their status;
 *    - without native transfers, the headers needed for timestamps and the cursor's hashes.
 *    Fetched blocks must chain (parentHash) to each other and to the cursor, and every log's
 *    blockHash must be its block's: if not, the chain moved while it was read, and the read stops
 *    there (the next one walks back from the committed cursor).
 */
import { ConnectorError } from '../../errors/connector-error.js';
import type { AdapterContext, ConnectionInput, ReadCursor, RecordBatch } from '../spi.js';
import type { EthereumConfig } from './config.js';
import { oldestRemembered, parseCursor, rememberedHash } from './cursor.js';
import type { EthereumCursor } from './cursor.js';
import {
  REORG_DEDUP_KEY,
  STREAMS,
  TRANSFER_DEDUP_KEY,
  TRANSFER_TOPIC,
  blockProblem,
  erc20Record,
  logProblem,
  mapContext,
  nativeCandidates,
  nativeRecord,
  reorgRecord,
} from './mapper.js';
import type { MapContext, RpcBlock, RpcLog, StreamName, TransferRecord } from './mapper.js';
import { RpcClient, RpcError, formatError, quantityToNumber, toQuantity } from './rpc.js';

/** The streams a connector reads: its event types, all when none. */
export function selectedStreams(eventTypes: readonly string[] | undefined): Set<StreamName> {
  const chosen = (eventTypes ?? []).filter((t): t is StreamName => (STREAMS as readonly string[]).includes(t));
  return new Set(chosen.length ? chosen : STREAMS);
}

/** A chain id other than the configured one: CONFIG_INVALID, the two ids in the message. */
export class WrongChainError extends ConnectorError {
  constructor(
    readonly expected: number,
    readonly actual: number,
    host: string,
  ) {
    super('CONFIG_INVALID', `The node at ${host} serves chain id ${actual}, but the connector is configured for chain id ${expected}`);
    this.name = 'WrongChainError';
  }
}

export async function chainHead(rpc: RpcClient, cfg: EthereumConfig): Promise<{ chainId: number; head: number }> {
  const [chainHex, headHex] = await rpc.batch<string>([
    { method: 'eth_chainId', params: [] },
    { method: 'eth_blockNumber', params: [] },
  ]);
  const chainId = quantityToNumber(chainHex, 'chain id (eth_chainId)');
  const head = quantityToNumber(headHex, 'block number (eth_blockNumber)');
  if (chainId !== cfg.chainId) throw new WrongChainError(cfg.chainId, chainId, rpc.host);
  return { chainId, head };
}

/** Blocks by number (null where the node has none), validated. */
export async function fetchBlocks(rpc: RpcClient, numbers: readonly number[], full: boolean): Promise<Map<number, RpcBlock | null>> {
  const answers = await rpc.batch<unknown>(numbers.map((n) => ({ method: 'eth_getBlockByNumber', params: [toQuantity(n), full] })));
  const out = new Map<number, RpcBlock | null>();
  numbers.forEach((n, i) => {
    const b = answers[i];
    if (b === null || b === undefined) return out.set(n, null);
    const problem = blockProblem(b, full);
    if (problem) throw formatError(`Block ${n} from ${rpc.host} ${problem}`, 'eth_getBlockByNumber');
    const block = b as RpcBlock;
    if (quantityToNumber(block.number, 'block number') !== n) throw formatError(`${rpc.host} answered block ${block.number} for block ${n}`, 'eth_getBlockByNumber');
    out.set(n, { ...block, hash: block.hash.toLowerCase(), parentHash: block.parentHash.toLowerCase() });
  });
  return out;
}

const padTopic = (address: string): string => `0x${'0'.repeat(24)}${address.slice(2)}`;

/** ERC-20 Transfer logs from or to a watched address in [from, to]: two topic-filtered eth_getLogs in one batch, merged. */
export async function fetchTransferLogs(rpc: RpcClient, cfg: EthereumConfig, from: number, to: number): Promise<RpcLog[]> {
  const watched = cfg.addresses.map(padTopic);
  const filter = (topics: Array<string | string[] | null>) => ({
    fromBlock: toQuantity(from),
    toBlock: toQuantity(to),
    topics,
    ...(cfg.tokenAllowList?.length ? { address: cfg.tokenAllowList } : {}),
  });
  const answers = await rpc.batch<unknown>([
    { method: 'eth_getLogs', params: [filter([TRANSFER_TOPIC, watched])] },
    { method: 'eth_getLogs', params: [filter([TRANSFER_TOPIC, null, watched])] },
  ]);
  const byKey = new Map<string, RpcLog>();
  for (const list of answers) {
    if (!Array.isArray(list)) throw formatError(`${rpc.host} answered eth_getLogs with something other than an array`, 'eth_getLogs');
    for (const [i, l] of list.entries()) {
      const problem = logProblem(l);
      if (problem) throw formatError(`Log ${i} from ${rpc.host} ${problem}`, 'eth_getLogs');
      const log = l as RpcLog;
      if (log.removed === true) continue;
      // A transfer between two watched addresses matches both filters: once.
      byKey.set(`${log.blockHash.toLowerCase()}:${log.logIndex}`, log);
    }
  }
  return [...byKey.values()];
}

/** Whether each transaction reverted (receipt status 0x0), by hash. */
async function failedStatuses(rpc: RpcClient, hashes: readonly string[]): Promise<Map<string, boolean>> {
  const receipts = await rpc.batch<unknown>(hashes.map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })));
  return new Map(hashes.map((h, i) => [h, (receipts[i] as { status?: unknown } | null)?.status === '0x0']));
}

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);

function byChainOrder(a: TransferRecord, b: TransferRecord): number {
  return a.blockNumber - b.blockNumber || (a.transactionIndex ?? 0) - (b.transactionIndex ?? 0) || (a.logIndex ?? -1) - (b.logIndex ?? -1);
}

/** The transfers of a block range, or `moved` when the chain changed while it was read. */
export async function readRange(
  rpc: RpcClient,
  mc: MapContext,
  streams: ReadonlySet<StreamName>,
  from: number,
  to: number,
  state: EthereumCursor,
): Promise<{ records: TransferRecord[]; state: EthereumCursor } | 'moved'> {
  const { cfg } = mc;
  const keep = cfg.maxReorgDepth + 1;
  const native = streams.has('native_transfers');
  const logs = streams.has('erc20_transfers') ? await fetchTransferLogs(rpc, cfg, from, to) : [];
  const tailFrom = Math.max(from, to - keep + 1);
  const numbers = native ? range(from, to) : [...new Set([from, ...range(tailFrom, to), ...logs.map((l) => quantityToNumber(l.blockNumber, 'log blockNumber'))])].sort((a, b) => a - b);
  const blocks = await fetchBlocks(rpc, numbers, native);
  for (const n of numbers) if (!blocks.get(n)) return 'moved';
  const at = (n: number) => blocks.get(n)!;
  if (state.hash !== null && state.block === from - 1 && at(from).parentHash !== state.hash) return 'moved';
  for (const n of numbers) if (blocks.get(n - 1) && at(n).parentHash !== at(n - 1).hash) return 'moved';
  for (const l of logs) if (at(quantityToNumber(l.blockNumber, 'log blockNumber')).hash !== l.blockHash.toLowerCase()) return 'moved';

  const records: TransferRecord[] = [];
  if (native) {
    const matches = numbers.flatMap((n) => nativeCandidates(at(n), mc).map((tx) => ({ block: at(n), tx })));
    const failed = matches.length ? await failedStatuses(rpc, matches.map((m) => m.tx.hash)) : new Map<string, boolean>();
    for (const { block, tx } of matches) records.push(nativeRecord(block, tx, failed.get(tx.hash) ?? false, mc));
  }
  for (const l of logs) {
    const r = erc20Record(l, at(quantityToNumber(l.blockNumber, 'log blockNumber')), mc);
    if (r) records.push(r);
  }
  records.sort(byChainOrder);

  const tail = range(tailFrom, to).map((n) => at(n).hash);
  const contiguous = state.hash !== null && state.block === from - 1 && tailFrom === from;
  const recentHashes = (contiguous ? [...state.recentHashes, ...tail] : tail).slice(-keep);
  return { records, state: { chainId: cfg.chainId, block: to, hash: at(to).hash, recentHashes } };
}

export interface ReorgOutcome {
  state: EthereumCursor;
  commonAncestor: { number: number; hash: string } | null;
  orphaned: Array<{ number: number; hash: string }>;
  beyondMaxDepth: boolean;
}

/**
 * Null when the cursor's block is still on the chain; else the walk back to the newest
 * remembered block that still is (the common ancestor), bounded by the hashes the cursor keeps.
 */
export async function checkReorg(rpc: RpcClient, cfg: EthereumConfig, cursor: EthereumCursor): Promise<ReorgOutcome | null> {
  if (cursor.hash === null) return null;
  const current = (await fetchBlocks(rpc, [cursor.block], false)).get(cursor.block);
  if (current?.hash === cursor.hash) return null;
  const oldest = oldestRemembered(cursor);
  const earlier = range(oldest, cursor.block - 1).reverse();
  const canonical = earlier.length ? await fetchBlocks(rpc, earlier, false) : new Map<number, RpcBlock | null>();
  const ancestor = earlier.find((n) => canonical.get(n)?.hash === rememberedHash(cursor, n));
  const orphanedFrom = ancestor === undefined ? oldest : ancestor + 1;
  const orphaned = range(orphanedFrom, cursor.block).map((n) => ({ number: n, hash: rememberedHash(cursor, n)! }));
  if (ancestor === undefined) {
    return { state: { chainId: cfg.chainId, block: oldest - 1, hash: null, recentHashes: [] }, commonAncestor: null, orphaned, beyondMaxDepth: true };
  }
  const hash = rememberedHash(cursor, ancestor)!;
  return {
    state: { chainId: cfg.chainId, block: ancestor, hash, recentHashes: cursor.recentHashes.slice(0, cursor.recentHashes.length - (cursor.block - ancestor)) },
    commonAncestor: { number: ancestor, hash },
    orphaned,
    beyondMaxDepth: false,
  };
}

const asCursor = (c: EthereumCursor): ReadCursor => ({ chainId: c.chainId, block: c.block, hash: c.hash, recentHashes: c.recentHashes });

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ConnectorError('TIMEOUT', 'The read was aborted');
}

export async function* readChain(ctx: AdapterContext, cfg: EthereumConfig, input: ConnectionInput, cursor: ReadCursor): AsyncGenerator<RecordBatch> {
  const rpc = new RpcClient(ctx, cfg, input);
  const streams = selectedStreams(input.eventTypes);
  const mc = mapContext(cfg);
  const keep = cfg.maxReorgDepth + 1;
  const { head } = await chainHead(rpc, cfg);
  const safe = head - cfg.confirmations;

  let state = parseCursor(cursor, cfg.chainId, keep);
  if (state) {
    const reorg = await checkReorg(rpc, cfg, state);
    if (reorg) {
      state = reorg.state;
      const now = ctx.now?.() ?? new Date();
      const records = streams.has('reorgs') ? [reorgRecord(cfg, now, reorg.commonAncestor, reorg.orphaned, reorg.beyondMaxDepth)] : [];
      yield { records, cursor: asCursor(state), dedupKey: REORG_DEDUP_KEY };
    }
  } else if (cfg.startBlock !== undefined) {
    state = { chainId: cfg.chainId, block: cfg.startBlock - 1, hash: null, recentHashes: [] };
  } else {
    // No cursor, no startBlock: anchor at the confirmed head; later reads continue from there.
    if (safe < 0) state = { chainId: cfg.chainId, block: -1, hash: null, recentHashes: [] };
    else {
      const anchor = (await fetchBlocks(rpc, [safe], false)).get(safe);
      if (!anchor) return;
      state = { chainId: cfg.chainId, block: safe, hash: anchor.hash, recentHashes: [anchor.hash] };
    }
    yield { records: [], cursor: asCursor(state), dedupKey: TRANSFER_DEDUP_KEY };
    return;
  }

  let span = cfg.maxBlockRange;
  let next = state.block + 1;
  while (next <= safe) {
    aborted(ctx.signal);
    const to = Math.min(safe, next + span - 1);
    let result: Awaited<ReturnType<typeof readRange>>;
    try {
      result = await readRange(rpc, mc, streams, next, to, state);
    } catch (e) {
      if (e instanceof RpcError && e.kind === 'range_too_large' && to > next) {
        span = Math.max(1, Math.floor((to - next + 1) / 2));
        continue;
      }
      throw e;
    }
    // The chain moved under the read: stop; the next read checks the committed cursor.
    if (result === 'moved') return;
    state = result.state;
    next = to + 1;
    yield { records: result.records, cursor: asCursor(state), dedupKey: TRANSFER_DEDUP_KEY };
  }
}

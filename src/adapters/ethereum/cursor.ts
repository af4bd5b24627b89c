/**
 * The `ethereum` cursor: the last block read, its hash, and the hashes of the blocks before it
 * (up to maxReorgDepth + 1, oldest first, the last one being `hash`), so that a later read can
 * tell whether the chain it read is still the chain, and if not, where the two part.
 *
 * ```json
 * { "chainId": 1, "block": 19000000, "hash": "0xab…", "recentHashes": ["0x…", …, "0xab…"] }
 * ```
 *
 * `hash: null` (with no recent hashes) means "continue at block + 1 without a check": an initial
 * sync from `startBlock`, or after a reorganisation deeper than the hashes kept.
 */
import { isHash } from './rpc.js';

export interface EthereumCursor {
  chainId: number;
  /** The last block read (−1: none yet, the next is block 0). */
  block: number;
  hash: string | null;
  /** Hashes of blocks block − n + 1 … block, oldest first; ends with `hash`. */
  recentHashes: string[];
}

/** A stored cursor of this chain, or null (none, malformed, or of another chain id: start afresh). */
export function parseCursor(raw: unknown, chainId: number, keep: number): EthereumCursor | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const c = raw as Partial<EthereumCursor>;
  if (c.chainId !== chainId || !Number.isSafeInteger(c.block) || c.block! < -1) return null;
  if (c.hash === null || c.hash === undefined) return { chainId, block: c.block!, hash: null, recentHashes: [] };
  if (!isHash(c.hash)) return null;
  const recent = Array.isArray(c.recentHashes) ? c.recentHashes.filter(isHash).map((h) => h.toLowerCase()) : [];
  const hash = c.hash.toLowerCase();
  const recentHashes = recent.at(-1) === hash ? recent.slice(-Math.max(1, keep)) : [hash];
  return { chainId, block: c.block!, hash, recentHashes };
}

/** The hash the cursor remembers for block `n`, if any. */
export function rememberedHash(c: EthereumCursor, n: number): string | undefined {
  const i = c.recentHashes.length - 1 - (c.block - n);
  return i >= 0 && i < c.recentHashes.length ? c.recentHashes[i] : undefined;
}

/** The oldest block the cursor remembers a hash for. */
export function oldestRemembered(c: EthereumCursor): number {
  return c.block - c.recentHashes.length + 1;
}

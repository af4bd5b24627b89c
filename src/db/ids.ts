import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * ulid's default PRNG calls crypto.getRandomValues once per character (16 calls per id); this one
 * reads from a pooled buffer of cryptographic randomness, refilled 4 KiB at a time.
 */
function pooledPrng(): () => number {
  let pool = randomBytes(4096);
  let offset = 0;
  return () => {
    if (offset + 4 > pool.length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    const value = pool.readUInt32BE(offset) / 0x1_0000_0000;
    offset += 4;
    return value;
  };
}

const next = monotonicFactory(pooledPrng());

export type IdPrefix = 'cnn' | 'app' | 'aud' | 'key' | 'run' | 'hev' | 'itk' | 'whk' | 'evt' | 'dlv' | 'blk';

/** A type-prefixed ULID: sortable by creation time, so `id DESC` is newest first. */
export function newId(prefix: IdPrefix, at: Date = new Date()): string {
  return `${prefix}_${next(at.getTime())}`;
}

const ID_PATTERN = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/;

export function isWellFormedId(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && ID_PATTERN.test(id);
}

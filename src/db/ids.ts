import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

export type IdPrefix = 'cnn' | 'app' | 'aud' | 'key' | 'run' | 'hev';

/** A type-prefixed ULID: sortable by creation time, so `id DESC` is newest first. */
export function newId(prefix: IdPrefix, at: Date = new Date()): string {
  return `${prefix}_${next(at.getTime())}`;
}

const ID_PATTERN = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/;

export function isWellFormedId(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && ID_PATTERN.test(id);
}

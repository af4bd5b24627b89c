/** Input rules shared by create and update; every failure is BAD_USER_INPUT naming the field. */
import { AppError } from '../../errors/app-error.js';

export const LIMITS = {
  name: 200,
  tag: 64,
  tags: 32,
  id: 200,
  reason: 1000,
  search: 200,
} as const;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const TAG = /^[\p{L}\p{N}_.:/@-]+$/u;

export function cleanName(value: unknown, path = 'name'): string {
  if (typeof value !== 'string') throw AppError.badInput(`${path} must be a string`, [{ path, message: 'must be a string' }]);
  const name = value.trim();
  if (!name) throw AppError.badInput(`${path} must not be empty`, [{ path, message: 'must not be empty' }]);
  if (name.length > LIMITS.name) {
    throw AppError.badInput(`${path} is ${name.length} characters long; the limit is ${LIMITS.name}`, [
      { path, message: `must be at most ${LIMITS.name} characters` },
    ]);
  }
  if (CONTROL.test(name)) throw AppError.badInput(`${path} must not contain control characters`, [{ path, message: 'must not contain control characters' }]);
  return name;
}

export function cleanTags(value: string[] | null | undefined): string[] {
  if (value == null) return [];
  if (value.length > LIMITS.tags) {
    throw AppError.badInput(`at most ${LIMITS.tags} tags are allowed, got ${value.length}`, [{ path: 'tags', message: `at most ${LIMITS.tags}` }]);
  }
  const tags = [...new Set(value.map((t) => t.trim()))];
  tags.forEach((tag, i) => {
    if (!tag || tag.length > LIMITS.tag || !TAG.test(tag)) {
      throw AppError.badInput(`tag "${tag.slice(0, LIMITS.tag)}" must be 1–${LIMITS.tag} letters, digits or _ . : / @ -`, [
        { path: `tags.${i}`, message: `must be 1–${LIMITS.tag} letters, digits or _ . : / @ -` },
      ]);
    }
  });
  return tags;
}

export function cleanEventTypes(value: string[] | null | undefined, allowed: string[], provider: string): string[] {
  if (value == null) return [...allowed];
  const types = [...new Set(value)];
  const unknown = types.filter((t) => !allowed.includes(t));
  if (unknown.length) {
    throw AppError.badInput(`eventTypes ${unknown.map((t) => `"${t.slice(0, 64)}"`).join(', ')} are not provided by ${provider} (it provides ${allowed.join(', ')})`, [
      { path: 'eventTypes', message: `must be among ${allowed.join(', ')}` },
    ]);
  }
  return types;
}

/** An optional short identifier (group, user, webhook endpoint). */
export function cleanId(value: string | null | undefined, path: string): string | null {
  if (value == null) return null;
  const id = value.trim();
  if (!id || id.length > LIMITS.id || CONTROL.test(id)) {
    throw AppError.badInput(`${path} must be 1–${LIMITS.id} printable characters`, [{ path, message: `must be 1–${LIMITS.id} printable characters` }]);
  }
  return id;
}

export function cleanReason(value: string | null | undefined): string | null {
  if (value == null) return null;
  const reason = value.trim();
  if (reason.length > LIMITS.reason) {
    throw AppError.badInput(`reason is ${reason.length} characters long; the limit is ${LIMITS.reason}`, [{ path: 'reason', message: `at most ${LIMITS.reason} characters` }]);
  }
  return reason || null;
}

const SOURCE = /^[a-z0-9_.-]{1,64}$/;
/** The provenance tag a connector is created with when the client gives none. */
export const DEFAULT_SOURCE = 'edm';

/** `source`: a short provenance tag, 1–64 of a-z 0-9 _ . - (no trimming, no case folding). */
export function cleanSource(value: string | null | undefined): string | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'string' || !SOURCE.test(value)) {
    throw AppError.badInput('source must be 1–64 characters of a-z, 0-9, _ . -', [{ path: 'source', message: 'must be 1–64 characters of a-z, 0-9, _ . -' }]);
  }
  return value;
}

/** A reason that must be given (bulk toggles, snoozes): 1–1000 characters after trimming. */
export function requireReason(value: string | null | undefined, path = 'reason'): string {
  const reason = cleanReason(value);
  if (!reason) throw AppError.badInput(`${path} is required`, [{ path, message: 'must not be empty' }]);
  return reason;
}

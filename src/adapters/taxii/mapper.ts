/**
 * STIX 2.1 objects → normalized records.
 *
 * - `indicator` → an `indicator` record: `type`/`value` from its pattern ({@link indicatorOf}: one
 *   `=` comparison on ipv4-addr/ipv6-addr (a /32 or /128 is the address, other prefixes `cidr`),
 *   domain-name, url, email-addr or a file hash MD5/SHA-1/SHA-256/SHA-512; anything else the whole
 *   pattern as type `pattern`; a pattern that does not parse likewise, with `patternError`; a
 *   `pattern_type` other than `stix` (snort, yara, sigma...) is that type with the pattern as value).
 *   `firstSeen` is `valid_from`; also `validFrom`, `validUntil`, `confidence` (0–100), `labels`,
 *   `killChainPhases`, `indicatorTypes`, `revoked`, `name`, `description`, `pattern`, `created`,
 *   `modified`, `createdByRef`.
 * - Every other object (SDOs such as malware, threat-actor, vulnerability; SROs relationship and
 *   sighting; SCOs; marking definitions) → a `record` record: the STIX object as it is, plus `kind`.
 * - Every record carries `stixId`, `stixType` and `stixVersion` (`modified`, else `created`, as a
 *   fixed-width UTC timestamp in nanoseconds, so versions order as text). The adapter's batches
 *   make `stixId` the dedup key and `stixVersion` the version: a newer version of an object (a
 *   revocation included) replaces its record instead of adding one.
 */
import type { IndicatorRecord, NormalizedRecord } from '../records.js';
import { normalizeTimestamp, versionKey } from './config.js';
import { indicatorOf, parseStixPattern } from './pattern.js';

export type StixObject = Record<string, unknown> & { type: string; id: string };

const STIX_ID = /^[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}$/;

/** Whether a value is a STIX object this mapper can identify (a type and an id). */
export function isStixObject(value: unknown): value is StixObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  return typeof o.type === 'string' && typeof o.id === 'string' && STIX_ID.test(o.id) && o.id.startsWith(`${o.type}--`);
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export interface StixIndicatorRecord extends IndicatorRecord {
  stixId: string;
  stixType: 'indicator';
  stixVersion: string | null;
}

function indicatorRecord(o: StixObject): StixIndicatorRecord {
  const pattern = typeof o.pattern === 'string' ? o.pattern : '';
  const patternType = str(o.pattern_type) ?? 'stix';
  let type = 'pattern';
  let value = pattern;
  let patternError: string | undefined;
  if (patternType === 'stix') {
    const parsed = parseStixPattern(pattern);
    if (parsed.ok) ({ type, value } = indicatorOf(parsed.ast, pattern));
    else patternError = parsed.error;
  } else type = patternType;
  const validFrom = normalizeTimestamp(o.valid_from);
  const confidence = typeof o.confidence === 'number' && Number.isInteger(o.confidence) && o.confidence >= 0 && o.confidence <= 100 ? o.confidence : null;
  const record: StixIndicatorRecord = {
    kind: 'indicator',
    type,
    value,
    firstSeen: validFrom,
    confidence,
    labels: strings(o.labels),
    stixId: o.id,
    stixType: 'indicator',
    stixVersion: versionKey(o.modified) ?? versionKey(o.created),
    name: str(o.name),
    description: str(o.description),
    indicatorTypes: strings(o.indicator_types),
    pattern,
    patternType,
    patternVersion: str(o.pattern_version),
    validFrom,
    validUntil: normalizeTimestamp(o.valid_until),
    killChainPhases: (Array.isArray(o.kill_chain_phases) ? o.kill_chain_phases : [])
      .filter((p): p is Record<string, unknown> => p !== null && typeof p === 'object')
      .map((p) => ({ killChainName: str(p.kill_chain_name), phaseName: str(p.phase_name) })),
    revoked: o.revoked === true,
    created: normalizeTimestamp(o.created),
    modified: normalizeTimestamp(o.modified),
    createdByRef: str(o.created_by_ref),
    specVersion: str(o.spec_version),
  };
  if (patternError) record.patternError = patternError;
  return record;
}

/** One STIX object as a normalized record (see the module comment). */
export function stixToRecord(o: StixObject): NormalizedRecord {
  if (o.type === 'indicator') return indicatorRecord(o);
  return { ...o, kind: 'record', stixId: o.id, stixType: o.type, stixVersion: versionKey(o.modified) ?? versionKey(o.created) };
}

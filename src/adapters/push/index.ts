/**
 * Push providers: sources that send to us (syslog, Splunk HEC, `/intake/<connectorId>`) instead of
 * being polled. Each decodes one received message into a normalized record; nothing here touches
 * the network or the database. Routing a syslog message to a connector uses the config's
 * `senders` (IPs or CIDRs), and `hostname` / `appName` when set.
 */
import ipaddr from 'ipaddr.js';
import { KIND_DEFAULTS } from '../declarative/mapping.js';
import { parseLine, type LineFormat } from '../formats/index.js';
import { OPERATIONAL_PROPERTIES } from '../operations.js';
import type { EventRecord, NormalizedRecord } from '../records.js';
import type {
  Adapter,
  AdapterSpec,
  CheckResult,
  ConnectorConfig,
  ConnectorType,
  DecodeResult,
  JsonSchema,
  PushMessage,
  RecordBatch,
} from '../spi.js';
import { TEST_STEP_NAMES } from '../spi.js';

/** Push connectors' settings, beside the operational ones every provider has. */
function pushConfigSchema(title: string, extra: Record<string, JsonSchema> = {}): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title,
    type: 'object',
    additionalProperties: false,
    properties: {
      senders: {
        type: 'array',
        maxItems: 100,
        uniqueItems: true,
        default: [],
        items: { type: 'string', minLength: 1, maxLength: 64 },
        description:
          'Addresses allowed to send by syslog: IPs or CIDRs (e.g. 192.0.2.10, 10.20.0.0/16). A syslog message is routed to this connector when it comes from one of them (and matches hostname / appName when set). HTTP intake is routed by token instead.',
      },
      hostname: { type: 'string', minLength: 1, maxLength: 255, description: 'Only syslog messages whose HOSTNAME is this (case-insensitive).' },
      appName: { type: 'string', minLength: 1, maxLength: 48, description: 'Only syslog messages whose APP-NAME (RFC 3164 tag) is this.' },
      healthCheckIntervalSec: { type: 'integer', minimum: 1, maximum: 86400, default: 300, description: 'Seconds between health evaluations.' },
      failureThreshold: { type: 'integer', minimum: 1, maximum: 100, default: 3, description: 'Consecutive bad evaluations before the connector is FAILING.' },
      degradedLatencyMs: { type: 'integer', minimum: 1, maximum: 120000, default: 5000, description: 'Unused by push connectors; kept for a uniform config.' },
      ...OPERATIONAL_PROPERTIES,
      ...extra,
    },
  };
}

/** The config rules a schema cannot say: every sender is an IP or a CIDR. */
function senderProblems(config: ConnectorConfig): Array<{ path: string; message: string }> {
  const senders = Array.isArray(config.senders) ? config.senders : [];
  const problems: Array<{ path: string; message: string }> = [];
  senders.forEach((s, i) => {
    if (typeof s !== 'string' || !parseSender(s)) problems.push({ path: `senders.${i}`, message: 'must be an IP address or a CIDR (e.g. 10.0.0.0/8)' });
  });
  return problems;
}

function parseSender(value: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | null {
  try {
    if (value.includes('/')) return ipaddr.parseCIDR(value);
    const ip = ipaddr.parse(value);
    return [ip, ip.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

/**
 * The longest of the config's sender prefixes that contains `address`, an IPv4 prefix counted as
 * its IPv4-mapped IPv6 length so the two compare; -1 when no sender contains it. A sender that is
 * not an IP or CIDR (refused at create; an old row) matches nothing.
 */
export function senderPrefix(config: ConnectorConfig, address: string): number {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.process(address);
  } catch {
    return -1;
  }
  let best = -1;
  for (const s of Array.isArray(config.senders) ? config.senders : []) {
    const range = typeof s === 'string' ? parseSender(s) : null;
    if (!range) continue;
    const [net, bits] = range;
    const candidate = net.kind() === 'ipv4' && ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
    if (candidate.kind() !== net.kind() || !candidate.match([net, bits] as never)) continue;
    best = Math.max(best, net.kind() === 'ipv4' ? bits + 96 : bits);
  }
  return best;
}

/** Whether a syslog message from `address` (with its header's hostname and app-name) belongs to this config. */
export function matchesSender(config: ConnectorConfig, address: string, hostname: string | null, appName: string | null): boolean {
  if (senderPrefix(config, address) < 0) return false;
  if (typeof config.hostname === 'string' && (hostname ?? '').toLowerCase() !== config.hostname.toLowerCase()) return false;
  if (typeof config.appName === 'string' && appName !== config.appName) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Decoders

function fromLine(format: LineFormat, message: PushMessage): DecodeResult {
  const text = message.text ?? (message.json ? JSON.stringify(message.json) : '');
  const parsed = parseLine(format, text, { now: message.receivedAt });
  if (!parsed.ok) return { ok: false, error: parsed.error };
  const record = parsed.record;
  if (!record.timestamp && message.timestamp) record.timestamp = message.timestamp;
  return { ok: true, record };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);

function jsonOf(message: PushMessage): Record<string, unknown> | string {
  if (message.json) return message.json;
  const text = (message.text ?? '').trim();
  if (!text.startsWith('{')) return 'expected a JSON object';
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : 'expected a JSON object';
  } catch {
    return 'not valid JSON';
  }
}

function isoOf(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000).toISOString();
  if (typeof value !== 'string') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function event(fields: Partial<EventRecord> & { format: string }, raw: Record<string, unknown>): EventRecord {
  return { ...KIND_DEFAULTS.event(), kind: 'event', ...fields, raw } as EventRecord;
}

/** Suricata's alert severity is 1 (high) to 4 (informational); events are 0–10. */
const SURICATA_SEVERITY: Record<number, number> = { 1: 8, 2: 5, 3: 3, 4: 1 };

/** Suricata EVE JSON (https://docs.suricata.io/en/latest/output/eve/eve-json-format.html). */
function decodeSuricata(message: PushMessage): DecodeResult {
  const eve = jsonOf(message);
  if (typeof eve === 'string') return { ok: false, error: `Suricata EVE: ${eve}` };
  const type = str(eve.event_type);
  if (!type) return { ok: false, error: 'Suricata EVE: missing event_type' };
  const alert = (eve.alert && typeof eve.alert === 'object' ? eve.alert : {}) as Record<string, unknown>;
  const severity = int(alert.severity);
  return {
    ok: true,
    record: event(
      {
        format: 'SURICATA_EVE',
        vendor: 'OISF',
        product: 'Suricata',
        eventId: type === 'alert' ? str(alert.signature_id) : str(eve.flow_id),
        name: type === 'alert' ? (str(alert.signature) ?? 'alert') : type,
        severity: type === 'alert' ? (severity !== null ? (SURICATA_SEVERITY[severity] ?? null) : null) : null,
        timestamp: isoOf(eve.timestamp) ?? message.timestamp,
        src: str(eve.src_ip),
        dst: str(eve.dest_ip),
        srcPort: int(eve.src_port),
        dstPort: int(eve.dest_port),
        extensions: Object.fromEntries(
          [
            ['eventType', type],
            ['proto', str(eve.proto)],
            ['appProto', str(eve.app_proto)],
            ['category', str(alert.category)],
            ['action', str(alert.action)],
            ['communityId', str(eve.community_id)],
          ].filter((e): e is [string, string] => e[1] !== null),
        ),
      },
      eve,
    ),
  };
}

/** Zeek logs as JSON (LogAscii::use_json=T): one object per line; `_path` names the log when present. */
function decodeZeek(message: PushMessage): DecodeResult {
  const log = jsonOf(message);
  if (typeof log === 'string') return { ok: false, error: `Zeek JSON: ${log}` };
  const path = str(log._path) ?? (log.note !== undefined ? 'notice' : log.query !== undefined ? 'dns' : log.method !== undefined ? 'http' : 'conn');
  const notice = path === 'notice';
  return {
    ok: true,
    record: event(
      {
        format: 'ZEEK_JSON',
        vendor: 'Zeek',
        product: 'Zeek',
        eventId: str(log.uid) ?? str(log.fuid),
        name: notice ? (str(log.note) ?? 'notice') : path,
        severity: notice ? 5 : null,
        timestamp: isoOf(log.ts) ?? message.timestamp,
        src: str(log['id.orig_h']),
        dst: str(log['id.resp_h']),
        srcPort: int(log['id.orig_p']),
        dstPort: int(log['id.resp_p']),
        extensions: Object.fromEntries(
          [
            ['log', path],
            ['msg', str(log.msg)],
            ['proto', str(log.proto)],
            ['service', str(log.service)],
            ['query', str(log.query)],
            ['host', str(log.host)],
            ['uri', str(log.uri)],
          ].filter((e): e is [string, string] => e[1] !== null),
        ),
      },
      log,
    ),
  };
}

/** Generic push: CEF or LEEF lines are parsed as such; JSON objects are kept as RECORDs; other text becomes `{ message }`. */
function decodeAny(message: PushMessage): DecodeResult {
  const text = message.text?.trim() ?? '';
  if (!message.json && /(^|\s)(CEF:\d|LEEF:\d)/.test(text)) return fromLine(text.includes('LEEF:') && !text.includes('CEF:') ? 'LEEF' : 'CEF', message);
  const json = jsonOf(message);
  const record: NormalizedRecord =
    typeof json === 'string'
      ? { kind: 'record', message: text, host: message.hostname, source: message.appName, timestamp: message.timestamp }
      : (() => {
          const { kind, ...rest } = json;
          return { ...rest, kind: 'record' as const, ...(kind !== undefined ? { upstreamKind: kind } : {}) };
        })();
  return { ok: true, record };
}

// ---------------------------------------------------------------------------------------------
// The providers

interface PushDefinition {
  id: string;
  type: ConnectorType;
  name: string;
  description: string;
  documentationUrl: string;
  recordKinds: string[];
  decode: (message: PushMessage) => DecodeResult;
}

const NOT_POLLED: CheckResult = {
  success: false,
  latencyMs: 0,
  steps: TEST_STEP_NAMES.map((name) => ({ name, passed: false, latencyMs: null, message: 'not run: a push connector is tested by what it receives', errorCode: null, retryable: null, remediation: null })),
  sample: [],
  message: 'A push connector is tested by the messages it receives',
};

function pushAdapter(def: PushDefinition): Adapter {
  const spec: AdapterSpec = {
    id: def.id,
    type: def.type,
    name: def.name,
    description: def.description,
    documentationUrl: def.documentationUrl,
    recordKinds: def.recordKinds,
    mode: 'push',
    authTypes: ['NONE'],
    configSchema: pushConfigSchema(def.name),
    credentialsSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', additionalProperties: false, properties: {} },
    requiredCredentials: { NONE: [] },
    eventTypes: [def.id],
    configProblems: senderProblems,
  };
  return {
    spec,
    // The service tests a push connector from its intake (connector-test.service.ts); nothing to contact.
    check: async () => NOT_POLLED,
    // Nothing to poll: records arrive through the intake.
    async *read(): AsyncGenerator<RecordBatch> {},
    decode: (message) => {
      try {
        return def.decode(message);
      } catch (e) {
        return { ok: false, error: `could not decode the message: ${(e as Error).message}` };
      }
    },
  };
}

export const PUSH_ADAPTERS: readonly Adapter[] = [
  pushAdapter({
    id: 'syslog_cef',
    type: 'SIEM',
    name: 'Syslog CEF (ArcSight-style)',
    description: 'CEF events sent by syslog (UDP, TCP, TLS) or to the HTTP event collector, e.g. by ArcSight connectors, firewalls and proxies.',
    documentationUrl: 'https://www.microfocus.com/documentation/arcsight/arcsight-smartconnectors-8.4/pdfdoc/cef-implementation-standard/cef-implementation-standard.pdf',
    recordKinds: ['event'],
    decode: (m) => fromLine('CEF', m),
  }),
  pushAdapter({
    id: 'syslog_leef',
    type: 'SIEM',
    name: 'Syslog LEEF (QRadar-style)',
    description: 'LEEF 1.0 and 2.0 events sent by syslog or to the HTTP event collector, as QRadar DSMs and many appliances emit them.',
    documentationUrl: 'https://www.ibm.com/docs/en/dsm?topic=leef-overview',
    recordKinds: ['event'],
    decode: (m) => fromLine('LEEF', m),
  }),
  pushAdapter({
    id: 'suricata_eve',
    type: 'NETWORK',
    name: 'Suricata EVE JSON',
    description: 'Suricata EVE JSON (alerts, flows, protocol events) sent by syslog or to the HTTP event collector.',
    documentationUrl: 'https://docs.suricata.io/en/latest/output/eve/eve-json-format.html',
    recordKinds: ['event'],
    decode: decodeSuricata,
  }),
  pushAdapter({
    id: 'zeek',
    type: 'NETWORK',
    name: 'Zeek JSON logs',
    description: 'Zeek logs written as JSON (conn, dns, http, notice, ...) sent by syslog or to the HTTP event collector.',
    documentationUrl: 'https://docs.zeek.org/en/master/log-formats.html',
    recordKinds: ['event'],
    decode: decodeZeek,
  }),
  pushAdapter({
    id: 'http_collector',
    type: 'SIEM',
    name: 'HTTP event collector',
    description: 'Anything posted to the Splunk HEC-compatible collector or to /intake/<connectorId>: CEF and LEEF lines, JSON objects (kept as records) and plain text.',
    documentationUrl: 'https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector',
    recordKinds: ['record', 'event'],
    decode: decodeAny,
  }),
];

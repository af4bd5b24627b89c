/**
 * abuse.ch ThreatFox replica (`POST /api/v1/` with `{"query": "get_iocs", "days": N}`), after the
 * vendor's documentation:
 *
 * - ThreatFox API, "Query recent IOCs" and "Obtain an Auth-Key": https://threatfox.abuse.ch/api/
 * - Example scripts (Auth-Key header, POST of a JSON body to /api/v1/): https://github.com/abusech/ThreatFox
 * - Auth-Keys for every abuse.ch platform: https://auth.abuse.ch/ and
 *   https://abuse.ch/blog/community-first (authentication required since 2025)
 *
 * `get_iocs` returns every IOC whose `first_seen` is within the last `days` days (1–7, default 3),
 * newest first, in one answer: `{"query_status": "ok", "data": [...]}`. There is no paging and no
 * finer time filter; `days` outside 1–7 answers `{"query_status": "illegal_days"}`, an empty window
 * `{"query_status": "no_result"}`. The body is read as JSON whatever its content type (the
 * documented curl example sends it without one).
 *
 * Auth: `Auth-Key: <key>` or, with `verifyBearer`, `Authorization: Bearer <access token>`. A missing
 * or unknown key is `401` with `{"query_status": "unknown_auth_key"}`. abuse.ch documents no rate
 * limit (fair use); the injected 429 answers as a plain-text "Too Many Requests".
 */
import { Random, ReplicaServer, appendEachSecond, keyOrBearer, recentInstants, serve } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'abusech_threatfox';

const AUTH_KEY = '7c2e9a41b5d06f38e1a4c7b90d2f5e6a8b1c3d4e5f607182';
const WRONG_KEY = '0123456789abcdef0123456789abcdef0123456789abcdef';

/** One IOC of `data`, shaped like the documented get_iocs answer. */
export interface ThreatFoxIoc {
  id: string;
  ioc: string;
  threat_type: string;
  threat_type_desc: string;
  ioc_type: string;
  ioc_type_desc: string;
  malware: string;
  malware_printable: string;
  malware_alias: string | null;
  malware_malpedia: string;
  confidence_level: number;
  first_seen: string;
  last_seen: string | null;
  reporter: string;
  reference: string | null;
  tags: string[] | null;
}

const THREAT_TYPES: Record<string, string> = {
  botnet_cc: 'Indicator that identifies a botnet command&control server (C&C)',
  payload_delivery: 'Indicator that identifies a malware distribution server (payload delivery)',
  payload: 'Indicator that identifies a malware sample (payload)',
};

const IOC_TYPES: Array<{ ioc_type: string; desc: string; threat: string }> = [
  { ioc_type: 'ip:port', desc: 'ip:port combination that is used for botnet Command&control (C&C)', threat: 'botnet_cc' },
  { ioc_type: 'domain', desc: 'Domain that is used for botnet Command&control (C&C)', threat: 'botnet_cc' },
  { ioc_type: 'url', desc: 'URL that is used for payload delivery', threat: 'payload_delivery' },
  { ioc_type: 'sha256_hash', desc: 'SHA256 hash of a malware sample', threat: 'payload' },
  { ioc_type: 'md5_hash', desc: 'MD5 hash of a malware sample', threat: 'payload' },
  { ioc_type: 'sha1_hash', desc: 'SHA1 hash of a malware sample', threat: 'payload' },
];

const MALWARE = [
  { malware: 'win.cobalt_strike', printable: 'Cobalt Strike', alias: 'Agentemis,BEACON,CobaltStrike,cobeacon' },
  { malware: 'win.agent_tesla', printable: 'Agent Tesla', alias: null },
  { malware: 'elf.mirai', printable: 'Mirai', alias: 'Katana' },
  { malware: 'win.asyncrat', printable: 'AsyncRAT', alias: null },
  { malware: 'win.dridex', printable: 'Dridex', alias: null },
];

const REPORTERS = ['abuse_ch', 'Cryptolaemus1', 'drb_ra', 'skocherhan', 'JAMESWT_MHT'];
const WORDS = ['update', 'secure', 'cdn', 'panel', 'login', 'gate', 'files', 'api', 'static', 'sync'];
const TAGS = ['c2', 'exe', 'CobaltStrike', 'botnet', 'RAT', 'dll', 'ps1', 'TA505'];

/** ThreatFox's time format: `YYYY-MM-DD HH:mm:ss UTC`. */
function tfTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

class Generator extends Random {
  word(): string {
    return this.pick(WORDS);
  }
  ioc(index: number, firstSeenMs: number): ThreatFoxIoc {
    const kind = IOC_TYPES[index % IOC_TYPES.length]!;
    const malware = MALWARE[this.int(MALWARE.length)]!;
    let value: string;
    switch (kind.ioc_type) {
      case 'ip:port':
        value = `198.51.100.${1 + this.int(254)}:${[443, 8080, 2222, 4444, 80][this.int(5)]}`;
        break;
      case 'domain':
        value = `${this.word()}-${this.word()}${index}.example`;
        break;
      case 'url':
        value = `http://${this.word()}${index}.example.org/${this.word()}/${this.hex(6)}.bin`;
        break;
      case 'md5_hash':
        value = this.hex(32);
        break;
      case 'sha1_hash':
        value = this.hex(40);
        break;
      default:
        value = this.hex(64);
    }
    const tags = index % 5 === 2 ? null : [TAGS[this.int(TAGS.length)]!, TAGS[this.int(TAGS.length)]!].filter((t, i, all) => all.indexOf(t) === i);
    return {
      id: String(1_350_000 + index),
      ioc: value,
      threat_type: kind.threat,
      threat_type_desc: THREAT_TYPES[kind.threat]!,
      ioc_type: kind.ioc_type,
      ioc_type_desc: kind.desc,
      malware: malware.malware,
      malware_printable: malware.printable,
      malware_alias: malware.alias,
      malware_malpedia: `https://malpedia.caad.fkie.fraunhofer.de/details/${malware.malware}`,
      confidence_level: [50, 75, 100][this.int(3)]!,
      first_seen: tfTime(firstSeenMs),
      last_seen: index % 3 === 0 ? tfTime(firstSeenMs + 3_600_000) : null,
      reporter: REPORTERS[this.int(REPORTERS.length)]!,
      reference: index % 4 === 0 ? `https://bazaar.abuse.ch/sample/${this.hex(64)}/` : null,
      tags,
    };
  }
}

/** The injected rate-limit answer: abuse.ch documents none, so a bare 429 as a front end sends it. */
export function threatfoxRateLimitResponse(): ReplicaResponse {
  return { status: 429, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Too Many Requests' };
}

function parseTf(value: string): number {
  return Date.parse(value.replace(' UTC', 'Z').replace(' ', 'T'));
}

export async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const server = new ReplicaServer(PROVIDER, threatfoxRateLimitResponse);
  const gen = new Generator(0x7f0c);
  const anchor = Math.floor((options.now ?? Date.now()) / 1000) * 1000;
  // Oldest first, all inside one day (the connector's default window of days = 1).
  const iocs = recentInstants(options.items ?? 25, anchor, 120).map((at, i) => gen.ioc(i, at));
  const authorized = (req: ReplicaRequest) => keyOrBearer(req, req.headers['auth-key'], AUTH_KEY, options.verifyBearer);

  server.route('POST', '/api/v1/', async (req) => {
    if (!(await authorized(req))) return { status: 401, body: { query_status: 'unknown_auth_key' } };
    let body: unknown = req.json;
    if (body === null && req.text) {
      try {
        body = JSON.parse(req.text);
      } catch {
        body = null;
      }
    }
    const query = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    if (query.query !== 'get_iocs') return { status: 200, body: { query_status: 'unknown_query' } };
    const days = query.days === undefined || query.days === null || query.days === '' ? 3 : Number(query.days);
    if (!Number.isInteger(days) || days < 1 || days > 7) return { status: 200, body: { query_status: 'illegal_days' } };
    const since = Date.now() - days * 86_400_000;
    const data = iocs
      .filter((i) => parseTf(i.first_seen) >= since)
      .reverse()
      .map((i) => structuredClone(i));
    if (!data.length) return { status: 200, body: { query_status: 'no_result' } };
    return { status: 200, body: { query_status: 'ok', data } };
  });

  return serve(server, {
    authType: 'API_KEY',
    credentials: { authKey: AUTH_KEY },
    wrongCredentials: { authKey: WRONG_KEY },
    addItems: (n) => appendEachSecond(iocs, n, (i) => parseTf(i.first_seen), anchor - 600_000, (index, at) => gen.ioc(index, at)),
    items: () => iocs.map((i) => structuredClone(i)),
  });
}

/** ThreatFox IOC types as normalized indicator types (an ip:port stays a socket address). */
const TYPES: Record<string, string> = {
  'ip:port': 'ip:port',
  domain: 'domain',
  url: 'url',
  md5_hash: 'md5',
  sha1_hash: 'sha1',
  sha256_hash: 'sha256',
  sha3_384_hash: 'sha3_384',
};

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const i = item as ThreatFoxIoc;
    return {
      kind: 'indicator',
      type: TYPES[i.ioc_type] ?? i.ioc_type,
      value: i.ioc,
      firstSeen: new Date(parseTf(i.first_seen)).toISOString(),
      confidence: i.confidence_level,
      labels: i.tags ?? [],
    };
  },
  authRemediation: /auth\.abuse\.ch/,
  snapshot: 'get_iocs answers with every IOC of the last `days` days at once: ThreatFox has no paging.',
};

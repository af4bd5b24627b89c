/**
 * Parser throughput: parseCef, parseLeef and (as a yardstick) JSON.parse over equivalent lines.
 *
 * Generates N realistic CEF and LEEF lines (deterministic, seeded) plus the same events as JSON
 * lines, runs one warm-up round and then `rounds` timed rounds per parser with
 * process.hrtime.bigint(), prints a table and returns the figures from `runParserBench`.
 *
 * Run it compiled, e.g.:
 *   npx swc bench src/adapters -d /tmp/bench --config-file .swcrc -q \
 *     && echo '{"type":"module"}' > /tmp/bench/package.json \
 *     && node /tmp/bench/bench/parsers.js --lines=20000 --rounds=7
 */
import { pathToFileURL } from 'node:url';
import { formatCef, formatLeef, parseCef, parseLeef } from '../src/adapters/formats/index.js';

export interface ParserBenchOptions {
  /** Lines per format (default 20,000). */
  lines?: number;
  /** Timed rounds per parser, after one warm-up round (default 5). */
  rounds?: number;
  /** PRNG seed for the generated lines (default 42). */
  seed?: number;
  /** Print the table (default true). */
  print?: boolean;
  /** Where the table goes (default console.log). */
  log?: (line: string) => void;
}

export interface ParserBenchFigure {
  parser: 'parseCef' | 'parseLeef' | 'JSON.parse';
  lines: number;
  rounds: number;
  avgLineBytes: number;
  /** Median over the timed rounds. */
  linesPerSecond: number;
  bestLinesPerSecond: number;
  worstLinesPerSecond: number;
  /** Median throughput in MB/s (10^6 bytes of UTF-8 input). */
  megabytesPerSecond: number;
}

export interface ParserBenchResult {
  node: string;
  lines: number;
  rounds: number;
  figures: ParserBenchFigure[];
}

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VENDORS: Array<[string, string, string]> = [
  ['Palo Alto Networks', 'PAN-OS', '10.2.4'],
  ['Fortinet', 'FortiGate', '7.4.1'],
  ['Check Point', 'VPN-1 & FireWall-1', 'R81.20'],
  ['Trend Micro', 'Deep Security Agent', '20.0.877'],
  ['Microsoft', 'Windows', '10.0.19045'],
  ['Cisco', 'ASA', '9.18'],
];
const NAMES = ['Port scan', 'Malware detected', 'Login failed', 'Policy violation|deny', 'Outbound C2 beacon', 'Privilege escalation'];
const ACTIONS = ['blocked', 'allowed', 'alerted', 'quarantined', 'reset-both'];
const USERS = ['alice', 'bob', 'CORP\\carol', 'dave@example.com', 'svc_backup', 'eve'];
const CATEGORIES = ['/Attack/Recon', '/Malware', '/Authentication/Failure', '/Policy', '/C2'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface BenchEvent {
  vendor: string;
  product: string;
  productVersion: string;
  eventId: string;
  name: string;
  severity: number;
  timestamp: string;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  user: string;
  category: string;
  extensions: Record<string, string>;
}

function generateEvents(n: number, seed: number): BenchEvent[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const ip = () => `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
  const base = Date.UTC(2024, 5, 15, 0, 0, 0);
  const events: BenchEvent[] = [];
  for (let i = 0; i < n; i++) {
    const [vendor, product, productVersion] = pick(VENDORS);
    const extensions: Record<string, string> = {
      act: pick(ACTIONS),
      proto: pick(['TCP', 'UDP', 'ICMP']),
      app: pick(['ssl', 'web-browsing', 'dns', 'smb', 'ssh']),
      cs1Label: 'policy',
      cs1: `Rule ${int(1, 400)} - ${pick(['Block all', 'Allow DNS', 'Inspect TLS'])}`,
      msg: `${pick(NAMES)} from host ${int(1, 99)} (attempt ${int(1, 9)}); ratio=${int(1, 100)}%`,
      request: `https://app${int(1, 9)}.example.com/api/v1/items?id=${int(1, 99999)}&sort=desc`,
      deviceExternalId: `fw-${int(1, 64)}`,
      cnt: String(int(1, 500)),
    };
    if (rnd() < 0.2) extensions['filePath'] = `C:\\Users\\${pick(USERS).replace(/\W/g, '')}\\AppData\\Local\\Temp\\x${int(1, 999)}.exe`;
    events.push({
      vendor,
      product,
      productVersion,
      eventId: String(int(100, 99999)),
      name: pick(NAMES),
      severity: int(0, 10),
      timestamp: new Date(base + int(0, 86_399_000)).toISOString(),
      src: ip(),
      dst: ip(),
      srcPort: int(1024, 65535),
      dstPort: pick([22, 53, 80, 443, 445, 3389, 8080]),
      user: pick(USERS),
      category: pick(CATEGORIES),
      extensions,
    });
  }
  return events;
}

function syslog3164(iso: string, host: string): string {
  const d = new Date(iso);
  const p2 = (x: number) => String(x).padStart(2, '0');
  return `<134>${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${host} `;
}

/** The generated inputs: the same events as CEF, LEEF and JSON lines. */
export function generateBenchLines(n: number, seed = 42): { cef: string[]; leef: string[]; json: string[] } {
  const events = generateEvents(n, seed);
  const cef: string[] = [];
  const leef: string[] = [];
  const json: string[] = [];
  events.forEach((e, i) => {
    const prefix = i % 2 === 0 ? syslog3164(e.timestamp, e.extensions['deviceExternalId']!) : '';
    cef.push(prefix + formatCef(e));
    const { timestamp, ...rest } = e;
    const d = new Date(timestamp);
    const devTime = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, '0')} ${d.getUTCFullYear()} ${d.toISOString().slice(11, 19)}`;
    leef.push(
      prefix +
        formatLeef({
          ...rest,
          version: i % 3 === 0 ? '1.0' : '2.0',
          delimiter: i % 3 === 1 ? '^' : undefined,
          extensions: { ...rest.extensions, devTime, devTimeFormat: 'MMM dd yyyy HH:mm:ss' },
        }),
    );
    json.push(JSON.stringify({ kind: 'event', format: 'JSON', ...e }));
  });
  return { cef, leef, json };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function measure(
  parser: ParserBenchFigure['parser'],
  lines: string[],
  rounds: number,
  parse: (line: string) => unknown,
  accept: (result: unknown) => boolean,
): ParserBenchFigure {
  const bytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l), 0);
  // Warm-up round, which also checks that every line parses.
  let accepted = 0;
  for (const l of lines) if (accept(parse(l))) accepted++;
  if (accepted !== lines.length) throw new Error(`${parser}: ${lines.length - accepted} of ${lines.length} generated lines did not parse`);
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < lines.length; i++) if (accept(parse(lines[i]!))) sink++;
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push(lines.length / (ns / 1e9));
  }
  if (sink !== rounds * lines.length) throw new Error(`${parser}: results changed between rounds`);
  const linesPerSecond = median(rates);
  const avgLineBytes = bytes / lines.length;
  return {
    parser,
    lines: lines.length,
    rounds,
    avgLineBytes: Math.round(avgLineBytes),
    linesPerSecond: Math.round(linesPerSecond),
    bestLinesPerSecond: Math.round(Math.max(...rates)),
    worstLinesPerSecond: Math.round(Math.min(...rates)),
    megabytesPerSecond: Math.round(((linesPerSecond * avgLineBytes) / 1e6) * 10) / 10,
  };
}

function table(figures: ParserBenchFigure[]): string[] {
  const head = ['parser', 'lines', 'rounds', 'avg bytes', 'lines/s (median)', 'best', 'worst', 'MB/s'];
  const rows = figures.map((f) => [
    f.parser,
    f.lines.toLocaleString('en-US'),
    String(f.rounds),
    String(f.avgLineBytes),
    f.linesPerSecond.toLocaleString('en-US'),
    f.bestLinesPerSecond.toLocaleString('en-US'),
    f.worstLinesPerSecond.toLocaleString('en-US'),
    f.megabytesPerSecond.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}

export function runParserBench(options: ParserBenchOptions = {}): ParserBenchResult {
  const n = options.lines ?? 20_000;
  const rounds = options.rounds ?? 5;
  if (!Number.isInteger(n) || n < 1) throw new RangeError('lines must be a positive integer');
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError('rounds must be a positive integer');
  const { cef, leef, json } = generateBenchLines(n, options.seed ?? 42);
  // A fixed reference time keeps year inference out of the measurement's variance.
  const now = new Date('2024-06-16T00:00:00Z');
  const isOk = (r: unknown) => (r as { ok: boolean }).ok;
  const figures = [
    measure('parseCef', cef, rounds, (l) => parseCef(l, { now }), isOk),
    measure('parseLeef', leef, rounds, (l) => parseLeef(l, { now }), isOk),
    measure('JSON.parse', json, rounds, (l) => JSON.parse(l), (r) => typeof r === 'object' && r !== null),
  ];
  if (options.print ?? true) {
    const log = options.log ?? ((line: string) => console.log(line));
    log(`parser bench: ${n.toLocaleString('en-US')} lines per format, ${rounds} timed rounds, node ${process.version}`);
    for (const line of table(figures)) log(line);
  }
  return { node: process.version, lines: n, rounds, figures };
}

function argValue(name: string): number | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? undefined : Number(arg.slice(name.length + 3));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runParserBench({ lines: argValue('lines'), rounds: argValue('rounds'), seed: argValue('seed') });
}

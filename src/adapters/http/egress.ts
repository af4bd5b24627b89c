/**
 * Egress guard: keeps connector traffic away from the service's own network (SSRF).
 *
 * A destination is judged by the IP address the socket would connect to, never by the spelling
 * of the URL: host names are judged after DNS resolution (see {@link createGuardedLookup}), IP
 * literals before the request is made (see {@link assertUrlAllowed}), and both again on every
 * redirect. A refused destination never gets a socket.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { ConnectorError } from '../../errors/connector-error.js';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;
type Address = IPv4 | IPv6;

/** Why an address was judged the way it was. */
export interface AddressVerdict {
  allowed: boolean;
  /** ipaddr.js range name (`unicast`, `loopback`, `private`, ...), `metadata` or `invalid`. */
  range: string;
  /** True when only the allow list let the address through. */
  viaAllowList: boolean;
}

export interface EgressPolicy {
  /** The allow list as given (for diagnostics; contains no secrets). */
  readonly allow: readonly string[];
  /** Whether a connection to `ip` may be opened (the host name, when known, may be allow-listed). */
  isAddressAllowed(ip: string, hostname?: string): boolean;
  /** The same judgement with its reason. */
  classify(ip: string, hostname?: string): AddressVerdict;
  /** Whether a host name is allow-listed by name (exact or `*.suffix`). */
  isHostAllowListed(hostname: string): boolean;
}

/**
 * Cloud instance-metadata endpoints. They are refused even when a broader allow-list entry covers
 * them (e.g. `169.254.0.0/16` or a host name): only an entry naming exactly that address opens them.
 */
const METADATA_ADDRESSES = new Set(
  [
    '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean
    '169.254.170.2', // AWS ECS task metadata
    '168.63.129.16', // Azure wire server (public range, platform-internal)
    '100.100.100.200', // Alibaba Cloud
    '192.0.0.192', // Oracle Cloud (classic)
    'fd00:ec2::254', // AWS IMDS over IPv6
  ].map((a) => ipaddr.parse(a).toNormalizedString()),
);

/** IPv6 ranges whose last 32 bits are an IPv4 address that is the real destination. */
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

const HOSTNAME_RE = /^(\*\.)?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

interface AllowList {
  cidrs: [Address, number][];
  /** Exact single addresses (normalized), the only entries that can open a metadata address. */
  exact: Set<string>;
  hosts: Set<string>;
  suffixes: string[];
}

/** Splits the `EGRESS_ALLOW` environment value (commas and/or whitespace) into entries. */
export function parseEgressAllow(value: string | undefined | null): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function normalizeHost(hostname: string): string {
  let h = hostname.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function parseAllowList(entries: string[]): AllowList {
  const list: AllowList = { cidrs: [], exact: new Set(), hosts: new Set(), suffixes: [] };
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry.includes('/')) {
      let cidr: [Address, number];
      try {
        cidr = ipaddr.parseCIDR(entry);
      } catch {
        throw new TypeError(`EGRESS_ALLOW: "${entry}" is not a valid CIDR`);
      }
      list.cidrs.push(cidr);
      const full = cidr[0].kind() === 'ipv4' ? 32 : 128;
      if (cidr[1] === full) list.exact.add(cidr[0].toNormalizedString());
      continue;
    }
    const bare = normalizeHost(entry);
    if (ipaddr.isValid(bare) && net.isIP(bare.split('%')[0]!) !== 0) {
      const addr = ipaddr.parse(bare);
      list.cidrs.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
      list.exact.add(addr.toNormalizedString());
      continue;
    }
    if (!HOSTNAME_RE.test(bare)) throw new TypeError(`EGRESS_ALLOW: "${entry}" is neither an IP, a CIDR nor a host name`);
    if (bare.startsWith('*.')) list.suffixes.push(bare.slice(1));
    else list.hosts.add(bare);
  }
  return list;
}

function parseAddress(ip: string): Address | null {
  const bare = normalizeHost(ip);
  // ipaddr.isValid also accepts legacy spellings such as "0x7f.1"; the network stack only sees
  // canonical literals (WHATWG URL and dns.lookup normalise them), so those are judged the same.
  if (!ipaddr.isValid(bare)) return null;
  try {
    return ipaddr.parse(bare);
  } catch {
    return null;
  }
}

/** The IPv4 address a v6 address really reaches, when it is one of the embedding forms. */
function embeddedIPv4(addr: IPv6): IPv4 | null {
  if (addr.isIPv4MappedAddress()) return addr.toIPv4Address();
  const range = addr.range();
  if (range === 'unspecified' || range === 'loopback') return null;
  const bytes = addr.toByteArray();
  const last32 = (): IPv4 => new ipaddr.IPv4(bytes.slice(12, 16));
  if (addr.match(IPV4_COMPATIBLE)) return last32();
  if (addr.match(NAT64_WELL_KNOWN)) return last32();
  // 6to4 (2002:AABB:CCDD::/48) tunnels to the IPv4 address in bits 16-48.
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6));
  return null;
}

/**
 * Builds a policy from allow-list entries (CIDRs, single IPs, host names or `*.suffix`). Throws a
 * TypeError for an entry it cannot parse, so a bad `EGRESS_ALLOW` fails at startup.
 *
 * Refused unless allow-listed: every IPv4 range other than `unicast` in ipaddr.js (loopback,
 * RFC 1918, link-local, CGNAT, multicast, 0.0.0.0/8, broadcast, the reserved, documentation and
 * benchmarking blocks, AS112, AMT), every IPv6 range other than `unicast` (loopback, ULA
 * fc00::/7, link-local, site-local, multicast, documentation, Teredo, ORCHID, discard, NAT64
 * local-use, ...); IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 addresses are
 * judged by the IPv4 address they embed. Cloud metadata addresses need an exact entry.
 */
export function createEgressPolicy(allow: string[] = []): EgressPolicy {
  const list = parseAllowList(allow);

  const inList = (addr: Address): boolean =>
    list.cidrs.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));

  const isHostAllowListed = (hostname: string): boolean => {
    const h = normalizeHost(hostname);
    if (list.hosts.has(h)) return true;
    return list.suffixes.some((suffix) => h.endsWith(suffix) && h.length > suffix.length);
  };

  const classify = (ip: string, hostname?: string): AddressVerdict => {
    const addr = parseAddress(ip);
    if (!addr) return { allowed: false, range: 'invalid', viaAllowList: false };
    const v4 = addr.kind() === 'ipv6' ? embeddedIPv4(addr as IPv6) : null;
    const judged: Address = v4 ?? addr;
    const candidates = v4 ? [addr, v4] : [addr];

    if (candidates.some((a) => METADATA_ADDRESSES.has(a.toNormalizedString()))) {
      const exact = candidates.some((a) => list.exact.has(a.toNormalizedString()));
      return { allowed: exact, range: 'metadata', viaAllowList: exact };
    }
    const range = judged.range();
    if (range === 'unicast') return { allowed: true, range, viaAllowList: false };
    const listed = candidates.some(inList) || (hostname !== undefined && isHostAllowListed(hostname));
    return { allowed: listed, range, viaAllowList: listed };
  };

  return {
    allow: Object.freeze([...allow]),
    classify,
    isAddressAllowed: (ip, hostname) => classify(ip, hostname).allowed,
    isHostAllowListed,
  };
}

/** The refusal every guard throws; names the host (never a path, query or credential). */
export function egressDenied(host: string, range: string): ConnectorError {
  const what = range === 'metadata' ? 'a cloud metadata address' : range === 'invalid' ? 'an invalid address' : `a ${range} address`;
  return new ConnectorError(
    'EGRESS_DENIED',
    `Egress to ${host} refused: it resolves to ${what}, which connectors may not reach (allow it with EGRESS_ALLOW if intended)`,
    { retryable: false },
  );
}

/**
 * Checks a URL before any socket exists: the scheme, and the host when it is an IP literal (the
 * network stack does not call `lookup` for literals, so this is the only check they get).
 */
export function assertUrlAllowed(policy: EgressPolicy, url: URL | string): void {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConnectorError('CONFIG_INVALID', `Unsupported URL scheme "${u.protocol.replace(/:$/, '')}": only http and https are allowed`);
  }
  const host = normalizeHost(u.hostname);
  if (net.isIP(host) !== 0) {
    const verdict = policy.classify(host);
    if (!verdict.allowed) throw egressDenied(u.hostname, verdict.range);
  }
}

export type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** The signature of `dns.lookup` as the http/net stack calls it. */
export type LookupFunction = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

const defaultLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => callback(err, addresses));
};

/**
 * A `dns.lookup` replacement for got's `dnsLookup` / an agent's `lookup`: resolves every address
 * of the host and refuses the whole host when any of them is refused, so a name that answers with
 * both a public and a private address cannot be raced into the private one.
 *
 * @param base the resolver to wrap (tests inject one that maps test names to loopback)
 */
export function createGuardedLookup(policy: EgressPolicy, base: LookupFunction = defaultLookup): LookupFunction {
  return (hostname, options, callback) => {
    const opts: LookupOptions = typeof options === 'object' && options !== null ? options : {};
    base(hostname, { ...opts, all: true }, (err, result) => {
      if (err) return callback(err, opts.all ? [] : '');
      const addresses: LookupAddress[] = Array.isArray(result)
        ? result
        : [{ address: result, family: net.isIP(result) || 4 }];
      if (addresses.length === 0) {
        const e: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        e.code = 'ENOTFOUND';
        return callback(e, opts.all ? [] : '');
      }
      for (const { address } of addresses) {
        const verdict = policy.classify(address, hostname);
        if (!verdict.allowed) return callback(egressDenied(hostname, verdict.range), opts.all ? [] : '');
      }
      const wanted = opts.family === 4 || opts.family === 6 ? addresses.filter((a) => a.family === opts.family) : addresses;
      const usable = wanted.length > 0 ? wanted : addresses;
      if (opts.all) callback(null, usable);
      else callback(null, usable[0]!.address, usable[0]!.family);
    });
  };
}

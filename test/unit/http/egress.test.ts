import type { LookupAddress } from 'node:dns';
import { ConnectorError } from '../../../src/errors/connector-error.js';
import {
  assertUrlAllowed,
  createEgressPolicy,
  createGuardedLookup,
  parseEgressAllow,
} from '../../../src/adapters/http/egress.js';
import type { LookupFunction } from '../../../src/adapters/http/egress.js';

describe('egress policy without an allow list', () => {
  const policy = createEgressPolicy([]);

  test.each([
    // IPv4
    ['127.0.0.1', false, 'loopback'],
    ['127.255.255.254', false, 'loopback'],
    ['10.0.0.1', false, 'private'],
    ['172.16.5.4', false, 'private'],
    ['172.31.255.255', false, 'private'],
    ['192.168.1.1', false, 'private'],
    ['169.254.1.1', false, 'linkLocal'],
    ['169.254.169.254', false, 'metadata'],
    ['169.254.170.2', false, 'metadata'],
    ['100.100.100.200', false, 'metadata'],
    ['168.63.129.16', false, 'metadata'],
    ['100.64.0.1', false, 'carrierGradeNat'],
    ['100.127.255.254', false, 'carrierGradeNat'],
    ['0.0.0.0', false, 'unspecified'],
    ['0.1.2.3', false, 'unspecified'],
    ['255.255.255.255', false, 'broadcast'],
    ['224.0.0.1', false, 'multicast'],
    ['239.255.255.250', false, 'multicast'],
    ['192.0.2.1', false, 'reserved'],
    ['198.51.100.7', false, 'reserved'],
    ['203.0.113.9', false, 'reserved'],
    ['198.18.0.1', false, 'reserved'],
    ['240.0.0.1', false, 'reserved'],
    ['192.0.0.8', false, 'reserved'],
    ['8.8.8.8', true, 'unicast'],
    ['1.1.1.1', true, 'unicast'],
    ['172.32.0.1', true, 'unicast'],
    ['100.128.0.1', true, 'unicast'],
    // IPv6
    ['::1', false, 'loopback'],
    ['::', false, 'unspecified'],
    ['fe80::1', false, 'linkLocal'],
    ['fe80::1%eth0', false, 'linkLocal'],
    ['fc00::1', false, 'uniqueLocal'],
    ['fd12:3456::1', false, 'uniqueLocal'],
    ['fd00:ec2::254', false, 'metadata'],
    ['ff02::1', false, 'multicast'],
    ['2001:db8::1', false, 'reserved'],
    ['fec0::1', false, 'deprecatedSiteLocal'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', false, 'teredo'],
    ['64:ff9b:1::a00:1', false, 'rfc6052'],
    ['2606:4700:4700::1111', true, 'unicast'],
    ['2001:4860:4860::8888', true, 'unicast'],
    // IPv6 forms that embed an IPv4 address are judged by it
    ['::ffff:127.0.0.1', false, 'loopback'],
    ['::ffff:7f00:1', false, 'loopback'],
    ['::ffff:10.0.0.1', false, 'private'],
    ['::ffff:169.254.169.254', false, 'metadata'],
    ['::ffff:8.8.8.8', true, 'unicast'],
    ['::127.0.0.1', false, 'loopback'],
    ['::8.8.8.8', true, 'unicast'],
    ['64:ff9b::7f00:1', false, 'loopback'],
    ['64:ff9b::a9fe:a9fe', false, 'metadata'],
    ['64:ff9b::808:808', true, 'unicast'],
    ['2002:7f00:1::1', false, 'loopback'],
    ['2002:c0a8:101::1', false, 'private'],
    ['2002:808:808::1', true, 'unicast'],
    // not an address at all
    ['not-an-ip', false, 'invalid'],
  ])('%s → allowed %s (%s)', (ip, allowed, range) => {
    const verdict = policy.classify(ip);
    expect(verdict.allowed).toBe(allowed);
    expect(verdict.range).toBe(range);
    expect(policy.isAddressAllowed(ip)).toBe(allowed);
  });
});

describe('egress policy with an allow list', () => {
  test('a /32 opens exactly that address, in its IPv4-mapped form too', () => {
    const policy = createEgressPolicy(['127.0.0.1/32']);
    expect(policy.isAddressAllowed('127.0.0.1')).toBe(true);
    expect(policy.classify('127.0.0.1').viaAllowList).toBe(true);
    expect(policy.isAddressAllowed('::ffff:127.0.0.1')).toBe(true);
    expect(policy.isAddressAllowed('127.0.0.2')).toBe(false);
    expect(policy.isAddressAllowed('::1')).toBe(false);
    expect(policy.isAddressAllowed('10.0.0.1')).toBe(false);
  });

  test('CIDRs and bare addresses, IPv4 and IPv6', () => {
    const policy = createEgressPolicy(['10.0.0.0/8', 'fd00::/8', '::1', '192.168.1.10']);
    expect(policy.isAddressAllowed('10.1.2.3')).toBe(true);
    expect(policy.isAddressAllowed('fd00::5')).toBe(true);
    expect(policy.isAddressAllowed('::1')).toBe(true);
    expect(policy.isAddressAllowed('192.168.1.10')).toBe(true);
    expect(policy.isAddressAllowed('192.168.1.11')).toBe(false);
    expect(policy.isAddressAllowed('fc00::1')).toBe(false);
  });

  test('metadata addresses need an exact entry; a broad range or a host name does not open them', () => {
    expect(createEgressPolicy(['169.254.0.0/16']).isAddressAllowed('169.254.169.254')).toBe(false);
    expect(createEgressPolicy(['169.254.0.0/16']).isAddressAllowed('169.254.1.1')).toBe(true);
    expect(createEgressPolicy(['fd00::/8']).isAddressAllowed('fd00:ec2::254')).toBe(false);
    expect(createEgressPolicy(['metadata.internal']).isAddressAllowed('169.254.169.254', 'metadata.internal')).toBe(false);
    expect(createEgressPolicy(['169.254.169.254']).isAddressAllowed('169.254.169.254')).toBe(true);
    expect(createEgressPolicy(['169.254.169.254/32']).isAddressAllowed('169.254.169.254')).toBe(true);
  });

  test('host names (exact and *.suffix) open the addresses they resolve to', () => {
    const policy = createEgressPolicy(['internal.example.com', '*.corp.example']);
    expect(policy.isAddressAllowed('10.0.0.5', 'internal.example.com')).toBe(true);
    expect(policy.isAddressAllowed('10.0.0.5', 'INTERNAL.example.com.')).toBe(true);
    expect(policy.isAddressAllowed('10.0.0.5', 'a.corp.example')).toBe(true);
    expect(policy.isAddressAllowed('10.0.0.5', 'corp.example')).toBe(false);
    expect(policy.isAddressAllowed('10.0.0.5', 'evil.example.com')).toBe(false);
    expect(policy.isAddressAllowed('10.0.0.5')).toBe(false);
  });

  test('unparseable entries fail loudly', () => {
    expect(() => createEgressPolicy(['10.0.0.0/33'])).toThrow(TypeError);
    expect(() => createEgressPolicy(['not a host!'])).toThrow(TypeError);
  });

  test('parseEgressAllow splits on commas and whitespace', () => {
    expect(parseEgressAllow(' 127.0.0.1/32, ::1  10.0.0.0/8,,')).toEqual(['127.0.0.1/32', '::1', '10.0.0.0/8']);
    expect(parseEgressAllow(undefined)).toEqual([]);
  });
});

describe('assertUrlAllowed (literal hosts, before any socket)', () => {
  const policy = createEgressPolicy([]);
  const code = (url: string): string | null => {
    try {
      assertUrlAllowed(policy, url);
      return null;
    } catch (e) {
      return (e as ConnectorError).code;
    }
  };

  test.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://127.0.0.1:8080/',
    'http://10.0.0.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0/',
    'https://[fd00:ec2::254]/latest',
  ])('%s is refused', (url) => {
    expect(code(url)).toBe('EGRESS_DENIED');
  });

  test('host names pass (they are judged after resolution) and public literals pass', () => {
    expect(code('https://api.example.com/x')).toBeNull();
    expect(code('http://8.8.8.8/')).toBeNull();
  });

  test('only http and https', () => {
    expect(code('ftp://example.com/')).toBe('CONFIG_INVALID');
    expect(code('file:///etc/passwd')).toBe('CONFIG_INVALID');
  });

  test('the refusal names the host, nothing else of the URL', () => {
    try {
      assertUrlAllowed(policy, 'http://169.254.169.254/latest/meta-data/iam?token=S3NT1NEL-x');
      throw new Error('not refused');
    } catch (e) {
      expect(e).toBeInstanceOf(ConnectorError);
      expect((e as Error).message).toContain('169.254.169.254');
      expect((e as Error).message).not.toContain('S3NT1NEL');
      expect((e as Error).message).not.toContain('meta-data');
    }
  });
});

describe('createGuardedLookup (host names, after resolution)', () => {
  const fakeDns = (table: Record<string, string[]>): LookupFunction => (hostname, _options, callback) => {
    const addresses = table[hostname];
    if (!addresses) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      return callback(err, []);
    }
    callback(
      null,
      addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
  const table = {
    'loopback.test': ['127.0.0.1'],
    'mixed.test': ['93.184.216.34', '10.0.0.7'],
    'public.test': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'mapped.test': ['::ffff:127.0.0.1'],
  };
  const run = (lookup: LookupFunction, host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
      lookup(host, { all }, (err, address, family) => resolve({ err, address, family })),
    );

  test('a name resolving to loopback is refused with EGRESS_DENIED naming the host', async () => {
    const lookup = createGuardedLookup(createEgressPolicy([]), fakeDns(table));
    const { err } = await run(lookup, 'loopback.test', true);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as unknown as ConnectorError).code).toBe('EGRESS_DENIED');
    expect(err!.message).toContain('loopback.test');
    expect((await run(lookup, 'mapped.test', false)).err).toBeInstanceOf(ConnectorError);
  });

  test('one refused address refuses the whole name (no racing into the private one)', async () => {
    const lookup = createGuardedLookup(createEgressPolicy([]), fakeDns(table));
    expect((await run(lookup, 'mixed.test', true)).err).toBeInstanceOf(ConnectorError);
  });

  test('public names resolve in both callback shapes; DNS errors pass through', async () => {
    const lookup = createGuardedLookup(createEgressPolicy([]), fakeDns(table));
    const all = await run(lookup, 'public.test', true);
    expect(all.err).toBeNull();
    expect((all.address as LookupAddress[]).map((a) => a.address)).toEqual(table['public.test']);
    const one = await run(lookup, 'public.test', false);
    expect(one).toEqual({ err: null, address: '93.184.216.34', family: 4 });
    expect((await run(lookup, 'missing.test', false)).err?.code).toBe('ENOTFOUND');
  });

  test('the allow list applies to resolved addresses and to host names', async () => {
    expect((await run(createGuardedLookup(createEgressPolicy(['127.0.0.1/32']), fakeDns(table)), 'loopback.test', true)).err).toBeNull();
    expect((await run(createGuardedLookup(createEgressPolicy(['mixed.test']), fakeDns(table)), 'mixed.test', true)).err).toBeNull();
  });

  test('the real resolver: localhost is refused', async () => {
    const lookup = createGuardedLookup(createEgressPolicy([]));
    const { err } = await run(lookup, 'localhost', true);
    expect((err as unknown as ConnectorError).code).toBe('EGRESS_DENIED');
  });
});

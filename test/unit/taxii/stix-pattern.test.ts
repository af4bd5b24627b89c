/**
 * The STIX 2.1 patterning grammar (src/adapters/taxii/stix-pattern.peggy) against the examples of
 * the STIX 2.1 specification, part 9 "STIX Patterning" (the list the OASIS pattern validator tests
 * its grammar with, stix2patterns/test/v21/spec_examples.txt), the validator's valid and invalid
 * cases, and what an indicator record makes of a pattern.
 */
import { indicatorOf, parseStixPattern } from '../../../src/adapters/taxii/pattern.js';
import type { ObservationExpression } from '../../../src/adapters/taxii/pattern.js';
import { stixToRecord } from '../../../src/adapters/taxii/mapper.js';

/** STIX 2.1 part 9 examples (as written in a pattern: `\\` is one escaped backslash). */
const SPEC_EXAMPLES = String.raw`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']
[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']
[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']
[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']
([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 300 SECONDS
[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']
[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00']
[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']
[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]
[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']
[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']
[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS
[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']
[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']
[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']
[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\CurrentVersion\\Run\\CryptoLocker_0388']
[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']
[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']
[x-usb-device:usbdrive.serial_number = '575833314133343231313937']
[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES'^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS
[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']
([file:name = 'foo.dll'] AND [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']
[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a69faa']`.split('\n');

const MORE_VALID = [
  '[file:size = 1280]',
  '[file:size != 1280]',
  '[file:size <> 1280]',
  '[file:size < 1024]',
  '[file:size <= 1024]',
  '[file:size > 1024]',
  '[file:size >= 1024]',
  "[file:extended_properties.'ntfs-ext'.sid = '234']",
  "[ipv4addr:value NOT ISSUBSET '192.168.0.1/24']",
  "[ipv4-addr:value ISSUPERSET '192.168.0.1']",
  "[file:file_system_properties.file_name LIKE 'name%']",
  "[file:file_name IN ('test.txt', 'test2.exe', 'README')]",
  '[file:size IN (1024, 2048, 4096)]',
  "[network-connection:extended_properties[0].source_payload MATCHES 'dGVzdHRlc3R0ZXN0']",
  "[x_whatever:detected == t'2018-03-22T12:11:14.1Z']",
  "[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']",
  '[foo:bar=1] REPEATS 9 TIMES',
  "( [(network-traffic:dst_port IN(443,6443,8443) AND network-traffic:src_packets != 0) ])",
  "([win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar']) WITHIN 5 SECONDS WITHIN 6 SECONDS",
  "[file:name = 'test'] START t'2024-01-01T00:00:00Z' STOP t'2024-12-31T23:59:59Z'",
  "[x:created = t'2024-01-15T12:30:45.123456Z']",
  "[x:flag = true AND x:other = false AND x:n = -3 AND x:f = -0.5 AND x:g = +2]",
  "[x:list[-1] = 'last']",
  "[x:v = 'it\\'s'] /* a comment */ AND [x:w = 'a\\\\b'] // trailing",
  "[x:v = 'x'] WITHIN 2.5 SECONDS",
  "[x:n NOT IN ()]",
  "[x:n EXISTS]".replace('[x:n EXISTS]', '[EXISTS x:n]'),
];

const INVALID: Array<[string, RegExp]> = [
  ['file:size = 1280', /Expected "\(" or "\["/], // no square brackets
  ['[file:size = ]', /Expected/], // no value
  ['[file:hashes.MD5 = cead3f77f6cda6ec00f57d76c9a6879f]', /Expected/], // unquoted string
  ['[file.size = 1280]', /Expected ":"/], // period instead of colon
  ['[file:name MATCHES /.*\\.dll/]', /Expected string literal/], // a regex literal
  ["[win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar'] WITHIN ]", /Expected/], // no qualifier value
  ["[win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar'] WITHIN 5 HOURS]", /Expected "SECONDS"/], // SECONDS only
  ["[win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar'] WITHIN -5 SECONDS]", /Expected/], // negative
  ['[network-traffic:dst_ref.value ISSUBSET ]', /Expected string literal/],
  ["[file:hashes.MD5 =? 'cead3f77f6cda6ec00f57d76c9a6879f']", /Expected/], // =? is no operator
  ["[x_whatever:detected == t'2457-73-22T32:81:84.1Z']", /Expected/], // not a date
  ["[artifact:payload_bin = b'====']", /Expected/], // not base64
  ['[foo:bar=1] within 2 seconds', /end of input/], // keywords are uppercase
  ["[file:hashes.'SHA-256' = 'f00']", /'f00' is not a valid SHA-256 hash/],
  ["[win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar'] WITHIN 5 SECONDS WITHIN 6 SECONDS", /Duplicate qualifier type encountered: WITHIN/],
  ["([win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar'] REPEATS 2 TIMES REPEATS 3 TIMES)", /Duplicate qualifier type encountered: REPEATS/],
  [
    "[win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar'] START t'2016-06-01T01:30:00.123Z' STOP t'2016-06-01T02:20:00.123Z' START t'2016-06-01T01:30:00.123Z' STOP t'2016-06-01T02:20:00.123Z'",
    /Duplicate qualifier type encountered: STARTSTOP/,
  ],
  ["[x:created = t'2024-13-01T12:00:00Z']", /Expected/],
  ["[x:created = t'2024-01-32T12:00:00Z']", /Expected/],
  ["[x:created = t'2024-01-15T25:00:00Z']", /Expected/],
  ["[x:created = t'2024-01-15T12:60:00Z']", /Expected/],
  ["[x:created = t'2024-01-15T12:30:61Z']", /Expected/],
  ["[x:created = t'2024-01-15T12:30:45']", /Expected/], // no Z
  ["[x:created = t'not-a-timestamp']", /Expected/],
  ["[x:v = 'C:\\Windows']", /Expected/], // a backslash escapes only ' and \
  ["[x:v = 'unterminated]", /Expected/],
  ['[x:v > true]', /Expected/], // booleans are not orderable
  ["[x:v LIKE 5]", /Expected string literal/],
  ['[x:v = 1] REPEATS 1.5 TIMES', /Expected/],
  ['[x:v = 01]', /Expected/],
  ['[]', /Expected/],
  ['', /Expected/],
];

describe('STIX 2.1 patterning grammar', () => {
  test.each(SPEC_EXAMPLES)('spec example parses: %s', (pattern) => {
    const r = parseStixPattern(pattern);
    expect(r).toMatchObject({ ok: true });
  });

  test.each(MORE_VALID)('valid: %s', (pattern) => {
    expect(parseStixPattern(pattern)).toMatchObject({ ok: true });
  });

  test.each(INVALID)('invalid: %s', (pattern, message) => {
    const r = parseStixPattern(pattern);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  test('the tree: operators, precedence (AND over OR, both over FOLLOWEDBY), qualifiers, paths and literals', () => {
    const r = parseStixPattern(
      "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0 AND file:size NOT IN (1, 2.5, h'ff')] FOLLOWEDBY [a:b = b'dGVzdA=='] OR [c:d MATCHES 'x\\'y'] REPEATS 2 TIMES WITHIN 10 SECONDS",
    );
    expect(r.ok).toBe(true);
    const ast = (r as { ast: ObservationExpression }).ast;
    expect(ast).toMatchObject({
      type: 'binary',
      operator: 'FOLLOWEDBY',
      left: {
        type: 'observation',
        comparison: {
          type: 'binary',
          operator: 'OR',
          left: { type: 'comparison', operator: '=', path: { objectType: 'file', steps: [{ key: 'hashes' }, { key: 'SHA-256' }] } },
          right: {
            type: 'binary',
            operator: 'AND',
            left: {
              operator: '>',
              value: { type: 'float', value: 7 },
              path: { objectType: 'file', steps: [{ key: 'extensions' }, { key: 'windows-pebinary-ext' }, { key: 'sections' }, { index: '*' }, { key: 'entropy' }] },
            },
            right: { operator: 'IN', negated: true, value: { type: 'set', values: [{ type: 'int', value: 1 }, { type: 'float', value: 2.5 }, { type: 'hex', value: 'ff' }] } },
          },
        },
      },
      right: {
        type: 'binary',
        operator: 'OR',
        left: { type: 'observation', comparison: { value: { type: 'binary', value: 'dGVzdA==' } } },
        right: {
          type: 'qualified',
          qualifier: { type: 'within', seconds: 10 },
          expression: { type: 'qualified', qualifier: { type: 'repeats', times: 2 }, expression: { comparison: { operator: 'MATCHES', value: { type: 'string', value: "x'y" } } } },
        },
      },
    });
  });

  test('string escapes: \\\\ is one backslash, \\\' one quote', () => {
    const r = parseStixPattern(String.raw`[file:parent_directory_ref.path = 'C:\\Windows\\System32' AND x:q = 'it\'s']`);
    expect(r).toMatchObject({
      ok: true,
      ast: { comparison: { left: { value: { value: 'C:\\Windows\\System32' } }, right: { value: { value: "it's" } } } },
    });
  });

  test('START/STOP keeps the timestamps as written; errors carry line and column', () => {
    expect(parseStixPattern("[a:b = 1] START t'2016-06-01T01:30:00.123456Z' STOP t'2016-06-01T02:20:00Z'")).toMatchObject({
      ok: true,
      ast: { type: 'qualified', qualifier: { type: 'startstop', start: '2016-06-01T01:30:00.123456Z', stop: '2016-06-01T02:20:00Z' } },
    });
    const bad = parseStixPattern('[file:size = ]');
    expect(bad).toMatchObject({ ok: false, offset: 13 });
    expect((bad as { error: string }).error).toMatch(/line 1, column 14/);
  });
});

describe('indicator type and value from a pattern', () => {
  const of = (pattern: string) => {
    const r = parseStixPattern(pattern);
    if (!r.ok) throw new Error(r.error);
    return indicatorOf(r.ast, pattern);
  };
  test.each([
    ["[ipv4-addr:value = '198.51.100.1']", 'ipv4', '198.51.100.1'],
    ["[ipv4-addr:value = '198.51.100.1/32']", 'ipv4', '198.51.100.1'],
    ["[ipv4-addr:value = '203.0.113.0/24']", 'cidr', '203.0.113.0/24'],
    ["[ipv6-addr:value = '2001:db8::1']", 'ipv6', '2001:db8::1'],
    ["[ipv6-addr:value = '2001:db8::1/128']", 'ipv6', '2001:db8::1'],
    ["[ipv6-addr:value = '2001:db8::/32']", 'cidr', '2001:db8::/32'],
    ["[domain-name:value = 'www.5z8.info']", 'domain', 'www.5z8.info'],
    ["([url:value = 'http://example.com/foo'])", 'url', 'http://example.com/foo'],
    ["[email-addr:value = 'jdoe@example.com']", 'email', 'jdoe@example.com'],
    ["[file:hashes.MD5 = 'CEAD3F77F6CDA6EC00F57D76C9A6879F']", 'md5', 'cead3f77f6cda6ec00f57d76c9a6879f'],
    ["[file:hashes.'SHA-1' = '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12']", 'sha1', '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12'],
    ["[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']", 'sha256', 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'],
    [`[file:hashes.'SHA-512' = '${'ab'.repeat(64)}']`, 'sha512', 'ab'.repeat(64)],
  ])('%s → %s', (pattern, type, value) => {
    expect(of(pattern)).toEqual({ type, value });
  });

  test.each([
    "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
    "[domain-name:value = 'a.example'] AND [domain-name:value = 'b.example']",
    "[ipv4-addr:value = '198.51.100.1'] WITHIN 60 SECONDS",
    "[ipv4-addr:value != '198.51.100.1']",
    "[ipv4-addr:value NOT = '198.51.100.1']",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    "[network-traffic:dst_ref.value = '203.0.113.33/32']",
    "[file:name = 'foo.dll']",
  ])('kept whole as a pattern: %s', (pattern) => {
    expect(of(pattern)).toEqual({ type: 'pattern', value: pattern });
  });
});

describe('indicator records (the API contract: type ipv4 … sha256 or pattern, revoked, stixId)', () => {
  const indicator = (extra: Record<string, unknown>) => ({
    type: 'indicator',
    spec_version: '2.1',
    id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
    created: '2024-01-01T00:00:00.000Z',
    modified: '2024-01-02T00:00:00.000Z',
    pattern_type: 'stix',
    valid_from: '2024-01-01T00:00:00Z',
    ...extra,
  });

  test('a compound pattern is type pattern, the whole pattern its value, with stixId', () => {
    const pattern = "[domain-name:value = 'a.example'] AND [domain-name:value = 'b.example']";
    const r = stixToRecord(indicator({ pattern }));
    expect(r).toMatchObject({ kind: 'indicator', type: 'pattern', value: pattern, pattern, stixId: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', revoked: false });
    expect(r).not.toHaveProperty('patternError');
  });

  test('a pattern that does not parse is type pattern too, with patternError', () => {
    const r = stixToRecord(indicator({ pattern: "[domain-name:value = 'unterminated]" }));
    expect(r).toMatchObject({ kind: 'indicator', type: 'pattern', value: "[domain-name:value = 'unterminated]", patternError: expect.any(String) });
  });

  test('a revoked indicator carries revoked: true; no stix-pattern type is left', () => {
    const r = stixToRecord(indicator({ pattern: "[ipv4-addr:value = '198.51.100.7']", revoked: true }));
    expect(r).toMatchObject({ type: 'ipv4', value: '198.51.100.7', revoked: true, stixId: expect.stringMatching(/^indicator--/) });
    expect(JSON.stringify(r)).not.toContain('stix-pattern');
  });
});

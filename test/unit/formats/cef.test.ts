import { parseCef, parseCefSeverity, scanCefExtension } from '../../../src/adapters/formats/cef.js';
import { MAX_LINE_BYTES, parseLine, parseLines } from '../../../src/adapters/formats/index.js';
import type { EventRecord } from '../../../src/adapters/records.js';

const now = new Date('2024-06-15T12:00:00Z');
const H = 'CEF:0|Acme|FW|1.0|100|Port scan|7|';

function ok(line: string): EventRecord {
  const r = parseCef(line, { now });
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error}`);
  return r.record;
}

function err(line: string): string {
  const r = parseCef(line, { now });
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.record)}`);
  return r.error;
}

describe('parseCef: the API.md example', () => {
  test('maps header and common extension keys into the event record', () => {
    const line =
      'CEF:0|Acme|FW|1.0|100|Port scan|7|src=192.0.2.1 dst=198.51.100.2 spt=5353 dpt=22 suser=alice cs1Label=policy cs1=Block all';
    expect(parseCef(line)).toEqual({
      ok: true,
      record: {
        kind: 'event',
        format: 'CEF',
        vendor: 'Acme',
        product: 'FW',
        productVersion: '1.0',
        eventId: '100',
        name: 'Port scan',
        severity: 7,
        timestamp: null,
        src: '192.0.2.1',
        dst: '198.51.100.2',
        srcPort: 5353,
        dstPort: 22,
        user: 'alice',
        category: null,
        extensions: { cs1Label: 'policy', cs1: 'Block all' },
      },
    });
  });

  test('CEF:1 is accepted and a record has no syslog/warnings keys when there are none', () => {
    const r = ok('CEF:1|a|b|c|d|e|0|');
    expect(r.severity).toBe(0);
    expect(Object.keys(r)).not.toContain('syslog');
    expect(Object.keys(r)).not.toContain('warnings');
  });
});

describe('parseCef: header escaping', () => {
  test('\\| and \\\\ are decoded in header fields', () => {
    const r = ok(String.raw`CEF:0|Ac\|me|F\\W|1\|0|id\\|Na\|me \\ x|5|`);
    expect(r.vendor).toBe('Ac|me');
    expect(r.product).toBe('F\\W');
    expect(r.productVersion).toBe('1|0');
    expect(r.eventId).toBe('id\\');
    expect(r.name).toBe('Na|me \\ x');
  });

  test('an escaped backslash right before a separator ends the field', () => {
    const r = ok(String.raw`CEF:0|a\\|b|c|d|e|5|k=v`);
    expect(r.vendor).toBe('a\\');
    expect(r.product).toBe('b');
    expect(r.extensions).toEqual({ k: 'v' });
  });

  test('\\n and \\r are decoded in the header; other backslashes are kept', () => {
    const r = ok(String.raw`CEF:0|a\nb|c\rd|C:\Program|d|e|5|`);
    expect(r.vendor).toBe('a\nb');
    expect(r.product).toBe('c\rd');
    expect(r.productVersion).toBe('C:\\Program');
  });

  test('empty header fields become null', () => {
    const r = ok('CEF:0||||||3|');
    expect([r.vendor, r.product, r.productVersion, r.eventId, r.name]).toEqual([null, null, null, null, null]);
    expect(r.severity).toBe(3);
  });

  test('a pipe inside the extension is data, not a separator', () => {
    expect(ok(`${H}msg=a|b|c`).extensions).toEqual({ msg: 'a|b|c' });
  });
});

describe('parseCef: extension', () => {
  test.each([
    [String.raw`msg=a\=b`, 'a=b'],
    [String.raw`msg=back\\slash`, 'back\\slash'],
    [String.raw`msg=line1\nline2`, 'line1\nline2'],
    [String.raw`msg=cr\rhere`, 'cr\rhere'],
    [String.raw`msg=pipe\|here`, 'pipe|here'],
    [String.raw`msg=\\n is not a newline`, '\\n is not a newline'],
    [String.raw`msg=C:\Windows\System32`, 'C:\\Windows\\System32'],
    [String.raw`msg=ends with backslash\\`, 'ends with backslash\\'],
    [String.raw`msg=lone trailing \\`, 'lone trailing \\'],
    [String.raw`msg=dangling\\`.slice(0, -1), 'dangling\\'],
  ])('escape %s', (ext, value) => {
    expect(ok(H + ext).extensions).toEqual({ msg: value });
  });

  test('values may contain spaces; a value runs until the next " key="', () => {
    const r = ok(`${H}msg=hello big world act=blocked by policy 7 cs1=x`);
    expect(r.extensions).toEqual({ msg: 'hello big world', act: 'blocked by policy 7', cs1: 'x' });
  });

  test('an escaped = after a space does not start a key', () => {
    expect(ok(String.raw`${H}msg=a b\=c d=e`).extensions).toEqual({ msg: 'a b=c', d: 'e' });
  });

  test('an unescaped = inside a word is tolerated as data (URLs)', () => {
    const r = ok(`${H}request=http://x.test/?a=1&b=2 requestMethod=GET`);
    expect(r.extensions).toEqual({ request: 'http://x.test/?a=1&b=2', requestMethod: 'GET' });
  });

  test('a path ending in an unescaped backslash still ends at the next key', () => {
    expect(ok(String.raw`${H}filePath=C:\dir\ act=deny`).extensions).toEqual({ filePath: 'C:\\dir\\', act: 'deny' });
  });

  test('extra spaces around pairs are trimmed, empty values are kept', () => {
    const r = ok(`${H}  a=1    b=   c=three  `);
    expect(r.extensions).toEqual({ a: '1', b: '', c: 'three' });
  });

  test('empty extension', () => {
    expect(ok(H).extensions).toEqual({});
    expect(ok(`${H}   `).extensions).toEqual({});
    expect(ok('CEF:0|a|b|c|d|e|5').extensions).toEqual({}); // no trailing pipe at all
  });

  test('duplicate keys: the last one wins', () => {
    expect(ok(`${H}a=1 a=2`).extensions).toEqual({ a: '2' });
  });

  test('a __proto__ key is stored as data, not as the prototype', () => {
    const r = ok(`${H}__proto__=x y=1`);
    expect(Object.getPrototypeOf(r.extensions)).toBe(Object.prototype);
    expect(Object.keys(r.extensions)).toEqual(['__proto__', 'y']);
    expect(r.extensions['__proto__']).toBe('x');
  });

  test('scanCefExtension returns pairs in order', () => {
    expect(scanCefExtension('b=2 a=1 b=3')).toEqual({ ok: true, keys: ['b', 'a', 'b'], values: ['2', '1', '3'] });
  });

  test('keys may contain dots, underscores and hyphens', () => {
    expect(ok(`${H}ad.user_name=x x-forwarded-for=1.2.3.4`).extensions).toEqual({ 'ad.user_name': 'x', 'x-forwarded-for': '1.2.3.4' });
  });
});

describe('parseCef: severity', () => {
  test.each([
    ['0', 0],
    ['5', 5],
    ['10', 10],
    [' 7 ', 7],
    ['Low', 3],
    ['medium', 6],
    ['HIGH', 8],
    ['Very-High', 10],
    ['very high', 10],
    ['Unknown', null],
  ])('%p → %p', (raw, value) => {
    expect(parseCefSeverity(raw)).toEqual({ ok: true, value });
    expect(ok(`CEF:0|a|b|c|d|e|${raw}|`).severity).toBe(value);
  });

  test.each(['11', '-1', '5.5', 'Extreme', 'Critical', '100'])('%p is rejected', (raw) => {
    expect(err(`CEF:0|a|b|c|d|e|${raw}|`)).toBe(`severity '${raw}' is not 0–10 or Low/Medium/High/Very-High`);
  });
});

describe('parseCef: mapped keys', () => {
  test('long-form names map like the short ones', () => {
    const r = ok(
      `${H}sourceAddress=10.0.0.1 destinationAddress=10.0.0.2 sourcePort=1 destinationPort=65535 sourceUserName=bob receiptTime=1718445600000 deviceEventCategory=/Firewall/Deny`,
    );
    expect(r).toMatchObject({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      srcPort: 1,
      dstPort: 65535,
      user: 'bob',
      timestamp: '2024-06-15T10:00:00.000Z',
      category: '/Firewall/Deny',
      extensions: {},
    });
  });

  test('duser fills user only when no source user is given, and stays in extensions', () => {
    expect(ok(`${H}duser=carol`)).toMatchObject({ user: 'carol', extensions: { duser: 'carol' } });
    expect(ok(`${H}destinationUserName=dave`)).toMatchObject({ user: 'dave', extensions: { destinationUserName: 'dave' } });
    expect(ok(`${H}duser=carol suser=alice`)).toMatchObject({ user: 'alice', extensions: { duser: 'carol' } });
  });

  test('mapped keys with empty values become null', () => {
    expect(ok(`${H}src= dst= spt= suser=`)).toMatchObject({ src: null, dst: null, srcPort: null, user: null, extensions: {} });
  });

  test('an unparseable port leaves the field null, keeps the raw value and warns', () => {
    const r = ok(`${H}spt=http dpt=65536`);
    expect(r.srcPort).toBeNull();
    expect(r.dstPort).toBeNull();
    expect(r.extensions).toEqual({ spt: 'http', dpt: '65536' });
    expect(r.warnings).toEqual(["spt 'http' is not a port number 0–65535", "dpt '65536' is not a port number 0–65535"]);
  });
});

describe('parseCef: timestamps', () => {
  test.each([
    ['1718445600000', '2024-06-15T10:00:00.000Z'],
    ['Jun 15 2024 10:00:00', '2024-06-15T10:00:00.000Z'],
    ['Jun 15 2024 10:00:00.250', '2024-06-15T10:00:00.250Z'],
    ['Jun 15 2024 10:00:00 EST', '2024-06-15T15:00:00.000Z'],
    ['Jun 15 2024 10:00:00.5 GMT+02:00', '2024-06-15T08:00:00.500Z'],
    ['Jun 15 2024 10:00:00 +0530', '2024-06-15T04:30:00.000Z'],
    ['Jun 15 10:00:00', '2024-06-15T10:00:00.000Z'],
    ['Jun 15 10:00:00.123 UTC', '2024-06-15T10:00:00.123Z'],
    ['june 5 2024 10:00:00', '2024-06-05T10:00:00.000Z'],
    ['2024-06-15T10:00:00Z', '2024-06-15T10:00:00.000Z'],
    ['2024-06-15T10:00:00.123456-04:00', '2024-06-15T14:00:00.123Z'],
  ])('rt=%s', (rt, iso) => {
    const r = ok(`${H}rt=${rt} act=x`);
    expect(r.timestamp).toBe(iso);
    expect(r.extensions).toEqual({ act: 'x' });
  });

  test('year-less dates take the latest year that is not in the future', () => {
    expect(parseCef(`${H}rt=Dec 31 23:59:00`, { now: new Date('2025-01-01T00:05:00Z') })).toMatchObject({
      ok: true,
      record: { timestamp: '2024-12-31T23:59:00.000Z' },
    });
    expect(parseCef(`${H}rt=Jan 1 00:01:00`, { now: new Date('2024-12-31T23:58:00Z') })).toMatchObject({
      ok: true,
      record: { timestamp: '2025-01-01T00:01:00.000Z' },
    });
    expect(parseCef(`${H}rt=Feb 29 10:00:00`, { now: new Date('2025-03-01T00:00:00Z') })).toMatchObject({
      ok: true,
      record: { timestamp: '2024-02-29T10:00:00.000Z' },
    });
  });

  test.each(['yesterday', 'Jun 31 2024 10:00:00', 'Jun 15 2024 25:00:00', 'Jun 15 2024 10:00:00 XYZ', '99999999999999999'])(
    'unparseable rt=%s → null timestamp, raw value kept, warning',
    (rt) => {
      const r = ok(`${H}rt=${rt}`);
      expect(r.timestamp).toBeNull();
      expect(r.extensions).toEqual({ rt });
      expect(r.warnings).toEqual([`rt '${rt}' is not epoch milliseconds or a CEF date`]);
    },
  );

  test('without rt the syslog header time is used', () => {
    const r = ok(`<134>Jun 15 11:00:00 fw01 ${H}act=x`);
    expect(r.timestamp).toBe('2024-06-15T11:00:00.000Z');
    expect(r.syslog).toMatchObject({ format: 'rfc3164', host: 'fw01', priority: 134, facility: 16, severity: 6 });
  });

  test('rt wins over the syslog header time', () => {
    expect(ok(`<134>Jun 15 11:00:00 fw01 ${H}rt=1718445600000`).timestamp).toBe('2024-06-15T10:00:00.000Z');
  });
});

describe('parseCef: syslog prefixes', () => {
  test('RFC 3164 with a tag', () => {
    const r = ok(`<13>Jun  5 09:08:07 fw-01.example.net CEF[4242]: ${H}src=1.2.3.4`);
    expect(r.src).toBe('1.2.3.4');
    expect(r.syslog).toMatchObject({ host: 'fw-01.example.net', appName: 'CEF', procId: '4242', timestamp: '2024-06-05T09:08:07.000Z' });
  });

  test('RFC 5424 with structured data', () => {
    const r = ok(`<165>1 2024-06-15T10:00:00.5+02:00 host app 123 ID47 [ex@1 a="x\\]y"][b@2 c="d"] ${H}dst=5.6.7.8`);
    expect(r.dst).toBe('5.6.7.8');
    expect(r.timestamp).toBe('2024-06-15T08:00:00.500Z');
    expect(r.syslog).toMatchObject({ format: 'rfc5424', host: 'host', appName: 'app', procId: '123', msgId: 'ID47', structuredData: '[ex@1 a="x\\]y"][b@2 c="d"]' });
  });

  test('PRI only', () => {
    expect(ok(`<10>${H}`).syslog).toMatchObject({ format: 'pri', priority: 10, timestamp: null });
  });

  test('a trailing CR/LF is ignored', () => {
    expect(ok(`${H}msg=x\r\n`).extensions).toEqual({ msg: 'x' });
  });
});

describe('parseCef: malformed lines produce specific errors', () => {
  test.each([
    ['', "expected 'CEF:' at the start of the line, found ''"],
    ['hello world', "expected 'CEF:' at the start of the line, found 'hello world'"],
    ['LEEF:1.0|a|b|c|d|', "expected 'CEF:' at the start of the line, found 'LEEF:1.0|a|b|c|d|'"],
    ['<13>Jun 15 11:00:00 host app: LEEF:1.0|a|', "expected 'CEF:' after the syslog header, found 'LEEF:1.0|a|'"],
    ['CEF:', 'CEF version is empty (expected CEF:0 or CEF:1)'],
    ['CEF:0|a|b|c|d', 'CEF header has 5 of 7 fields (CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|)'],
    ['CEF:0', 'CEF header has 1 of 7 fields (CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|)'],
    ['CEF:3|a|b|c|d|e|5|', 'unknown CEF version 3'],
    ['CEF:0|a|b|c|d|e||', 'CEF severity is empty (expected 0–10 or Low/Medium/High/Very-High/Unknown)'],
    ['CEF:0|a|b|c|d|e|Extreme|', "severity 'Extreme' is not 0–10 or Low/Medium/High/Very-High"],
    ['CEF:0|a|b|c|d|e|5|garbage', "CEF extension must start with key=value, found 'garbage'"],
    ['CEF:0|a|b|c|d|e|5|bad key=1', "CEF extension must start with key=value, found 'bad key=1'"],
    ['CEF:0|a|b|c|d|e|5|=value', "CEF extension has an empty key before '=' at '=value'"],
    ['<999>CEF:0|a|b|c|d|e|5|', 'syslog priority <999> is out of range 0–191'],
    ['<1a>CEF:0|a|b|c|d|e|5|', "syslog priority must be 1–3 digits in angle brackets, found '<1a>CEF:…'"],
    ['<13>2 - host app - - - CEF:0|a|b|c|d|e|5|', 'syslog version 2 is not supported (RFC 5424 defines version 1)'],
    ['<13>1 yesterday host app - - - CEF:0|a|b|c|d|e|5|', "RFC 5424 timestamp 'yesterday' is not RFC 3339"],
    ['<13>1 - host app - - [x@1 a="b" CEF:0|a|b|c|d|e|5|', "RFC 5424 structured data is not terminated by ']'"],
    ['<13>1 - host app - - sd CEF:0|a|b|c|d|e|5|', "RFC 5424 structured data must be '-' or '[…]', found 'sd CEF:0|a|b|c|d|e|5|'"],
    ['<13>Foo 1 2 CEF:0|a|b|c|d|e|5|', "syslog header after <13> is neither RFC 3164 ('Mmm dd hh:mm:ss host') nor RFC 5424 ('1 TIMESTAMP HOST …'): 'Foo 1 2 CEF:0|a|b|c|d|e|5|'"],
    ['Jun 45 10:00:00 host CEF:0|a|b|c|d|e|5|', "RFC 3164 timestamp 'Jun 45 10:00:00' is not 'Mmm dd hh:mm:ss'"],
    ['<13>Jun 15 10:61:00 host CEF:0|a|b|c|d|e|5|', "RFC 3164 timestamp 'Jun 15 10:61:00' is not 'Mmm dd hh:mm:ss'"],
  ])('%p', (line, message) => {
    expect(err(line)).toBe(message);
  });

  test('a non-string is an error, not an exception', () => {
    expect(parseCef(42 as unknown as string)).toEqual({ ok: false, error: 'line is not a string' });
  });
});

describe('parseCef: limits and pathological input', () => {
  test('lines over 64 KiB are rejected; exactly 64 KiB is fine', () => {
    const fits = H + 'msg=' + 'x'.repeat(MAX_LINE_BYTES - H.length - 4);
    expect(fits.length).toBe(MAX_LINE_BYTES);
    expect(ok(fits).extensions['msg']).toHaveLength(MAX_LINE_BYTES - H.length - 4);
    expect(err(fits + 'x')).toBe('line is more than 65536 bytes long; the limit is 65536 bytes (64 KiB)');
    expect(err(fits.slice(0, -1) + 'é')).toBe('line is 65537 bytes long; the limit is 65536 bytes (64 KiB)');
  });

  test('the limit counts UTF-8 bytes, not characters', () => {
    const euro = H + 'msg=' + '€'.repeat(22_000); // 22,000 characters, 66,000+ bytes
    expect(euro.length).toBeLessThan(MAX_LINE_BYTES);
    expect(err(euro)).toBe(`line is ${H.length + 4 + 66_000} bytes long; the limit is 65536 bytes (64 KiB)`);
    expect(ok(H + 'msg=' + '€'.repeat(21_000)).extensions['msg']).toHaveLength(21_000);
  });

  test('pathological lines parse in linear time', () => {
    const started = performance.now();
    expect(err('\\'.repeat(100_000))).toMatch(/^line is more than 65536 bytes long/);
    // Within the limit: 60k backslashes (30k escaped backslashes), 'a=' repeated, ' a=' repeated,
    // spaces and near-keys, a header made of escapes, and a line of pipes.
    expect(ok(`${H}m=${'\\'.repeat(60_000)}`).extensions['m']).toBe('\\'.repeat(30_000));
    expect(ok(`${H}${'a='.repeat(30_000)}`).extensions).toEqual({ a: 'a='.repeat(29_999) });
    expect(ok(`${H}m=${' a='.repeat(20_000)}`).extensions).toEqual({ m: '', a: '' });
    expect(ok(`${H}m=${' a='.repeat(20_000)}\\=`).extensions).toEqual({ m: '', a: '=' });
    expect(ok(`${H}m=${' aaaa'.repeat(12_000)}=`).extensions['m']).toHaveLength(5 * 12_000 - 6);
    expect(ok(`${H}m=${'\\ '.repeat(30_000)}`).extensions['m']).toBe('\\ '.repeat(29_999) + '\\');
    expect(ok(`CEF:0|${'\\|'.repeat(30_000)}|b|c|d|e|5|`).vendor).toBe('|'.repeat(30_000));
    expect(err(`CEF:0|${'|'.repeat(60_000)}`)).toMatch(/^CEF severity is empty/);
    expect(err(`CEF:0|a|b|c|d|e|5|${'='.repeat(60_000)}`)).toMatch(/^CEF extension has an empty key/);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('parseLine / parseLines', () => {
  test('dispatches by format, case-insensitively', () => {
    expect(parseLine('CEF', H)).toMatchObject({ ok: true, record: { format: 'CEF' } });
    expect(parseLine('cef' as 'CEF', H)).toMatchObject({ ok: true, record: { format: 'CEF' } });
    expect(parseLine('XML' as 'CEF', H)).toEqual({ ok: false, error: "unknown line format 'XML' (expected CEF or LEEF)" });
  });

  test('a malformed line yields its own error and does not stop the batch', () => {
    const results = parseLines('CEF', [H + 'a=1', 'nope', 'CEF:0|a|b', H + 'a=2', null as unknown as string]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true, false]);
    expect(results[3]).toMatchObject({ ok: true, record: { extensions: { a: '2' } } });
    expect(results[2]).toEqual({ ok: false, error: 'CEF header has 3 of 7 fields (CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|)' });
    expect(results[4]).toEqual({ ok: false, error: 'line is not a string' });
  });
});

import { parseLeef, parseLeefDelimiter } from '../../../src/adapters/formats/leef.js';
import { parseLine, parseLines } from '../../../src/adapters/formats/index.js';
import type { EventRecord } from '../../../src/adapters/records.js';

const now = new Date('2024-06-15T12:00:00Z');

function ok(line: string): EventRecord {
  const r = parseLeef(line, { now });
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error}`);
  return r.record;
}

function err(line: string): string {
  const r = parseLeef(line, { now });
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.record)}`);
  return r.error;
}

describe('parseLeef: LEEF 1.0', () => {
  test('tab-delimited attributes map into the event record', () => {
    const line = [
      'LEEF:1.0|Microsoft|MSExchange|2013 SP1|15345|src=192.0.2.1',
      'dst=172.50.123.1',
      'sev=5',
      'cat=anomaly',
      'srcPort=81',
      'dstPort=21',
      'usrName=joe.black',
      'proto=TCP',
      'devTime=1718445600000',
    ].join('\t');
    expect(parseLeef(line)).toEqual({
      ok: true,
      record: {
        kind: 'event',
        format: 'LEEF',
        vendor: 'Microsoft',
        product: 'MSExchange',
        productVersion: '2013 SP1',
        eventId: '15345',
        name: '15345',
        severity: 5,
        timestamp: '2024-06-15T10:00:00.000Z',
        src: '192.0.2.1',
        dst: '172.50.123.1',
        srcPort: 81,
        dstPort: 21,
        user: 'joe.black',
        category: 'anomaly',
        extensions: { proto: 'TCP' },
      },
    });
  });

  test('values are verbatim: spaces, =, |, backslashes and ^ are data', () => {
    const r = ok('LEEF:1.0|V|P|1|id|msg=a b = c | d\\e^f\turl=http://x/?a=1\tpath=C:\\dir\\');
    expect(r.extensions).toEqual({ msg: 'a b = c | d\\e^f', url: 'http://x/?a=1', path: 'C:\\dir\\' });
  });

  test('empty attributes and stray tabs', () => {
    expect(ok('LEEF:1.0|V|P|1|id|').extensions).toEqual({});
    expect(ok('LEEF:1.0|V|P|1|id').extensions).toEqual({});
    expect(ok('LEEF:1.0|V|P|1|id|\t\ta=1\t\t').extensions).toEqual({ a: '1' });
    expect(ok('LEEF:1.0|V|P|1|id|a=\tb=2').extensions).toEqual({ a: '', b: '2' });
  });

  test('keys are trimmed, values keep their spaces', () => {
    expect(ok('LEEF:1.0|V|P|1|id| a = x \tb=y').extensions).toEqual({ a: ' x ', b: 'y' });
  });

  test('header escapes \\| and \\\\; empty header fields are null', () => {
    const r = ok(String.raw`LEEF:1.0|Ven\|dor|Pro\\duct||id\|1|`);
    expect(r).toMatchObject({ vendor: 'Ven|dor', product: 'Pro\\duct', productVersion: null, eventId: 'id|1', name: 'id|1' });
    expect(ok('LEEF:1.0|V|P|1||').eventId).toBeNull();
  });

  test('LEEF:1 is accepted as 1.0; tabs are the only delimiter', () => {
    expect(ok('LEEF:1|V|P|1|id|a=1^b=2').extensions).toEqual({ a: '1^b=2' });
  });
});

describe('parseLeef: LEEF 2.0 delimiters', () => {
  test.each([
    ['^', '^'],
    ['x5E', '^'],
    ['0x5E', '^'],
    ['X5e', '^'],
    ['0x5e', '^'],
    ['x7C', '|'],
    ['x20', ' '],
    ['x09', '\t'],
    ['0x0009', '\t'],
    [';', ';'],
    ['x', 'x'],
  ])('delimiter field %p', (field, delimiter) => {
    expect(parseLeefDelimiter(field)).toEqual({ ok: true, delimiter });
    const r = ok(`LEEF:2.0|Lancope|StealthWatch|1.0|41|${field}|src=10.0.1.8${delimiter}dst=10.0.0.5${delimiter}sev=5${delimiter}k=v`);
    expect(r).toMatchObject({ src: '10.0.1.8', dst: '10.0.0.5', severity: 5, extensions: { k: 'v' } });
  });

  test('an empty delimiter field means tab', () => {
    expect(ok('LEEF:2.0|V|P|1|id||a=1\tb=2^3').extensions).toEqual({ a: '1', b: '2^3' });
  });

  test('an omitted delimiter field means tab', () => {
    expect(ok('LEEF:2.0|V|P|1|id|a=1\tb=x|y').extensions).toEqual({ a: '1', b: 'x|y' });
    expect(ok('LEEF:2.0|V|P|1|id|longer=value|with pipe\tc=3').extensions).toEqual({ longer: 'value|with pipe', c: '3' });
  });

  test('a delimiter field with nothing after it', () => {
    expect(ok('LEEF:2.0|V|P|1|id|^|').extensions).toEqual({});
    expect(ok('LEEF:2.0|V|P|1|id|').extensions).toEqual({});
  });

  test('with ^ as delimiter a tab is data', () => {
    expect(ok('LEEF:2.0|V|P|1|id|^|a=1\t2^b=3').extensions).toEqual({ a: '1\t2', b: '3' });
  });
});

describe('parseLeef: devTime', () => {
  const line = (devTime: string, format?: string) =>
    `LEEF:2.0|V|P|1|id|^|devTime=${devTime}${format === undefined ? '' : `^devTimeFormat=${format}`}^k=v`;

  test.each([
    ['Jun 15 2024 10:00:00', 'MMM dd yyyy HH:mm:ss', '2024-06-15T10:00:00.000Z'],
    ['2024-06-15T10:00:00.123+0200', "yyyy-MM-dd'T'HH:mm:ss.SSSZ", '2024-06-15T08:00:00.123Z'],
    ['2024-06-15T10:00:00.123-04:00', "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", '2024-06-15T14:00:00.123Z'],
    ['2024-06-15T10:00:00.123Z', "yyyy-MM-dd'T'HH:mm:ss.SSSX", '2024-06-15T10:00:00.123Z'],
    ['Jun 15 2024 10:00:00.250 EST', 'MMM dd yyyy HH:mm:ss.SSS zzz', '2024-06-15T15:00:00.250Z'],
    ['Jun 15 2024 10:00:00.250 GMT', 'MMM dd yyyy HH:mm:ss.SSS zzz', '2024-06-15T10:00:00.250Z'],
    ['15/06/2024 22:30:05', 'dd/MM/yyyy HH:mm:ss', '2024-06-15T22:30:05.000Z'],
    ['20240615103000', 'yyyyMMddHHmmss', '2024-06-15T10:30:00.000Z'],
    ['Sat, 15 Jun 2024 10:00:00 +0000', 'EEE, dd MMM yyyy HH:mm:ss Z', '2024-06-15T10:00:00.000Z'],
    ['06/15/24 10:00:00 PM', 'MM/dd/yy hh:mm:ss a', '2024-06-15T22:00:00.000Z'],
    ['06/15/24 12:05:00 AM', 'MM/dd/yy hh:mm:ss a', '2024-06-15T00:05:00.000Z'],
    ["2024.06.15 at 10:00:00 o'clock", "yyyy.MM.dd 'at' HH:mm:ss 'o''clock'", '2024-06-15T10:00:00.000Z'],
    ['Jun 15 10:00:00', 'MMM dd HH:mm:ss', '2024-06-15T10:00:00.000Z'],
    ['1718445600000', 'MMM dd yyyy HH:mm:ss', '2024-06-15T10:00:00.000Z'],
  ])('devTime=%p devTimeFormat=%p', (devTime, format, iso) => {
    const r = ok(line(devTime, format));
    expect(r.timestamp).toBe(iso);
    expect(r.extensions).toEqual({ k: 'v' });
    expect(r.warnings).toBeUndefined();
  });

  test.each([
    ['1718445600000', '2024-06-15T10:00:00.000Z'],
    ['0', '1970-01-01T00:00:00.000Z'],
    ['Jun 15 2024 10:00:00', '2024-06-15T10:00:00.000Z'],
    ['Jun 15 2024 10:00:00.5 UTC', '2024-06-15T10:00:00.500Z'],
    ['2024-06-15 10:00:00', '2024-06-15T10:00:00.000Z'],
  ])('devTime=%p without devTimeFormat', (devTime, iso) => {
    expect(ok(line(devTime)).timestamp).toBe(iso);
  });

  test('a devTime that does not match its format: null, both raw values kept, warning', () => {
    const r = ok(line('15.06.2024', 'MMM dd yyyy HH:mm:ss'));
    expect(r.timestamp).toBeNull();
    expect(r.extensions).toEqual({ devTime: '15.06.2024', devTimeFormat: 'MMM dd yyyy HH:mm:ss', k: 'v' });
    expect(r.warnings).toEqual(["devTime '15.06.2024' does not match devTimeFormat 'MMM dd yyyy HH:mm:ss'"]);
  });

  test('an unsupported pattern letter is reported, not guessed', () => {
    const r = ok(line('2024-W24', "YYYY-'W'ww"));
    expect(r.timestamp).toBeNull();
    expect(r.warnings).toEqual(["devTimeFormat: date pattern letter 'w' in 'YYYY-'W'ww' is not supported"]);
  });

  test('a devTime without a format that is not a known shape', () => {
    const r = ok(line('last tuesday'));
    expect(r.timestamp).toBeNull();
    expect(r.extensions).toMatchObject({ devTime: 'last tuesday' });
    expect(r.warnings).toEqual(["devTime 'last tuesday' is not epoch milliseconds, 'MMM dd yyyy HH:mm:ss' or ISO 8601"]);
  });

  test('devTimeFormat alone stays in extensions', () => {
    expect(ok('LEEF:2.0|V|P|1|id|^|devTimeFormat=yyyy').extensions).toEqual({ devTimeFormat: 'yyyy' });
  });

  test('the syslog timestamp is used when there is no devTime', () => {
    const r = ok('<13>1 2019-01-18T11:07:53.520+07:00 myhostname LEEF:1.0|V|P|1|id|src=1.1.1.1');
    expect(r.timestamp).toBe('2019-01-18T04:07:53.520Z');
    expect(r.syslog).toMatchObject({ format: 'rfc5424', host: 'myhostname', appName: null });
    expect(r.src).toBe('1.1.1.1');
  });

  test('RFC 3164 header without PRI (QRadar form)', () => {
    const r = ok('Jan 18 11:07:53 192.168.1.1 LEEF:1.0|V|P|1|id|usrName=x');
    expect(r.syslog).toMatchObject({ format: 'rfc3164', priority: null, host: '192.168.1.1', timestamp: '2024-01-18T11:07:53.000Z' });
    expect(r.user).toBe('x');
  });
});

describe('parseLeef: sev, ports and other mapped keys', () => {
  test.each(['1', '10', '0'])('sev=%p', (sev) => {
    expect(ok(`LEEF:1.0|V|P|1|id|sev=${sev}`).severity).toBe(Number(sev));
  });

  test.each(['11', 'high', '-1', '5.5'])('sev=%p is kept raw with a warning', (sev) => {
    const r = ok(`LEEF:1.0|V|P|1|id|sev=${sev}`);
    expect(r.severity).toBeNull();
    expect(r.extensions).toEqual({ sev });
    expect(r.warnings).toEqual([`sev '${sev}' is not an integer 0–10`]);
  });

  test('bad ports are kept raw with a warning', () => {
    const r = ok('LEEF:1.0|V|P|1|id|srcPort=-1\tdstPort=99999');
    expect([r.srcPort, r.dstPort]).toEqual([null, null]);
    expect(r.extensions).toEqual({ srcPort: '-1', dstPort: '99999' });
    expect(r.warnings).toHaveLength(2);
  });

  test('CEF-style keys are not special in LEEF', () => {
    const r = ok('LEEF:1.0|V|P|1|id|spt=1\tsuser=x\trt=1718445600000');
    expect(r).toMatchObject({ srcPort: null, user: null, timestamp: null, extensions: { spt: '1', suser: 'x', rt: '1718445600000' } });
  });
});

describe('parseLeef: malformed lines produce specific errors', () => {
  test.each([
    ['', "expected 'LEEF:' at the start of the line, found ''"],
    ['CEF:0|a|b|c|d|e|5|', "expected 'LEEF:' at the start of the line, found 'CEF:0|a|b|c|d|e|5|'"],
    ['LEEF:', 'LEEF version is empty (expected LEEF:1.0 or LEEF:2.0)'],
    ['LEEF:3.0|V|P|1|id|', 'unknown LEEF version 3.0'],
    ['LEEF:1.0|V|P', 'LEEF header has 3 of 5 fields (LEEF:Version|Vendor|Product|Version|EventID|)'],
    ['LEEF:2.0|V|P|1|id|xZZ|a=b', "LEEF 2.0 delimiter 'xZZ' is not a character or hex code"],
    ['LEEF:2.0|V|P|1|id|0x|a=b', "LEEF 2.0 delimiter '0x' is not a character or hex code"],
    ['LEEF:2.0|V|P|1|id|x12345|a=b', "LEEF 2.0 delimiter 'x12345' is not a character or hex code"],
    ['LEEF:2.0|V|P|1|id|tab|a=b', "LEEF 2.0 delimiter 'tab' is not a character or hex code"],
    ['LEEF:2.0|V|P|1|id|=|a=b', "LEEF 2.0 delimiter '=' cannot be used (it separates keys from values)"],
    ['LEEF:2.0|V|P|1|id|x0A|a=b', 'LEEF 2.0 delimiter cannot be a line break'],
    ['LEEF:1.0|V|P|1|id|noequals', "LEEF attribute 'noequals' has no '='"],
    ['LEEF:1.0|V|P|1|id|a=1\tjunk\tb=2', "LEEF attribute 'junk' has no '='"],
    ['LEEF:1.0|V|P|1|id|=v', "LEEF attribute '=v' has an empty key"],
    ['LEEF:2.0|V|P|1|id|^|a=1^ =2', "LEEF attribute ' =2' has an empty key"],
    ['<200>LEEF:1.0|V|P|1|id|', 'syslog priority <200> is out of range 0–191'],
    ['<13>1 2024-13-01T00:00:00Z host LEEF:1.0|V|P|1|id|', "RFC 5424 timestamp '2024-13-01T00:00:00Z' is not RFC 3339"],
    ['<13>Jan 18 11:07:53 host CEF:0|a|b|c|d|e|5|', "expected 'LEEF:' after the syslog header, found 'CEF:0|a|b|c|d|e|5|'"],
  ])('%p', (line, message) => {
    expect(err(line)).toBe(message);
  });
});

describe('parseLeef: limits and pathological input', () => {
  test('lines over 64 KiB are rejected', () => {
    expect(err(`LEEF:1.0|V|P|1|id|a=${'x'.repeat(70_000)}`)).toBe('line is more than 65536 bytes long; the limit is 65536 bytes (64 KiB)');
  });

  test('pathological lines parse in linear time', () => {
    const started = performance.now();
    expect(err('\\'.repeat(100_000))).toMatch(/^line is more than 65536 bytes long/);
    expect(ok(`LEEF:1.0|V|P|1|id|${'\t'.repeat(60_000)}a=1`).extensions).toEqual({ a: '1' });
    expect(ok(`LEEF:1.0|V|P|1|id|${' \t'.repeat(30_000)}a=1`).extensions).toEqual({ a: '1' });
    expect(ok(`LEEF:1.0|V|P|1|id|a=${'='.repeat(60_000)}`).extensions['a']).toHaveLength(60_000);
    expect(ok(`LEEF:2.0|V|P|1|id|^|${'a=^'.repeat(20_000)}`).extensions).toEqual({ a: '' });
    expect(ok(`LEEF:1.0|${'\\\\'.repeat(30_000)}|P|1|id|`).vendor).toBe('\\'.repeat(30_000));
    expect(err(`LEEF:2.0|V|P|1|id|${'|'.repeat(60_000)}`)).toMatch(/^LEEF attribute '\|+…' has no '='$/);
    expect(err(`LEEF:1.0${'|'.repeat(3)}${'x'.repeat(60_000)}`)).toBe('LEEF header has 4 of 5 fields (LEEF:Version|Vendor|Product|Version|EventID|)');
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('parseLine / parseLines with LEEF', () => {
  test('per-line results', () => {
    const results = parseLines('LEEF', ['LEEF:1.0|V|P|1|id|a=1', 'LEEF:9|x', 'LEEF:2.0|V|P|1|id|^|b=2']);
    expect(results).toEqual([
      expect.objectContaining({ ok: true, record: expect.objectContaining({ extensions: { a: '1' } }) }),
      { ok: false, error: 'unknown LEEF version 9' },
      expect.objectContaining({ ok: true, record: expect.objectContaining({ extensions: { b: '2' } }) }),
    ]);
    expect(parseLine('leef' as 'LEEF', 'LEEF:1.0|V|P|1|id|')).toMatchObject({ ok: true, record: { format: 'LEEF' } });
  });
});

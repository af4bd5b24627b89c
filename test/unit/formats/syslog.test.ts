import {
  checkLineLength,
  compileDatePattern,
  MAX_LINE_BYTES,
  parseEventTimestamp,
  parseIsoTimestamp,
  parseWithPattern,
  stripSyslogPrefix,
  utf8Length,
  type DatePattern,
} from '../../../src/adapters/formats/syslog.js';

const now = new Date('2024-06-15T12:00:00Z');
const BODY = 'CEF:0|a|b|c|d|e|5|k=v';

describe('stripSyslogPrefix', () => {
  test('no prefix: the line comes back unchanged', () => {
    expect(stripSyslogPrefix(BODY)).toEqual({ ok: true, header: null, body: BODY });
    expect(stripSyslogPrefix('LEEF:1.0|x')).toEqual({ ok: true, header: null, body: 'LEEF:1.0|x' });
    expect(stripSyslogPrefix('garbage')).toEqual({ ok: true, header: null, body: 'garbage' });
  });

  test('PRI only', () => {
    expect(stripSyslogPrefix(`<0>${BODY}`)).toEqual({
      ok: true,
      body: BODY,
      header: { format: 'pri', priority: 0, facility: 0, severity: 0, timestamp: null, host: null, appName: null, procId: null, msgId: null, structuredData: null },
    });
    expect(stripSyslogPrefix(`<191>${BODY}`)).toMatchObject({ ok: true, header: { facility: 23, severity: 7 } });
  });

  describe('RFC 3164', () => {
    test('<PRI>Mmm dd hh:mm:ss host', () => {
      expect(stripSyslogPrefix(`<13>Jan 18 11:07:53 192.168.1.1 ${BODY}`, { now })).toEqual({
        ok: true,
        body: BODY,
        header: {
          format: 'rfc3164',
          priority: 13,
          facility: 1,
          severity: 5,
          timestamp: '2024-01-18T11:07:53.000Z',
          host: '192.168.1.1',
          appName: null,
          procId: null,
          msgId: null,
          structuredData: null,
        },
      });
    });

    test('space-padded day, tag with pid, no PRI', () => {
      const r = stripSyslogPrefix(`Feb  3 01:02:03 myhost sshd[812]: ${BODY}`, { now });
      expect(r).toMatchObject({
        ok: true,
        body: BODY,
        header: { priority: null, timestamp: '2024-02-03T01:02:03.000Z', host: 'myhost', appName: 'sshd', procId: '812' },
      });
    });

    test('a tag without a pid', () => {
      expect(stripSyslogPrefix(`<13>Jun 15 10:00:00 h ArcSight: ${BODY}`, { now })).toMatchObject({
        body: BODY,
        header: { host: 'h', appName: 'ArcSight', procId: null },
      });
    });

    test('an explicit year and fractional seconds', () => {
      expect(stripSyslogPrefix(`<13>Mar 1 2021 10:00:00.250 h ${BODY}`, { now })).toMatchObject({
        body: BODY,
        header: { timestamp: '2021-03-01T10:00:00.250Z', host: 'h' },
      });
    });

    test('no host before the payload', () => {
      expect(stripSyslogPrefix(`<13>Jun 15 10:00:00 ${BODY}`, { now })).toMatchObject({ body: BODY, header: { host: null } });
    });

    test('a word after the host that is not a tag stays in the body', () => {
      expect(stripSyslogPrefix(`<13>Jun 15 10:00:00 h something ${BODY}`, { now })).toMatchObject({
        ok: true,
        body: `something ${BODY}`,
        header: { host: 'h', appName: null },
      });
    });

    test.each([
      ['2025-01-01T00:05:00Z', 'Dec 31 23:59:00', '2024-12-31T23:59:00.000Z'],
      ['2024-12-31T23:58:00Z', 'Jan  1 00:01:00', '2025-01-01T00:01:00.000Z'],
      ['2025-01-10T00:00:00Z', 'Jun  1 00:00:00', '2024-06-01T00:00:00.000Z'],
      ['2024-06-15T12:00:00Z', 'Jun 17 00:00:00', '2024-06-17T00:00:00.000Z'],
      ['2024-06-15T12:00:00Z', 'Jun 18 00:00:00', '2023-06-18T00:00:00.000Z'],
    ])('year inference: now=%s, %s → %s', (at, stamp, iso) => {
      expect(stripSyslogPrefix(`<13>${stamp} h ${BODY}`, { now: new Date(at) })).toMatchObject({ header: { timestamp: iso } });
    });
  });

  describe('RFC 5424', () => {
    test('all header fields, SD "-"', () => {
      expect(stripSyslogPrefix(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 - ${BODY}`)).toEqual({
        ok: true,
        body: BODY,
        header: {
          format: 'rfc5424',
          priority: 165,
          facility: 20,
          severity: 5,
          timestamp: '2003-10-11T22:14:15.003Z',
          host: 'mymachine.example.com',
          appName: 'evntslog',
          procId: '1234',
          msgId: 'ID47',
          structuredData: null,
        },
      });
    });

    test('nil fields and several SD elements with escapes', () => {
      const sd = '[exampleSDID@32473 iut="3" eventSource="Appli\\"cation\\]" eventID="1011"][examplePriority@32473 class="high"]';
      expect(stripSyslogPrefix(`<13>1 - - - - - ${sd} ${BODY}`)).toMatchObject({
        ok: true,
        body: BODY,
        header: { timestamp: null, host: null, appName: null, procId: null, msgId: null, structuredData: sd },
      });
    });

    test('a UTF-8 BOM before the message is removed', () => {
      expect(stripSyslogPrefix(`<13>1 2024-06-15T10:00:00Z h a p m - \uFEFF${BODY}`)).toMatchObject({ body: BODY });
    });

    test('offsets are applied', () => {
      expect(stripSyslogPrefix(`<13>1 2024-06-15T10:00:00.123456-07:00 h a p m - ${BODY}`)).toMatchObject({
        header: { timestamp: '2024-06-15T17:00:00.123Z' },
      });
    });

    test('the short form ends wherever the payload starts (QRadar)', () => {
      expect(stripSyslogPrefix(`<133>1 2019-01-18T11:07:53.520+07:00 myhostname ${BODY}`)).toMatchObject({
        ok: true,
        body: BODY,
        header: { host: 'myhostname', appName: null, timestamp: '2019-01-18T04:07:53.520Z' },
      });
      expect(stripSyslogPrefix(`<13>1 - h app ${BODY}`)).toMatchObject({ body: BODY, header: { host: 'h', appName: 'app' } });
    });

    test('a header with no message has an empty body', () => {
      expect(stripSyslogPrefix('<13>1 - h a p m -')).toMatchObject({ ok: true, body: '' });
    });
  });

  test.each([
    ['<13', "syslog priority must be 1–3 digits in angle brackets, found '<13'"],
    ['<>x', "syslog priority must be 1–3 digits in angle brackets, found '<>x'"],
    ['<1234>x', "syslog priority must be 1–3 digits in angle brackets, found '<1234>x'"],
    ['<192>x', 'syslog priority <192> is out of range 0–191'],
    ['<13>0 - h', 'syslog version 0 is not supported (RFC 5424 defines version 1)'],
    ['<13>1 2024-06-15 h a p m - x', "RFC 5424 timestamp '2024-06-15' is not RFC 3339"],
    ['<13>1 -  h a p m - x', 'RFC 5424 header has an empty host field (two spaces in a row)'],
    ['<13>1 - h a p m [x@1 a="]"', "RFC 5424 structured data is not terminated by ']'"],
    ['<13>1 - h a p m [x@1]x', "RFC 5424 structured data must be followed by a space, found 'x'"],
    ['<13>Jun 15 1000 h x', "RFC 3164 timestamp 'Jun 15 1000 h' is not 'Mmm dd hh:mm:ss'"],
    ['Jun 1x 10:00:00 h x', "RFC 3164 timestamp 'Jun 1x 10:00:00' is not 'Mmm dd hh:mm:ss'"],
  ])('%p → error', (line, error) => {
    expect(stripSyslogPrefix(line, { now })).toEqual({ ok: false, error });
  });
});

describe('date patterns', () => {
  function compile(p: string): DatePattern {
    const r = compileDatePattern(p);
    if (!r.ok) throw new Error(r.error);
    return r.pattern;
  }

  test.each([
    ['', 'date pattern is empty'],
    ['yyyy-MM-dd GG', "date pattern letter 'G' in 'yyyy-MM-dd GG' is not supported"],
    ["yyyy-MM-dd'T", "date pattern 'yyyy-MM-dd'T' has an unterminated quote"],
    ['HH:mm:ss', "date pattern 'HH:mm:ss' has no month (M)"],
    ['yyyy-MM', "date pattern 'yyyy-MM' has no day of month (d)"],
    ['y'.repeat(101), `date pattern '${'y'.repeat(40)}…' is longer than 100 characters`],
  ])('compile %p → error', (pattern, error) => {
    expect(compileDatePattern(pattern)).toEqual({ ok: false, error });
  });

  test.each([
    ['MMM dd yyyy HH:mm:ss', 'Jun 15 2024 10:00:00', '2024-06-15T10:00:00.000Z'],
    ['MMM dd yyyy HH:mm:ss', 'JUN  5 2024 10:00:00', '2024-06-05T10:00:00.000Z'],
    ['MMMM d, yyyy H:mm', 'September 9, 2024 7:05', '2024-09-09T07:05:00.000Z'],
    ["yyyy-MM-dd'T'HH:mm:ss.SSSZ", '2024-06-15T10:00:00.999-0130', '2024-06-15T11:30:00.999Z'],
    ["yyyy-MM-dd'T'HH:mm:ssXXX", '2024-06-15T10:00:00Z', '2024-06-15T10:00:00.000Z'],
    ["yyyy-MM-dd'T'HH:mm:ssX", '2024-06-15T10:00:00+05', '2024-06-15T05:00:00.000Z'],
    ['dd.MM.yy HH:mm', '01.02.99 00:00', '1999-02-01T00:00:00.000Z'],
    ['yyyyMMdd', '20240229', '2024-02-29T00:00:00.000Z'],
    ['dd/MMM/yyyy:HH:mm:ss Z', '15/Jun/2024:10:00:00 +0000', '2024-06-15T10:00:00.000Z'],
    ['MMM dd yyyy kk:mm:ss', 'Jun 15 2024 24:00:00', '2024-06-15T00:00:00.000Z'],
    ['MMM dd yyyy KK:mm a', 'Jun 15 2024 11:30 pm', '2024-06-15T23:30:00.000Z'],
    ['MMM dd yyyy HH:mm:ss z', 'Jun 15 2024 10:00:00 PDT', '2024-06-15T17:00:00.000Z'],
    ['MMM dd yyyy HH:mm:ss z', 'Jun 15 2024 10:00:00 CEST', '2024-06-15T08:00:00.000Z'],
    ['MMM dd yyyy HH:mm:ss z', 'Jun 15 2024 10:00:00 UTC-03:30', '2024-06-15T13:30:00.000Z'],
  ])('%p parses %p', (pattern, value, iso) => {
    expect(parseWithPattern(compile(pattern), value, { now })).toBe(iso);
  });

  test.each([
    ['yyyyMMdd', '20230229'],
    ['yyyyMMdd', '202406'],
    ['yyyyMMdd', '2024-06-01'],
    ['MMM dd yyyy HH:mm:ss', 'Foo 15 2024 10:00:00'],
    ['MMM dd yyyy HH:mm:ss', 'Jun 15 2024 10:00:00 extra'],
    ['MMM dd yyyy HH:mm:ss', 'Jun 15 2024 10:00'],
    ['MMM dd yyyy hh:mm:ss', 'Jun 15 2024 13:00:00'],
    ['MMM dd yyyy HH:mm:ss z', 'Jun 15 2024 10:00:00 Mars/Olympus'],
    ['MMM dd yyyy HH:mm:ss Z', 'Jun 15 2024 10:00:00 +2500'],
  ])('%p rejects %p', (pattern, value) => {
    expect(parseWithPattern(compile(pattern), value, { now })).toBeNull();
  });

  test('parseEventTimestamp and parseIsoTimestamp', () => {
    expect(parseEventTimestamp('1718445600123')).toBe('2024-06-15T10:00:00.123Z');
    expect(parseEventTimestamp('Jun 15 2024 10:00:00.123 GMT')).toBe('2024-06-15T10:00:00.123Z');
    expect(parseEventTimestamp('')).toBeNull();
    expect(parseEventTimestamp('253402300800000')).toBeNull(); // year 10000
    expect(parseIsoTimestamp('2024-06-15T10:00:00')).toBe('2024-06-15T10:00:00.000Z');
    expect(parseIsoTimestamp('Jun 15 2024 10:00:00')).toBeNull();
  });
});

describe('line length', () => {
  test('utf8Length counts bytes', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
    expect(utf8Length('\ud800x')).toBe(4);
    expect(utf8Length('€😀a')).toBe(Buffer.byteLength('€😀a'));
  });

  test('checkLineLength', () => {
    expect(MAX_LINE_BYTES).toBe(65536);
    expect(checkLineLength('x'.repeat(MAX_LINE_BYTES))).toBeNull();
    expect(checkLineLength('😀'.repeat(MAX_LINE_BYTES / 4))).toBeNull();
    expect(checkLineLength('😀'.repeat(MAX_LINE_BYTES / 4) + 'x')).toBe('line is 65537 bytes long; the limit is 65536 bytes (64 KiB)');
  });
});

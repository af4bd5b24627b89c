import fc from 'fast-check';
import { scanPipeHeader } from '../../../src/adapters/formats/cef.js';
import {
  escapeCefExtensionValue,
  escapeCefHeader,
  formatCef,
  formatLeef,
  parseCef,
  parseLeef,
  parseLine,
  parseLines,
  scanCefExtension,
  type ParseResult,
} from '../../../src/adapters/formats/index.js';

const NUM_RUNS = 300;

/** What CEF does to extension values: ASCII spaces at the ends are not preserved. */
function trimSpaces(s: string): string {
  return s.replace(/^ +/, '').replace(/ +$/, '');
}

function checkShape(r: ParseResult, format: 'CEF' | 'LEEF'): void {
  expect(typeof r.ok).toBe('boolean');
  if (!r.ok) {
    expect(typeof r.error).toBe('string');
    expect(r.error.length).toBeGreaterThan(0);
    return;
  }
  const rec = r.record;
  expect(rec.kind).toBe('event');
  expect(rec.format).toBe(format);
  if (rec.severity !== null) {
    expect(Number.isInteger(rec.severity)).toBe(true);
    expect(rec.severity).toBeGreaterThanOrEqual(0);
    expect(rec.severity).toBeLessThanOrEqual(10);
  }
  for (const port of [rec.srcPort, rec.dstPort]) {
    if (port !== null) {
      expect(Number.isInteger(port)).toBe(true);
      expect(port).toBeGreaterThanOrEqual(0);
      expect(port).toBeLessThanOrEqual(65535);
    }
  }
  if (rec.timestamp !== null) expect(new Date(rec.timestamp).toISOString()).toBe(rec.timestamp);
  for (const v of Object.values(rec.extensions)) expect(typeof v).toBe('string');
}

// Tokens that steer random input into the interesting corners of both grammars.
const token = fc.constantFrom(
  'CEF:', 'CEF:0|', 'LEEF:', 'LEEF:1.0|', 'LEEF:2.0|', '0', '1', '1.0', '2.0', '|', '\\', '\\\\', '\\|', '\\=', '=', ' ', '  ',
  '\t', 'a', 'k', 'src', 'spt', 'rt', 'sev', 'devTime', 'devTimeFormat', 'x5E', '0x', 'xZZ', '^', '<', '>', '<13>', '<191>',
  '1 ', '-', '[', ']', '"', 'Jun', ' 15 ', '2024', '10:00:00', '.123', 'Z', '+02:00', 'EST', 'yyyy', 'MMM', 'dd', "'", 'é',
  '\n', '\r', '😀', '\ud800', '\u0000', 'High', 'Unknown', '65536', '9',
);
const structured = fc.array(token, { maxLength: 60 }).map((parts) => parts.join(''));
const prefixed = fc
  .tuple(
    fc.constantFrom('CEF:0|a|b|c|d|e|5|', 'LEEF:1.0|v|p|1|id|', 'LEEF:2.0|v|p|1|id|', '<13>1 - h a p m - ', '<13>Jun 15 10:00:00 h ', ''),
    structured,
  )
  .map(([a, b]) => a + b);
const anyLine = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), structured, prefixed);

describe('parsers never throw', () => {
  test('parseCef on arbitrary input returns ok or an error', () => {
    fc.assert(fc.property(anyLine, (line) => checkShape(parseCef(line), 'CEF')), { numRuns: 2000 });
  });

  test('parseLeef on arbitrary input returns ok or an error', () => {
    fc.assert(fc.property(anyLine, (line) => checkShape(parseLeef(line), 'LEEF')), { numRuns: 2000 });
  });

  test('parseLine on arbitrary input, including non-strings', () => {
    const weird = fc.oneof(anyLine, fc.anything()) as fc.Arbitrary<string>;
    fc.assert(
      fc.property(fc.constantFrom('CEF', 'LEEF') as fc.Arbitrary<'CEF' | 'LEEF'>, weird, (format, line) => {
        checkShape(parseLine(format, line), format);
      }),
      { numRuns: 1000 },
    );
  });
});

// ------------------------------------------------------------------------------------------------
// Round trips
// ------------------------------------------------------------------------------------------------

const headerText = fc.option(
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '|', '\\', '=', '\n', '\r', '\t', 'é', '^', 'n', '😀'), minLength: 1, maxLength: 12 }),
  { nil: null },
);
const isoDate = fc.option(
  fc.date({ min: new Date('1970-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  { nil: null },
);
const port = fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null });

const CEF_MAPPED = new Set([
  'src', 'sourceAddress', 'dst', 'destinationAddress', 'spt', 'sourcePort', 'dpt', 'destinationPort', 'suser', 'sourceUserName',
  'duser', 'destinationUserName', 'rt', 'receiptTime', 'cat', 'deviceEventCategory',
]);
const cefKey = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,10}$/).filter((k) => !CEF_MAPPED.has(k));
// Units include a fake " x=" so a value that looks like it contains another pair is exercised.
const cefValueUnit = fc.constantFrom('a', 'b', ' ', ' ', '=', '\\', '\\n', '\n', '\r', '|', ' x=', 'x', '\t', 'é', '😀');
const cefValue = fc.string({ unit: cefValueUnit, maxLength: 16 });
const cefMappedValue = fc.option(
  fc.string({ unit: cefValueUnit, minLength: 1, maxLength: 12 }).filter((s) => s !== '' && trimSpaces(s) === s),
  { nil: null },
);
const cefSeverity = fc.oneof(
  fc.integer({ min: 0, max: 10 }).map((n) => ({ written: n as number | string | null, parsed: n as number | null })),
  fc.constantFrom(
    { written: 'Low', parsed: 3 },
    { written: 'Medium', parsed: 6 },
    { written: 'High', parsed: 8 },
    { written: 'Very-High', parsed: 10 },
    { written: null, parsed: null },
  ),
);

describe('CEF round trip: formatCef → parseCef', () => {
  test('every header field, mapped field and extension value comes back', () => {
    fc.assert(
      fc.property(
        fc.record({
          version: fc.constantFrom(0 as const, 1 as const),
          vendor: headerText,
          product: headerText,
          productVersion: headerText,
          eventId: headerText,
          name: headerText,
          severity: cefSeverity,
          timestamp: isoDate,
          src: cefMappedValue,
          dst: cefMappedValue,
          srcPort: port,
          dstPort: port,
          user: cefMappedValue,
          category: cefMappedValue,
          extensions: fc.dictionary(cefKey, cefValue, { maxKeys: 6 }),
        }),
        (input) => {
          const line = formatCef({ ...input, severity: input.severity.written });
          expect(line).not.toMatch(/[\r\n]/);
          const r = parseCef(line);
          const extensions: Record<string, string> = {};
          for (const [k, v] of Object.entries(input.extensions)) extensions[k] = trimSpaces(v);
          expect(r).toEqual({
            ok: true,
            record: {
              kind: 'event',
              format: 'CEF',
              vendor: input.vendor,
              product: input.product,
              productVersion: input.productVersion,
              eventId: input.eventId,
              name: input.name,
              severity: input.severity.parsed,
              timestamp: input.timestamp,
              src: input.src,
              dst: input.dst,
              srcPort: input.srcPort,
              dstPort: input.dstPort,
              user: input.user,
              category: input.category,
              extensions,
            },
          });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  test('escapeCefHeader is undone by the header scanner', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '|', '\\', '\n', '\r', '=', ' ', 'n', 'r') }), (v) => {
        const escaped = escapeCefHeader(v);
        expect(escaped).not.toMatch(/[\r\n]/);
        expect(scanPipeHeader(`${escaped}|rest`, 0, 1)).toEqual({ fields: [v], pending: null, end: escaped.length + 1 });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('escapeCefExtensionValue is undone by the extension scanner, also before another pair', () => {
    fc.assert(
      fc.property(cefValue, cefValue, (v, w) => {
        const escaped = escapeCefExtensionValue(v);
        expect(escaped).not.toMatch(/[\r\n]/);
        expect(scanCefExtension(`k=${escaped} other=${escapeCefExtensionValue(w)}`)).toEqual({
          ok: true,
          keys: ['k', 'other'],
          values: [trimSpaces(v), trimSpaces(w)],
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

const LEEF_MAPPED = new Set(['src', 'dst', 'srcPort', 'dstPort', 'usrName', 'sev', 'cat', 'devTime', 'devTimeFormat']);
const leefKey = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,10}$/).filter((k) => !LEEF_MAPPED.has(k));
// No line breaks (LEEF has no escape for them) and never '~', so automatic delimiter choice always succeeds.
const leefUnits = ['a', 'b', ' ', '=', '\\', '|', '^', 'é', ':', '"', 'x', '😀'];
const leefCase = fc.oneof(
  fc.record({ version: fc.constant('1.0' as const), delimiter: fc.constant(undefined), units: fc.constant(leefUnits) }),
  fc.record({
    version: fc.constant('2.0' as const),
    delimiter: fc.constantFrom(undefined, '#', ';', '~', '\u0001', '!', '\u00a6', '`'),
    units: fc.constant([...leefUnits, '\t']),
  }),
);

describe('LEEF round trip: formatLeef → parseLeef', () => {
  test('every header field, mapped field and attribute comes back verbatim', () => {
    fc.assert(
      fc.property(
        leefCase.chain(({ version, delimiter, units }) => {
          const unit = fc.constantFrom(...units);
          return fc.record({
            version: fc.constant(version),
            delimiter: fc.constant(delimiter),
            vendor: headerText,
            product: headerText,
            productVersion: headerText,
            eventId: headerText,
            severity: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
            timestamp: isoDate,
            src: fc.option(fc.string({ unit, minLength: 1, maxLength: 12 }), { nil: null }),
            dst: fc.option(fc.string({ unit, minLength: 1, maxLength: 12 }), { nil: null }),
            srcPort: port,
            dstPort: port,
            user: fc.option(fc.string({ unit, minLength: 1, maxLength: 12 }), { nil: null }),
            category: fc.option(fc.string({ unit, minLength: 1, maxLength: 12 }), { nil: null }),
            extensions: fc.dictionary(leefKey, fc.string({ unit, maxLength: 16 }), { maxKeys: 6 }),
          });
        }),
        (input) => {
          const line = formatLeef(input);
          expect(line.startsWith(`LEEF:${input.version}|`)).toBe(true);
          expect(parseLeef(line)).toEqual({
            ok: true,
            record: {
              kind: 'event',
              format: 'LEEF',
              vendor: input.vendor,
              product: input.product,
              productVersion: input.productVersion,
              eventId: input.eventId,
              name: input.eventId,
              severity: input.severity,
              timestamp: input.timestamp,
              src: input.src,
              dst: input.dst,
              srcPort: input.srcPort,
              dstPort: input.dstPort,
              user: input.user,
              category: input.category,
              extensions: input.extensions,
            },
          });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  test('devTime written in a Java pattern reads back as the same instant', () => {
    const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const p2 = (n: number) => String(n).padStart(2, '0');
    fc.assert(
      fc.property(
        // Bounds keep the rendered wall-clock year within four digits.
        fc.date({ min: new Date('1000-01-02T00:00:00Z'), max: new Date('9999-12-30T23:59:59.999Z'), noInvalidDate: true }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (date, offset) => {
          // Render the wall-clock time at `offset` minutes east of UTC, with the offset, in two patterns.
          const local = new Date(date.getTime() + offset * 60_000);
          const sign = offset < 0 ? '-' : '+';
          const off = `${sign}${p2(Math.floor(Math.abs(offset) / 60))}${p2(Math.abs(offset) % 60)}`;
          const y = String(local.getUTCFullYear()).padStart(4, '0');
          const hms = `${p2(local.getUTCHours())}:${p2(local.getUTCMinutes())}:${p2(local.getUTCSeconds())}`;
          const ms = String(local.getUTCMilliseconds()).padStart(3, '0');
          const a = `${MON[local.getUTCMonth()]} ${p2(local.getUTCDate())} ${y} ${hms}.${ms} ${off}`;
          const b = `${y}-${p2(local.getUTCMonth() + 1)}-${p2(local.getUTCDate())}T${hms}.${ms}${off}`;
          for (const [devTime, format] of [
            [a, 'MMM dd yyyy HH:mm:ss.SSS Z'],
            [b, "yyyy-MM-dd'T'HH:mm:ss.SSSZ"],
          ] as const) {
            const r = parseLeef(`LEEF:2.0|V|P|1|id|^|devTime=${devTime}^devTimeFormat=${format}`);
            expect(r).toMatchObject({ ok: true, record: { timestamp: date.toISOString(), extensions: {} } });
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('parseLines', () => {
  test('one result per line, each equal to parsing that line alone', () => {
    const line = fc.oneof(
      anyLine,
      fc.record({ name: headerText, extensions: fc.dictionary(cefKey, cefValue, { maxKeys: 3 }) }).map((r) => formatCef({ ...r, severity: 5 })),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
        const results = parseLines('CEF', lines);
        expect(results).toHaveLength(lines.length);
        results.forEach((r, i) => expect(r).toEqual(parseCef(lines[i]!)));
      }),
      { numRuns: 200 },
    );
  });
});

import fc from 'fast-check';
import {
  DAY_MS,
  formatNvdDate,
  nvdTimestampToIso,
  parseNvdTimestamp,
  splitDateWindows,
} from '../../../src/adapters/nvd/windows.js';
import { parseNvdDateParam } from '../../helpers/nvd-server.js';

const iso = (windows: Array<{ start: Date; end: Date }>) => windows.map((w) => [w.start.toISOString(), w.end.toISOString()]);

describe('splitDateWindows', () => {
  const start = new Date('2024-01-01T00:00:00.000Z');

  test('a range of exactly 120 days is one window', () => {
    const end = new Date(start.getTime() + 120 * DAY_MS);
    expect(iso(splitDateWindows(start, end))).toEqual([['2024-01-01T00:00:00.000Z', '2024-04-30T00:00:00.000Z']]);
  });

  test('one millisecond more makes a second, 1 ms window', () => {
    const end = new Date(start.getTime() + 120 * DAY_MS + 1);
    expect(iso(splitDateWindows(start, end))).toEqual([
      ['2024-01-01T00:00:00.000Z', '2024-04-30T00:00:00.000Z'],
      ['2024-04-30T00:00:00.000Z', '2024-04-30T00:00:00.001Z'],
    ]);
  });

  test('a year splits into 120/120/120/6-day windows (2024 is a leap year)', () => {
    const end = new Date('2025-01-01T00:00:00.000Z');
    expect(iso(splitDateWindows(start, end))).toEqual([
      ['2024-01-01T00:00:00.000Z', '2024-04-30T00:00:00.000Z'],
      ['2024-04-30T00:00:00.000Z', '2024-08-28T00:00:00.000Z'],
      ['2024-08-28T00:00:00.000Z', '2024-12-26T00:00:00.000Z'],
      ['2024-12-26T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
    ]);
  });

  test('a custom maximum', () => {
    const end = new Date('2024-01-08T12:00:00.000Z');
    expect(iso(splitDateWindows(start, end, 3))).toEqual([
      ['2024-01-01T00:00:00.000Z', '2024-01-04T00:00:00.000Z'],
      ['2024-01-04T00:00:00.000Z', '2024-01-07T00:00:00.000Z'],
      ['2024-01-07T00:00:00.000Z', '2024-01-08T12:00:00.000Z'],
    ]);
  });

  test('an empty range gives no window; bad input throws', () => {
    expect(splitDateWindows(start, new Date(start))).toEqual([]);
    expect(() => splitDateWindows(new Date(start.getTime() + 1), start)).toThrow(RangeError);
    expect(() => splitDateWindows(new Date('nope'), start)).toThrow('start is not a valid Date');
    expect(() => splitDateWindows(start, new Date(Number.NaN))).toThrow('end is not a valid Date');
    expect(() => splitDateWindows(start, new Date(start.getTime() + DAY_MS), 0)).toThrow(RangeError);
    expect(() => splitDateWindows(start, new Date(start.getTime() + DAY_MS), Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  test('property: windows are contiguous, cover [start, end] exactly and respect the maximum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: 1, max: 3 * 365 * DAY_MS }),
        fc.integer({ min: 1, max: 200 }),
        (s, length, maxDays) => {
          const windows = splitDateWindows(new Date(s), new Date(s + length), maxDays);
          expect(windows.length).toBe(Math.ceil(length / (maxDays * DAY_MS)));
          expect(windows[0]!.start.getTime()).toBe(s);
          expect(windows[windows.length - 1]!.end.getTime()).toBe(s + length);
          for (let i = 0; i < windows.length; i++) {
            const w = windows[i]!;
            const span = w.end.getTime() - w.start.getTime();
            expect(span).toBeGreaterThan(0);
            expect(span).toBeLessThanOrEqual(maxDays * DAY_MS);
            if (i > 0) expect(w.start.getTime()).toBe(windows[i - 1]!.end.getTime());
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('formatNvdDate', () => {
  test('UTC, milliseconds, Z', () => {
    expect(formatNvdDate(new Date(Date.UTC(2024, 0, 1)))).toBe('2024-01-01T00:00:00.000Z');
    expect(formatNvdDate(new Date('2024-07-15T23:30:45.678+05:30'))).toBe('2024-07-15T18:00:45.678Z');
  });

  test('invalid dates throw', () => {
    expect(() => formatNvdDate(new Date('not a date'))).toThrow(RangeError);
  });

  test('the fake NVD accepts the format and reads back the same instant', () => {
    const d = new Date('2023-10-05T06:07:08.009Z');
    expect(parseNvdDateParam(formatNvdDate(d))).toBe(d.getTime());
  });
});

describe('parseNvdTimestamp / nvdTimestampToIso', () => {
  test('zone-less NVD timestamps are UTC', () => {
    expect(parseNvdTimestamp('2024-01-02T15:15:08.123')?.toISOString()).toBe('2024-01-02T15:15:08.123Z');
    expect(nvdTimestampToIso('2024-01-02T15:15:08')).toBe('2024-01-02T15:15:08.000Z');
    expect(nvdTimestampToIso('2024-01-02T15:15:08.1')).toBe('2024-01-02T15:15:08.100Z');
    expect(nvdTimestampToIso('2024-01-02T15:15:08.123456')).toBe('2024-01-02T15:15:08.123Z');
  });

  test('explicit zones are honoured', () => {
    expect(nvdTimestampToIso('2024-01-02T15:15:08.123Z')).toBe('2024-01-02T15:15:08.123Z');
    expect(nvdTimestampToIso('2024-01-02T01:00:00.000+02:00')).toBe('2024-01-01T23:00:00.000Z');
    expect(nvdTimestampToIso('2024-01-02T23:00:00.000-05:30')).toBe('2024-01-03T04:30:00.000Z');
  });

  test('rejects impossible or malformed values', () => {
    expect(parseNvdTimestamp('2024-02-30T00:00:00')).toBeNull();
    expect(parseNvdTimestamp('2024-01-01T24:00:00')).toBeNull();
    expect(parseNvdTimestamp('2024-01-01')).toBeNull();
    expect(parseNvdTimestamp('01/02/2024')).toBeNull();
    expect(parseNvdTimestamp('2024-01-01T00:00:00+25:00')).toBeNull();
    expect(parseNvdTimestamp(undefined)).toBeNull();
    expect(nvdTimestampToIso(null)).toBeNull();
    expect(parseNvdTimestamp('2024-02-29T00:00:00')?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });
});

import { dedupKeyOf, identifyingFields, observedAtOf, recordId, severityOf, titleOf } from '../../../src/modules/records/record-identity.js';
import type { NormalizedRecord } from '../../../src/adapters/records.js';

const event = (extra: Record<string, unknown> = {}) =>
  ({ kind: 'event', format: 'CEF', vendor: 'Acme', product: 'FW', productVersion: '1', eventId: '100', name: 'Port scan', severity: 7, timestamp: '2026-12-03T08:00:00Z', src: '192.0.2.1', dst: '198.51.100.2', srcPort: 1, dstPort: 22, user: null, extensions: {}, ...extra }) as NormalizedRecord;

describe('dedup keys: the fields that identify the same finding', () => {
  test('an event re-sent with a new timestamp, receipt id and ports is the same finding', () => {
    expect(dedupKeyOf(event())).toBe(dedupKeyOf(event({ timestamp: '2026-12-03T09:00:00Z', srcPort: 999, extensions: { rt: 'x', externalId: 'r-2' } })));
  });

  test.each([
    ['vendor', { vendor: 'Other' }],
    ['product', { product: 'IDS' }],
    ['signature id', { eventId: '101' }],
    ['name', { name: 'Other scan' }],
    ['source', { src: '192.0.2.9' }],
    ['destination', { dst: '198.51.100.9' }],
  ])('another %s is another finding', (_field, change) => {
    expect(dedupKeyOf(event(change))).not.toBe(dedupKeyOf(event()));
  });

  test('vulnerabilities by CVE id and lastModified; indicators by type and value; transactions by chain, hash, token and log index', () => {
    const cve = (lastModified: string, description: string) => ({ kind: 'vulnerability', id: 'CVE-2024-0001', lastModified, description, published: null, status: null, severity: null, cvss: [], cwes: [], cpes: [], references: [] }) as NormalizedRecord;
    expect(dedupKeyOf(cve('2024-01-01', 'a'))).toBe(dedupKeyOf(cve('2024-01-01', 'b')));
    expect(dedupKeyOf(cve('2024-01-01', 'a'))).not.toBe(dedupKeyOf(cve('2024-02-01', 'a')));
    const ioc = (value: string, confidence: number) => ({ kind: 'indicator', type: 'ipv4', value, confidence, firstSeen: null, labels: [] }) as NormalizedRecord;
    expect(dedupKeyOf(ioc('192.0.2.1', 50))).toBe(dedupKeyOf(ioc('192.0.2.1', 90)));
    expect(dedupKeyOf(ioc('192.0.2.1', 50))).not.toBe(dedupKeyOf(ioc('192.0.2.2', 50)));
    const tx = (extra: Record<string, unknown>) => ({ kind: 'transaction', chain: 'ethereum', hash: '0xabc', blockNumber: 1, from: '0x1', to: '0x2', value: '1', timestamp: null, ...extra }) as NormalizedRecord;
    expect(dedupKeyOf(tx({ blockNumber: 2 }))).toBe(dedupKeyOf(tx({ blockNumber: 1 })));
    expect(dedupKeyOf(tx({ token: '0xt', logIndex: 3 }))).not.toBe(dedupKeyOf(tx({})));
  });

  test('generic records: the configured JSON pointers, or the whole record', () => {
    const alert = (receiptId: string) => ({ kind: 'record', receiptId, signature: 's', src: 'a', dst: 'b' }) as NormalizedRecord;
    expect(dedupKeyOf(alert('1'), ['/signature', '/src', '/dst'])).toBe(dedupKeyOf(alert('2'), ['/signature', '/src', '/dst']));
    expect(dedupKeyOf(alert('1'))).not.toBe(dedupKeyOf(alert('2')));
    expect(identifyingFields(alert('1'), ['/missing'])).toEqual([null]);
  });

  test('an event with none of the identifying fields is keyed by its whole content', () => {
    const bare = (n: number) => ({ kind: 'event', format: null, vendor: null, product: null, eventId: null, name: null, src: null, dst: null, n }) as unknown as NormalizedRecord;
    expect(dedupKeyOf(bare(1))).not.toBe(dedupKeyOf(bare(2)));
  });
});

describe('record fields', () => {
  test('ids are stable per tenant, connector and key, and differ across them', () => {
    const id = recordId('t1', 'cnn_1', 'key');
    expect(id).toMatch(/^rec_[0-9A-F]{26}$/);
    expect(recordId('t1', 'cnn_1', 'key')).toBe(id);
    expect(recordId('t2', 'cnn_1', 'key')).not.toBe(id);
    expect(recordId('t1', 'cnn_2', 'key')).not.toBe(id);
  });

  test('observedAt, severity and title per kind', () => {
    expect(observedAtOf(event())?.toISOString()).toBe('2026-12-03T08:00:00.000Z');
    expect(observedAtOf({ kind: 'record', createdAt: 'not a date', time: 1700000000000 } as NormalizedRecord)?.getTime()).toBe(1700000000000);
    expect(severityOf(event())).toBe(7);
    expect(severityOf(event({ severity: 42 }))).toBeNull();
    const cve = { kind: 'vulnerability', id: 'CVE-2024-0001', description: 'Heap overflow', cvss: [{ baseScore: 5.3 }, { baseScore: 9.8 }] } as unknown as NormalizedRecord;
    expect(severityOf(cve)).toBe(9.8);
    expect(titleOf(cve)).toBe('CVE-2024-0001 Heap overflow');
    expect(titleOf(event())).toBe('Port scan');
    expect(titleOf({ kind: 'indicator', type: 'domain', value: 'evil.example' } as NormalizedRecord)).toBe('domain evil.example');
    expect(titleOf({ kind: 'record', id: 42 } as NormalizedRecord)).toBe('42');
    expect(titleOf({ kind: 'record', message: 'x'.repeat(500) } as NormalizedRecord)).toHaveLength(300);
  });
});

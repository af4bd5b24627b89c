/** The manifest engine's pure parts: templates, field mapping, manifest validation, config migrations. */
import { parseManifest, ManifestError, MANIFEST_SCHEMA } from '../../../src/adapters/declarative/manifest.js';
import { compileManifest, migrateConfig } from '../../../src/adapters/declarative/engine.js';
import { detectIndicatorType, evaluateField, mapItem, rowsToObjects, toDate } from '../../../src/adapters/declarative/mapping.js';
import { renderPath, renderString, renderValue } from '../../../src/adapters/declarative/template.js';
import { compileSchema } from '../../../src/adapters/schema-validation.js';

const scope = {
  config: { search: 'index=main', size: 10, tags: ['a', 'b'] },
  window: { start: new Date('2026-01-02T03:04:05.678Z'), end: new Date('2026-01-03T00:00:00.000Z') },
  cursor: 42,
  partition: '0xabc',
};

describe('templates', () => {
  test('placeholders render config, window, cursor and partition; filters format dates', () => {
    expect(renderString('search {{ config.search }} from {{window.start}}', scope)).toBe('search index=main from 2026-01-02T03:04:05.678Z');
    expect(renderString('{{window.start | epoch_s}}', scope)).toBe(1767323045);
    expect(renderString('{{window.start | epoch_ms}}', scope)).toBe(1767323045678);
    expect(renderString('{{window.start | date}}', scope)).toBe('2026-01-02');
    expect(renderString('{{window.start | iso_seconds}}', scope)).toBe('2026-01-02T03:04:05Z');
    expect(renderString('{{cursor}}', scope)).toBe(42);
    expect(renderString('a={{partition}}', scope)).toBe('a=0xabc');
  });

  test('a whole placeholder keeps its JSON type in bodies; absent values vanish from objects', () => {
    expect(renderValue({ size: '{{config.size}}', tags: '{{config.tags}}', q: { from: '{{window.end}}' }, gone: '{{config.nothing}}' }, scope)).toEqual({
      size: 10,
      tags: ['a', 'b'],
      q: { from: '2026-01-03T00:00:00.000Z' },
    });
  });

  test('a value in a path is one encoded segment: no traversal, query or fragment', () => {
    expect(renderPath('/v1/workspaces/{{config.search}}/query', { config: { search: '../../admin?x=1#y' } })).toBe('/v1/workspaces/..%2F..%2Fadmin%3Fx%3D1%23y/query');
  });

  test('templates cannot reach the prototype chain', () => {
    expect(renderString('{{config.constructor}}', scope)).toBeUndefined();
    expect(renderString('x{{config.__proto__}}x', scope)).toBe('xx');
  });
});

describe('field mapping', () => {
  const item = { a: { b: 'x' }, sev: 'High', score: 0.75, t: 1767323045, tags: [{ name: 'apt' }, { name: 'c2' }], v: '198.51.100.7' };

  test('pointers, fallbacks, constants, tables, scales, plucks and coercions', () => {
    expect(evaluateField(item, '/a/b')).toBe('x');
    expect(evaluateField(item, ['/missing', '/a/b'])).toBe('x');
    expect(evaluateField(item, { value: 'Vendor' })).toBe('Vendor');
    expect(evaluateField(item, { from: '/sev', map: { high: 8, low: 3 } })).toBe(8);
    expect(evaluateField(item, { from: '/sev', map: { low: 3 }, default: 5 })).toBe(5);
    expect(evaluateField(item, { from: '/score', type: 'number', scale: [0, 1, 0, 100] })).toBe(75);
    expect(evaluateField(item, { from: '/t', type: 'datetime' })).toBe('2026-01-02T03:04:05.000Z');
    expect(evaluateField(item, { from: '/tags', each: '/name' })).toEqual(['apt', 'c2']);
    expect(evaluateField(item, { from: '/v', detect: 'indicator' })).toBe('ipv4');
    expect(evaluateField(item, { from: '/missing', type: 'integer' })).toBeNull();
  });

  test('indicator types and timestamps are recognised from their values', () => {
    expect(['2001:db8::1', 'https://x.test/a', 'a@b.test', 'd41d8cd98f00b204e9800998ecf8427e', 'evil.example.com', 'not an ioc'].map(detectIndicatorType)).toEqual([
      'ipv6',
      'url',
      'email',
      'md5',
      'domain',
      null,
    ]);
    expect(toDate('1767323045678')?.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(toDate(1767323045)?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(toDate('2026-01-02T03:04:05+01:00')?.toISOString()).toBe('2026-01-02T02:04:05.000Z');
    expect(toDate('yesterday')).toBeNull();
  });

  test('a mapped item has every field of its kind, its stream, the redacted upstream item', () => {
    const stream = {
      name: 'alerts',
      description: 'd',
      request: { path: '/' },
      records: '',
      map: { kind: 'event' as const, fields: { name: '/title', severity: { from: '/sev', map: { high: 8 } } } },
    };
    const record = mapItem({ title: 'Beacon with key s3cr3t-value', sev: 'high' }, stream, ['s3cr3t-value']);
    expect(record).toEqual({
      kind: 'event',
      format: 'JSON',
      vendor: null,
      product: null,
      productVersion: null,
      eventId: null,
      name: 'Beacon with key [REDACTED]',
      severity: 8,
      timestamp: null,
      src: null,
      dst: null,
      srcPort: null,
      dstPort: null,
      user: null,
      extensions: {},
      eventType: 'alerts',
      raw: { title: 'Beacon with key [REDACTED]', sev: 'high' },
    });
  });

  test('tabular answers become objects; a malformed table is refused', () => {
    expect(rowsToObjects([{ name: 'a' }, { name: 'b' }], [[1, 2], [3]])).toEqual([{ a: 1, b: 2 }, { a: 3, b: null }]);
    expect(rowsToObjects([{ name: 'a' }], [1])).toBeNull();
  });
});

const MINIMAL = `
id: acme_alerts
version: 2
type: SIEM
name: Acme
description: Acme alerts.
documentationUrl: https://docs.acme.test/api
baseUrl: https://api.acme.test
config:
  properties:
    region: { type: string, maxLength: 16, default: eu, description: Region. }
auth:
  API_KEY: { credential: apiToken, header: Authorization, prefix: "Acme ", remediation: "Create a token under Acme > Settings > API." }
streams:
  - name: alerts
    description: Alerts.
    request: { path: "/v1/{{config.region}}/alerts", query: { since: "{{window.start}}" } }
    records: /data
    pagination: { type: offset, offsetParam: offset, limitParam: limit, limit: 50 }
    map: { kind: event, fields: { eventId: /id } }
migrations:
  - { to: 2, rename: { zone: region }, convert: { tier: { to: plan, values: { gold: enterprise } } }, remove: [legacy], set: { region: eu } }
`;

describe('manifests', () => {
  test('the manifest JSON Schema is itself a valid schema', () => {
    expect(() => compileSchema(MANIFEST_SCHEMA)).not.toThrow();
  });

  test('a minimal manifest compiles: schemas, credentials, defaults, event types', () => {
    const adapter = compileManifest(parseManifest(MINIMAL, 'acme.yaml'));
    expect(adapter.spec).toMatchObject({ id: 'acme_alerts', type: 'SIEM', authTypes: ['API_KEY'], eventTypes: ['alerts'], recordKinds: ['event'], configVersion: 2 });
    expect(adapter.spec.requiredCredentials).toEqual({ API_KEY: ['apiToken'] });
    const config: Record<string, unknown> = {};
    expect(compileSchema(adapter.spec.configSchema)(config)).toBe(true);
    expect(config).toMatchObject({ baseUrl: 'https://api.acme.test', region: 'eu', maxPages: 50, initialLookbackSec: 86400 });
    expect(compileSchema(adapter.spec.configSchema)({ pageSize: 51 })).toBe(false);
  });

  test.each([
    ['an unknown template name', MINIMAL.replace('{{config.region}}', '{{config.nope}}'), /unknown template name "config.nope"/],
    ['a credential in a template', MINIMAL.replace('{{config.region}}', '{{credentials.apiToken}}'), /unknown template name "credentials.apiToken"/],
    ['a string setting without maxLength', MINIMAL.replace('maxLength: 16, ', ''), /maxLength/],
    ['offset paging without its parameters', MINIMAL.replace('offsetParam: offset, ', ''), /offset needs offsetParam/],
    ['an engine setting redefined', MINIMAL.replace('region: { type', 'baseUrl: { type'), /baseUrl is provided by the engine/],
    ['an auth without remediation', MINIMAL.replace(', remediation: "Create a token under Acme > Settings > API."', ''), /remediation/],
    ['a gap in the migrations', MINIMAL.replace('version: 2', 'version: 3'), /migrations end at version 2/],
    ['YAML aliases', `${MINIMAL}\nx: &a [1]\ny: *a\n`, /not valid YAML|alias/i],
  ])('%s is refused with a precise message', (_what, text, message) => {
    try {
      parseManifest(text, 'acme.yaml');
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
      expect((e as Error).message).toMatch(message);
    }
  });

  test('migrations rename, convert, remove and set without overwriting', () => {
    const m = parseManifest(MINIMAL, 'acme.yaml');
    expect(migrateConfig(m, { zone: 'us', tier: 'gold', legacy: true, keep: 1 }, 1)).toEqual({ region: 'us', plan: 'enterprise', keep: 1 });
    expect(migrateConfig(m, { tier: 'bronze' }, 1)).toEqual({ region: 'eu', plan: 'bronze' });
    expect(migrateConfig(m, { zone: 'us' }, 2)).toEqual({ zone: 'us' });
  });
});

describe('docs/providers.md', () => {
  test('is the rendering of the current manifests (run `npm run docs:providers` after changing one)', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderProvidersDoc } = await import('../../../src/adapters/declarative/catalog-doc.js');
    expect(readFileSync('docs/providers.md', 'utf8')).toBe(renderProvidersDoc());
  });
});

import { readFileSync } from 'node:fs';
import { normalizeCve } from '../../../src/adapters/nvd/mapper.js';
import type { NvdCve, NvdCveResponse } from '../../../src/adapters/nvd/types.js';
import { makeCve } from '../../helpers/nvd-server.js';

function fixture(name: string): NvdCve {
  const page = JSON.parse(readFileSync(new URL(`../../fixtures/nvd/${name}`, import.meta.url), 'utf8')) as NvdCveResponse;
  expect(page.vulnerabilities).toHaveLength(1);
  return page.vulnerabilities[0]!.cve;
}

const V31_CRIT = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

describe('normalizeCve: record with all four CVSS versions', () => {
  const record = normalizeCve(fixture('cve-all-cvss-versions.json'));

  test('identity, timestamps in UTC with Z, status, English description', () => {
    expect(record.kind).toBe('vulnerability');
    expect(record.id).toBe('CVE-2021-90001');
    expect(record.published).toBe('2021-12-10T10:15:09.143Z');
    expect(record.lastModified).toBe('2024-04-03T17:53:32.077Z');
    expect(record.status).toBe('Modified');
    expect(record.description).toBe(
      'Acme Logger 2.0-beta9 through 2.15.0 allows remote code execution through crafted lookup strings in logged messages.',
    );
    expect(record.sourceIdentifier).toBe('security@acme.example');
  });

  test('every metric, highest version first, Primary and Secondary, v2 severity from beside cvssData', () => {
    expect(record.cvss).toEqual([
      {
        version: '4.0',
        baseScore: 6.9,
        baseSeverity: 'MEDIUM',
        vectorString: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N',
        source: 'security@acme.example',
        type: 'Secondary',
      },
      {
        version: '3.1',
        baseScore: 10,
        baseSeverity: 'CRITICAL',
        vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H',
        source: 'nvd@nist.gov',
        type: 'Primary',
      },
      {
        version: '3.1',
        baseScore: 8.8,
        baseSeverity: 'HIGH',
        vectorString: 'CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H',
        source: 'security@acme.example',
        type: 'Secondary',
      },
      {
        version: '3.0',
        baseScore: 6.1,
        baseSeverity: 'MEDIUM',
        vectorString: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N',
        source: 'nvd@nist.gov',
        type: 'Primary',
      },
      {
        version: '2.0',
        baseScore: 9.3,
        baseSeverity: 'HIGH',
        vectorString: 'AV:N/AC:M/Au:N/C:C/I:C/A:C',
        source: 'nvd@nist.gov',
        type: 'Primary',
      },
    ]);
  });

  test('severity comes from the highest-versioned Primary metric, not the higher Secondary v4.0', () => {
    expect(record.severity).toBe('CRITICAL');
  });

  test('CWEs de-duplicated across Primary and Secondary weaknesses, no placeholders', () => {
    expect(record.cwes).toEqual(['CWE-917', 'CWE-502', 'CWE-20']);
    expect(record.cweNotes).toEqual([]);
  });

  test('CPE with a version range, references, no warnings', () => {
    expect(record.cpes).toEqual([
      {
        criteria: 'cpe:2.3:a:acme:logger:*:*:*:*:*:*:*:*',
        part: 'a',
        vendor: 'acme',
        product: 'logger',
        version: '*',
        vulnerable: true,
        versionStartIncluding: '2.0.1',
        versionEndExcluding: '2.12.2',
        matchCriteriaId: '03FA5E81-F9C0-403E-8A4B-E4284E4E7B72',
      },
    ]);
    expect(record.references).toEqual([
      'https://logging.acme.example/security.html',
      'https://www.openwall.example/lists/oss-security/2021/12/10/1',
    ]);
    expect(record.warnings).toBeUndefined();
  });
});

describe('normalizeCve: v2-only record', () => {
  const record = normalizeCve(fixture('cve-v2-only.json'));

  test('v2 baseSeverity is read from beside cvssData and drives severity', () => {
    expect(record.cvss).toEqual([
      {
        version: '2.0',
        baseScore: 4.3,
        baseSeverity: 'MEDIUM',
        vectorString: 'AV:N/AC:M/Au:N/C:N/I:P/A:N',
        source: 'nvd@nist.gov',
        type: 'Primary',
      },
    ]);
    expect(record.severity).toBe('MEDIUM');
  });

  test('the English description is picked even when another language comes first', () => {
    expect(record.description).toMatch(/^Cross-site scripting \(XSS\) vulnerability in search\.php/);
  });

  test('other fields', () => {
    expect(record.published).toBe('2010-03-15T18:30:00.557Z');
    expect(record.lastModified).toBe('2018-10-10T19:54:51.000Z');
    expect(record.cwes).toEqual(['CWE-79']);
    expect(record.cpes).toEqual([
      {
        criteria: 'cpe:2.3:a:example:forum:1.2:*:*:*:*:*:*:*',
        part: 'a',
        vendor: 'example',
        product: 'forum',
        version: '1.2',
        vulnerable: true,
        matchCriteriaId: '8C1A4F2B-1D3E-4C5A-9B6D-7E8F9A0B1C2D',
      },
    ]);
  });

  test('beside cvssData wins over a stray value inside; inside is the fallback', () => {
    const base = fixture('cve-v2-only.json');
    const v2 = base.metrics!.cvssMetricV2![0]!;
    const both = normalizeCve({
      ...base,
      metrics: { cvssMetricV2: [{ ...v2, baseSeverity: 'HIGH', cvssData: { ...v2.cvssData, baseSeverity: 'LOW' } }] },
    });
    expect(both.cvss[0]!.baseSeverity).toBe('HIGH');
    const { baseSeverity: _dropped, ...withoutBeside } = v2;
    const insideOnly = normalizeCve({
      ...base,
      metrics: { cvssMetricV2: [{ ...withoutBeside, cvssData: { ...v2.cvssData, baseSeverity: 'LOW' } }] },
    });
    expect(insideOnly.cvss[0]!.baseSeverity).toBe('LOW');
    const neither = normalizeCve({ ...base, metrics: { cvssMetricV2: [withoutBeside] } });
    expect(neither.cvss[0]!.baseSeverity).toBeNull();
    expect(neither.severity).toBeNull();
  });
});

describe('normalizeCve: several configurations and nodes, Secondary-only metrics', () => {
  const record = normalizeCve(fixture('cve-configurations-secondary-only.json'));

  test('every cpeMatch of every node of every configuration, in order', () => {
    expect(record.cpes).toEqual([
      {
        criteria: 'cpe:2.3:o:netvendor:netos:*:*:*:*:*:*:*:*',
        part: 'o',
        vendor: 'netvendor',
        product: 'netos',
        version: '*',
        vulnerable: true,
        versionStartIncluding: '7.0.0',
        versionEndExcluding: '7.0.14',
        matchCriteriaId: 'A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF',
      },
      {
        criteria: 'cpe:2.3:o:netvendor:netos:*:*:*:*:*:*:*:*',
        part: 'o',
        vendor: 'netvendor',
        product: 'netos',
        version: '*',
        vulnerable: true,
        versionStartExcluding: '7.2.0',
        versionEndIncluding: '7.2.7',
        matchCriteriaId: 'B2C3D4E5-F6A7-4811-9900-BBCCDDEEFF00',
      },
      {
        criteria: 'cpe:2.3:h:netvendor:fw-600e:-:*:*:*:*:*:*:*',
        part: 'h',
        vendor: 'netvendor',
        product: 'fw-600e',
        version: '-',
        vulnerable: false,
        matchCriteriaId: 'C3D4E5F6-A7B8-4911-AA00-CCDDEEFF0011',
      },
      {
        criteria: 'cpe:2.3:h:netvendor:fw-1000f:-:*:*:*:*:*:*:*',
        part: 'h',
        vendor: 'netvendor',
        product: 'fw-1000f',
        version: '-',
        vulnerable: false,
        matchCriteriaId: 'D4E5F6A7-B8C9-4A11-BB00-DDEEFF001122',
      },
      {
        criteria: 'cpe:2.3:o:cisco:ios:12.2\\(33\\)sxi:*:*:*:*:*:*:*',
        part: 'o',
        vendor: 'cisco',
        product: 'ios',
        version: '12.2(33)sxi',
        vulnerable: true,
        matchCriteriaId: 'E5F6A7B8-C9D0-4B11-CC00-EEFF00112233',
      },
      {
        criteria: 'cpe:2.3:a:microsoft:visual_c\\+\\+:2005:sp1:*:*:*:*:*:*',
        part: 'a',
        vendor: 'microsoft',
        product: 'visual_c++',
        version: '2005',
        vulnerable: true,
        matchCriteriaId: 'F6A7B8C9-D0E1-4C11-DD00-FF0011223344',
      },
      {
        criteria: 'cpe:2.3:a:netvendor:web\\:ui:1.0:*:*:*:*:*:*:*',
        part: 'a',
        vendor: 'netvendor',
        product: 'web:ui',
        version: '1.0',
        vulnerable: true,
        matchCriteriaId: '0A1B2C3D-4E5F-4D11-EE00-001122334455',
      },
    ]);
  });

  test('without any Primary metric, severity falls back to the highest-versioned Secondary', () => {
    expect(record.cvss.map((m) => [m.version, m.type, m.baseSeverity])).toEqual([
      ['4.0', 'Secondary', 'CRITICAL'],
      ['3.1', 'Secondary', 'HIGH'],
    ]);
    expect(record.severity).toBe('CRITICAL');
    // The v4.0 vector carries optional threat/supplemental metrics and is valid.
    expect(record.cvss[0]!.vectorError).toBeUndefined();
  });
});

describe('normalizeCve: severity selection', () => {
  const v2Primary = {
    source: 'nvd@nist.gov',
    type: 'Primary',
    cvssData: { version: '2.0', vectorString: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', baseScore: 7.5 },
    baseSeverity: 'HIGH',
  };
  const v31Secondary = {
    source: 'cna@vendor.example',
    type: 'Secondary',
    cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', baseScore: 7.5, baseSeverity: 'MEDIUM' },
  };

  test('a lower-versioned Primary beats a higher-versioned Secondary', () => {
    const record = normalizeCve(makeCve({ metrics: { cvssMetricV31: [v31Secondary], cvssMetricV2: [v2Primary] } }));
    expect(record.severity).toBe('HIGH');
  });

  test('a Primary without severity is skipped for the next Primary', () => {
    const v31PrimaryNoSeverity = {
      source: 'nvd@nist.gov',
      type: 'Primary',
      cvssData: { version: '3.1', vectorString: V31_CRIT, baseScore: 9.8 } as never,
    };
    const record = normalizeCve(makeCve({ metrics: { cvssMetricV31: [v31PrimaryNoSeverity], cvssMetricV2: [v2Primary] } }));
    expect(record.cvss[0]!.baseSeverity).toBeNull();
    expect(record.severity).toBe('HIGH');
  });
});

describe('normalizeCve: CWE placeholders', () => {
  const record = normalizeCve(fixture('cve-cwe-placeholders.json'));

  test('placeholders are not CWEs but stay visible in cweNotes, both de-duplicated', () => {
    expect(record.cwes).toEqual(['CWE-787', 'CWE-20']);
    expect(record.cweNotes).toEqual(['NVD-CWE-Other', 'NVD-CWE-noinfo']);
  });

  test('reference URLs are de-duplicated', () => {
    expect(record.references).toEqual([
      'https://imagelib.example/releases/4.3.1',
      'https://bugs.imagelib.example/show_bug.cgi?id=2042',
    ]);
  });

  test('a record with only a placeholder has no CWE', () => {
    const only = normalizeCve(
      makeCve({ weaknesses: [{ source: 'nvd@nist.gov', type: 'Primary', description: [{ lang: 'en', value: 'NVD-CWE-noinfo' }] }] }),
    );
    expect(only.cwes).toEqual([]);
    expect(only.cweNotes).toEqual(['NVD-CWE-noinfo']);
  });
});

describe('normalizeCve: missing optional parts', () => {
  test('minimal fixture: no metrics, weaknesses, configurations or English description', () => {
    const record = normalizeCve(fixture('cve-minimal.json'));
    expect(record).toEqual({
      kind: 'vulnerability',
      id: 'CVE-2025-90005',
      published: '2025-01-02T03:04:05.006Z',
      lastModified: '2025-01-02T03:04:05.006Z',
      status: 'Received',
      description: null,
      severity: null,
      cvss: [],
      cwes: [],
      cpes: [],
      references: [],
      sourceIdentifier: 'cna@tiny.example',
      cweNotes: [],
    });
  });

  test('an object with only an id does not crash', () => {
    const record = normalizeCve({ id: 'CVE-2025-0001' });
    expect(record).toEqual({
      kind: 'vulnerability',
      id: 'CVE-2025-0001',
      published: null,
      lastModified: null,
      status: null,
      description: null,
      severity: null,
      cvss: [],
      cwes: [],
      cpes: [],
      references: [],
      sourceIdentifier: null,
      cweNotes: [],
    });
  });

  test('empty arrays, nodes without cpeMatch, weaknesses without description', () => {
    const record = normalizeCve({
      id: 'CVE-2025-0002',
      descriptions: [],
      metrics: { cvssMetricV40: [], cvssMetricV31: [], cvssMetricV30: [], cvssMetricV2: [] },
      weaknesses: [{ source: 'nvd@nist.gov', type: 'Primary' } as never],
      configurations: [{ nodes: [{ operator: 'OR' } as never] }, {} as never],
      references: [{} as never],
    });
    expect(record.cvss).toEqual([]);
    expect(record.cwes).toEqual([]);
    expect(record.cpes).toEqual([]);
    expect(record.references).toEqual([]);
    expect(record.severity).toBeNull();
  });
});

describe('normalizeCve: invalid data is reported, not fatal', () => {
  test('invalid vectors are kept with vectorError; valid ones are untouched', () => {
    const record = normalizeCve(
      makeCve({
        metrics: {
          cvssMetricV31: [
            {
              source: 'nvd@nist.gov',
              type: 'Primary',
              cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', baseScore: 9.8, baseSeverity: 'CRITICAL' },
            },
            {
              source: 'cna@vendor.example',
              type: 'Secondary',
              // A v3.0 vector filed under cvssMetricV31 with version 3.1.
              cvssData: { version: '3.1', vectorString: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, baseSeverity: 'CRITICAL' },
            },
          ],
          cvssMetricV2: [
            {
              source: 'nvd@nist.gov',
              type: 'Primary',
              cvssData: { version: '2.0', vectorString: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', baseScore: 7.5 },
              baseSeverity: 'HIGH',
            },
          ],
        },
      }),
    );
    expect(record.cvss).toHaveLength(3);
    expect(record.cvss[0]).toEqual({
      version: '3.1',
      baseScore: 9.8,
      baseSeverity: 'CRITICAL',
      vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H',
      source: 'nvd@nist.gov',
      type: 'Primary',
      vectorError: 'missing mandatory base metric(s): A',
    });
    expect(record.cvss[1]!.vectorError).toBe('vector is CVSS 3.0 but version 3.1 was expected');
    expect(record.cvss[2]!.vectorError).toBeUndefined();
    expect(record.severity).toBe('CRITICAL');
  });

  test('an invalid CPE criteria is kept with criteriaError and best-effort fields', () => {
    const record = normalizeCve(
      makeCve({
        configurations: [
          {
            nodes: [
              {
                operator: 'OR',
                cpeMatch: [
                  { vulnerable: true, criteria: 'cpe:2.3:a:vendor:visual c++:1.0:*:*:*:*:*:*:*', versionEndExcluding: '1.1' },
                  { vulnerable: true, criteria: 'not-a-cpe' },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(record.cpes).toEqual([
      {
        criteria: 'cpe:2.3:a:vendor:visual c++:1.0:*:*:*:*:*:*:*',
        part: 'a',
        vendor: 'vendor',
        product: 'visual c++',
        version: '1.0',
        vulnerable: true,
        versionEndExcluding: '1.1',
        criteriaError: 'product has an unescaped " " (must be written "\\ ")',
      },
      {
        criteria: 'not-a-cpe',
        part: '',
        vendor: '',
        product: '',
        version: '',
        vulnerable: true,
        criteriaError: 'CPE 2.3 formatted string must start with "cpe:2.3:"',
      },
    ]);
  });

  test('a missing baseScore is computed from a valid v3 vector, a v4 one is skipped; both are reported', () => {
    const record = normalizeCve(
      makeCve({
        metrics: {
          cvssMetricV40: [
            {
              source: 'cna@vendor.example',
              type: 'Secondary',
              cvssData: { version: '4.0', vectorString: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', baseSeverity: 'CRITICAL' } as never,
            },
          ],
          cvssMetricV31: [
            { source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '3.1', vectorString: V31_CRIT, baseSeverity: 'CRITICAL' } as never },
          ],
        },
      }),
    );
    expect(record.cvss.map((m) => [m.version, m.baseScore])).toEqual([['3.1', 9.8]]);
    expect(record.warnings).toEqual([
      'cvssMetricV40 metric from cna@vendor.example has no baseScore; skipped',
      'cvssMetricV31 metric from nvd@nist.gov has no baseScore; computed from its vector',
    ]);
  });

  test('unparsable timestamps become null and are reported', () => {
    const record = normalizeCve(makeCve({ published: 'yesterday', lastModified: '2024-02-30T00:00:00' }));
    expect(record.published).toBeNull();
    expect(record.lastModified).toBeNull();
    expect(record.warnings).toEqual([
      'unparsable published timestamp "yesterday"',
      'unparsable lastModified timestamp "2024-02-30T00:00:00"',
    ]);
  });

  test('timestamps that already carry a zone are converted to UTC', () => {
    const record = normalizeCve(makeCve({ published: '2024-03-01T10:15:07.123+02:00' }));
    expect(record.published).toBe('2024-03-01T08:15:07.123Z');
  });
});

describe('normalizeCve on the fixture builder', () => {
  test('makeCve produces a clean record', () => {
    const cve = makeCve({ id: 'CVE-2024-77777' });
    const record = normalizeCve(cve);
    expect(record.id).toBe('CVE-2024-77777');
    expect(record.severity).toBe('CRITICAL');
    expect(record.cvss).toHaveLength(1);
    expect(record.cvss[0]!.vectorError).toBeUndefined();
    expect(record.cwes).toEqual(['CWE-787']);
    expect(record.cpes[0]).toMatchObject({ vendor: 'example', product: 'widget', version: '*', versionEndExcluding: '2.4.1' });
    expect(record.description).toMatch(/^Heap-based buffer overflow/);
    expect(record.warnings).toBeUndefined();
  });
});

import { readFileSync } from 'node:fs';
import {
  computeCvssBaseScore,
  cvssSeverityFromScore,
  normalizeCvssVersion,
  parseCvssVector,
} from '../../../src/adapters/formats/cvss.js';
import type { NvdCveResponse } from '../../../src/adapters/nvd/types.js';

const V2 = 'AV:N/AC:L/Au:N/C:P/I:P/A:P';
const V30 = 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const V31 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const V40 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';

function errorOf(vector: string, expected?: string): string {
  const r = parseCvssVector(vector, expected);
  if (r.ok) throw new Error(`expected "${vector}" to be rejected`);
  return r.error;
}

describe('parseCvssVector: valid vectors', () => {
  test('v2.0 has no prefix', () => {
    expect(parseCvssVector(V2)).toEqual({
      ok: true,
      version: '2.0',
      metrics: { AV: 'N', AC: 'L', Au: 'N', C: 'P', I: 'P', A: 'P' },
    });
  });

  test('v2.0 with temporal and environmental metrics', () => {
    const r = parseCvssVector(`${V2}/E:POC/RL:OF/RC:C/CDP:LM/TD:H/CR:ND/IR:M/AR:H`);
    expect(r).toEqual({
      ok: true,
      version: '2.0',
      metrics: { AV: 'N', AC: 'L', Au: 'N', C: 'P', I: 'P', A: 'P', E: 'POC', RL: 'OF', RC: 'C', CDP: 'LM', TD: 'H', CR: 'ND', IR: 'M', AR: 'H' },
    });
  });

  test('v3.0 and v3.1 report their own version', () => {
    expect(parseCvssVector(V30)).toMatchObject({ ok: true, version: '3.0' });
    expect(parseCvssVector(V31)).toEqual({
      ok: true,
      version: '3.1',
      metrics: { AV: 'N', AC: 'L', PR: 'N', UI: 'N', S: 'U', C: 'H', I: 'H', A: 'H' },
    });
  });

  test('v3.1 temporal and environmental metrics, in any order', () => {
    const r = parseCvssVector('CVSS:3.1/S:C/AV:L/AC:H/PR:H/UI:R/C:L/I:N/A:N/E:F/RL:X/RC:R/CR:H/MAV:P/MS:U/MA:L');
    expect(r).toEqual({
      ok: true,
      version: '3.1',
      metrics: { S: 'C', AV: 'L', AC: 'H', PR: 'H', UI: 'R', C: 'L', I: 'N', A: 'N', E: 'F', RL: 'X', RC: 'R', CR: 'H', MAV: 'P', MS: 'U', MA: 'L' },
    });
  });

  test('v4.0 base, threat, environmental and supplemental metrics', () => {
    const r = parseCvssVector(`${V40}/E:A/CR:H/MAT:P/MUI:A/MSI:S/MSA:S/S:P/AU:Y/R:I/V:C/RE:H/U:Clear`);
    expect(r).toMatchObject({
      ok: true,
      version: '4.0',
      metrics: { AV: 'N', SA: 'N', E: 'A', CR: 'H', MAT: 'P', MUI: 'A', MSI: 'S', MSA: 'S', S: 'P', AU: 'Y', R: 'I', V: 'C', RE: 'H', U: 'Clear' },
    });
  });

  test('expectedVersion accepts the canonical and short forms', () => {
    expect(parseCvssVector(V2, '2.0').ok).toBe(true);
    expect(parseCvssVector(V2, '2').ok).toBe(true);
    expect(parseCvssVector(V31, '3.1').ok).toBe(true);
    expect(parseCvssVector(V40, '4.0').ok).toBe(true);
  });
});

describe('parseCvssVector: invalid vectors', () => {
  test('version mismatch against the expected version', () => {
    expect(errorOf(V30, '3.1')).toBe('vector is CVSS 3.0 but version 3.1 was expected');
    expect(errorOf(V2, '3.1')).toMatch(/CVSS 2\.0 but version 3\.1/);
    expect(errorOf(V31, '2.0')).toMatch(/CVSS 3\.1 but version 2\.0/);
    expect(errorOf(V31, '9.9')).toMatch(/unsupported expected CVSS version/);
  });

  test('unsupported or incomplete prefixes', () => {
    expect(errorOf('CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatch(/unsupported CVSS version prefix "CVSS:3.2"/);
    expect(errorOf(`CVSS:2.0/${V2}`)).toMatch(/unsupported CVSS version prefix "CVSS:2.0"/);
    expect(errorOf('CVSS:3.1')).toMatch(/no metrics after/);
  });

  test('duplicated metric', () => {
    expect(errorOf('CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toBe('metric "AV" appears more than once');
  });

  test('unknown metric, including metrics of another version', () => {
    expect(errorOf(`${V31}/ZZ:1`)).toMatch(/unknown metric "ZZ" for CVSS 3\.1/);
    expect(errorOf(`${V31}/AT:N`)).toMatch(/unknown metric "AT"/); // a v4.0 metric
    expect(errorOf(`${V2}/PR:N`)).toMatch(/unknown metric "PR" for CVSS 2\.0/);
    expect(errorOf('AV:N/AC:L/AU:N/C:P/I:P/A:P')).toMatch(/unknown metric "AU"/); // v2 is case-sensitive: Au
  });

  test('values outside the allowed set', () => {
    expect(errorOf('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q')).toMatch(/invalid value "Q" for metric "A"/);
    expect(errorOf('CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatch(/invalid value "n" for metric "AV"/);
    expect(errorOf('CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatch(/invalid value "X" for metric "AV"/);
    expect(errorOf('AV:N/AC:L/Au:N/C:P/I:P/A:X')).toMatch(/invalid value "X" for metric "A"/);
    expect(errorOf('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:R/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')).toMatch(/"R" for metric "UI"/);
    // Safety (S) exists only for the modified subsequent-system metrics.
    expect(errorOf('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N')).toMatch(/"S" for metric "SI"/);
    expect(errorOf(`${V40}/MSC:S`)).toMatch(/"S" for metric "MSC"/);
    expect(errorOf(`${V40}/U:clear`)).toMatch(/"clear" for metric "U"/);
  });

  test('malformed segments', () => {
    expect(errorOf(`${V31}/`)).toMatch(/empty metric at position 9/);
    expect(errorOf('CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatch(/empty metric at position 2/);
    expect(errorOf('CVSS:3.1/AV:N/AC/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatch(/malformed metric "AC"/);
    expect(errorOf('CVSS:3.1/AV:N/AC:L:H/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatch(/malformed metric "AC:L:H"/);
    expect(errorOf('CVSS:3.1/AV:/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatch(/malformed metric "AV:"/);
    expect(errorOf(`(${V2})`)).toMatch(/unknown metric "\(AV"/);
    expect(errorOf(` ${V31}`)).toMatch(/whitespace/);
    expect(errorOf('')).toBe('vector is empty');
    expect(errorOf('garbage')).toMatch(/malformed metric "garbage"/);
  });

  test.each([
    ['2.0', V2],
    ['3.0', V30],
    ['3.1', V31],
    ['4.0', V40],
  ])('CVSS %s: dropping any base metric is an error naming it', (_version, vector) => {
    const [prefix, body] = vector.startsWith('CVSS:') ? [vector.slice(0, 9), vector.slice(9)] : ['', vector];
    const segments = body.split('/');
    expect(segments.length).toBeGreaterThanOrEqual(6);
    for (let i = 0; i < segments.length; i++) {
      const name = segments[i]!.split(':')[0]!;
      const without = prefix + segments.filter((_, j) => j !== i).join('/');
      expect(errorOf(without)).toBe(`missing mandatory base metric(s): ${name}`);
    }
  });

  test('several missing base metrics are all named', () => {
    expect(errorOf('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U')).toBe('missing mandatory base metric(s): C, I, A');
  });
});

describe('normalizeCvssVersion', () => {
  test('maps short forms and rejects unknown versions', () => {
    expect(normalizeCvssVersion('2')).toBe('2.0');
    expect(normalizeCvssVersion('3')).toBe('3.0');
    expect(normalizeCvssVersion('3.1')).toBe('3.1');
    expect(normalizeCvssVersion('4')).toBe('4.0');
    expect(normalizeCvssVersion('3.2')).toBeNull();
  });
});

describe('computeCvssBaseScore', () => {
  // Reference scores cross-checked with ae-cvss-calculator 1.0.13 and the FIRST calculators.
  test.each([
    ['AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5],
    ['AV:N/AC:M/Au:N/C:N/I:P/A:N', 4.3],
    ['AV:N/AC:M/Au:N/C:C/I:C/A:C', 9.3],
    ['AV:L/AC:L/Au:N/C:C/I:C/A:C', 7.2],
    ['AV:N/AC:L/Au:S/C:N/I:N/A:P', 4.0],
    ['AV:N/AC:L/Au:N/C:N/I:N/A:N', 0],
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N', 2.3],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 8.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5],
    ['CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N', 2.3],
    ['CVSS:3.1/AV:A/AC:L/PR:L/UI:N/S:C/C:H/I:L/A:N', 7.6],
    ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N', 0],
  ])('%s → %d', (vector, score) => {
    expect(computeCvssBaseScore(vector)).toBe(score);
  });

  test('null for v4.0 (not implemented) and for invalid vectors', () => {
    expect(computeCvssBaseScore(V40)).toBeNull();
    expect(computeCvssBaseScore('CVSS:3.1/AV:N')).toBeNull();
  });

  test('every v2/v3 baseScore in the fixtures matches its vector', () => {
    const files = [
      'cve-all-cvss-versions.json',
      'cve-v2-only.json',
      'cve-configurations-secondary-only.json',
      'cve-cwe-placeholders.json',
    ];
    let checked = 0;
    for (const file of files) {
      const page = JSON.parse(
        readFileSync(new URL(`../../fixtures/nvd/${file}`, import.meta.url), 'utf8'),
      ) as NvdCveResponse;
      for (const { cve } of page.vulnerabilities) {
        const metrics = cve.metrics ?? {};
        for (const m of [...(metrics.cvssMetricV31 ?? []), ...(metrics.cvssMetricV30 ?? []), ...(metrics.cvssMetricV2 ?? [])]) {
          expect({ vector: m.cvssData.vectorString, score: computeCvssBaseScore(m.cvssData.vectorString) }).toEqual({
            vector: m.cvssData.vectorString,
            score: m.cvssData.baseScore,
          });
          checked++;
        }
        for (const m of metrics.cvssMetricV40 ?? []) expect(parseCvssVector(m.cvssData.vectorString, '4.0').ok).toBe(true);
      }
    }
    expect(checked).toBe(7);
  });
});

describe('cvssSeverityFromScore', () => {
  test('v3/v4 ratings at the boundaries', () => {
    expect([0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map((s) => cvssSeverityFromScore(s, '3.1'))).toEqual([
      'NONE', 'LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH', 'CRITICAL', 'CRITICAL',
    ]);
    expect(cvssSeverityFromScore(9.3, '4.0')).toBe('CRITICAL');
  });

  test('v2 uses NVD’s three levels', () => {
    expect([0, 3.9, 4, 6.9, 7, 10].map((s) => cvssSeverityFromScore(s, '2.0'))).toEqual([
      'LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH',
    ]);
  });

  test('out-of-range scores have no rating', () => {
    expect(cvssSeverityFromScore(-1, '3.1')).toBeNull();
    expect(cvssSeverityFromScore(10.1, '3.1')).toBeNull();
    expect(cvssSeverityFromScore(Number.NaN, '2.0')).toBeNull();
  });
});

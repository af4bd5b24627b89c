import { parseCpe23, splitCpe23Components, unescapeCpe23Value } from '../../../src/adapters/formats/cpe.js';

function ok(criteria: string) {
  const r = parseCpe23(criteria);
  if (!r.ok) throw new Error(`expected "${criteria}" to parse, got: ${r.error}`);
  return r.cpe;
}

function err(criteria: string): string {
  const r = parseCpe23(criteria);
  if (r.ok) throw new Error(`expected "${criteria}" to be rejected`);
  return r.error;
}

describe('parseCpe23', () => {
  test('splits all eleven components', () => {
    expect(ok('cpe:2.3:a:apache:http_server:2.4.57:rc1:enterprise:en-us:pro:linux:x64:beta')).toEqual({
      part: 'a',
      vendor: 'apache',
      product: 'http_server',
      version: '2.4.57',
      update: 'rc1',
      edition: 'enterprise',
      language: 'en-us',
      swEdition: 'pro',
      targetSw: 'linux',
      targetHw: 'x64',
      other: 'beta',
      raw: ['a', 'apache', 'http_server', '2.4.57', 'rc1', 'enterprise', 'en-us', 'pro', 'linux', 'x64', 'beta'],
      wildcard: [],
    });
  });

  test('ANY (*) and NA (-) stay as written and are flagged as wildcards only for *', () => {
    const cpe = ok('cpe:2.3:h:netvendor:fw-600e:-:*:*:*:*:*:*:*');
    expect(cpe).toMatchObject({ part: 'h', vendor: 'netvendor', product: 'fw-600e', version: '-', update: '*', other: '*' });
    expect(cpe.wildcard).toEqual(['update', 'edition', 'language', 'swEdition', 'targetSw', 'targetHw', 'other']);
  });

  test('an escaped colon is data, not a separator', () => {
    const cpe = ok('cpe:2.3:a:netvendor:web\\:ui:1.0:*:*:*:*:*:*:*');
    expect(cpe.product).toBe('web:ui');
    expect(cpe.version).toBe('1.0');
    expect(cpe.raw[2]).toBe('web\\:ui');
  });

  test('other escaped punctuation is decoded, raw keeps the backslashes', () => {
    const cpp = ok('cpe:2.3:a:microsoft:visual_c\\+\\+:2005:sp1:*:*:*:*:*:*');
    expect(cpp.product).toBe('visual_c++');
    expect(cpp.update).toBe('sp1');
    expect(cpp.raw[2]).toBe('visual_c\\+\\+');
    const ios = ok('cpe:2.3:o:cisco:ios:12.2\\(33\\)sxi:*:*:*:*:*:*:*');
    expect(ios.version).toBe('12.2(33)sxi');
    const slash = ok('cpe:2.3:a:vendor:path\\\\tool\\/x:1\\!:*:*:*:*:*:*:*');
    expect(slash.product).toBe('path\\tool/x');
    expect(slash.version).toBe('1!');
  });

  test('an escaped backslash before a colon leaves the colon a separator', () => {
    const cpe = ok('cpe:2.3:a:vendor:tool\\\\:1.0:*:*:*:*:*:*:*');
    expect(cpe.product).toBe('tool\\');
    expect(cpe.version).toBe('1.0');
  });

  test('escaped wildcards are literal; unescaped leading/trailing ones are patterns', () => {
    const literal = ok('cpe:2.3:a:vendor:star\\*:1.0:*:*:*:*:*:*:*');
    expect(literal.product).toBe('star*');
    expect(literal.wildcard).not.toContain('product');
    const pattern = ok('cpe:2.3:a:vendor:*widget:1.?:??beta*:*:*:*:*:*:*');
    expect(pattern.product).toBe('*widget');
    expect(pattern.version).toBe('1.?');
    expect(pattern.update).toBe('??beta*');
    expect(pattern.wildcard).toEqual(expect.arrayContaining(['product', 'version', 'update']));
    expect(ok('cpe:2.3:a:vendor:product:??:*:*:*:*:*:*:*').version).toBe('??');
  });

  test('part must be a, o, h or *', () => {
    expect(ok('cpe:2.3:*:vendor:product:*:*:*:*:*:*:*:*').part).toBe('*');
    expect(err('cpe:2.3:x:vendor:product:*:*:*:*:*:*:*:*')).toBe('part must be a, o, h or *, found "x"');
  });

  test.each([
    ['cpe:/a:apache:http_server:2.4', /must start with "cpe:2.3:"/],
    ['cpe:2.2:a:apache:http_server:2.4:*:*:*:*:*:*:*', /must start with "cpe:2.3:"/],
    ['cpe:2.3:a:apache:http_server:2.4:*:*:*:*:*:*', /11 components .* found 10/],
    ['cpe:2.3:a:apache:http_server:2.4:*:*:*:*:*:*:*:*', /found 12/],
    ['cpe:2.3:a:netvendor:web\\:ui:1.0:*:*:*:*:*:*', /found 10/],
    ['cpe:2.3:a::http_server:2.4:*:*:*:*:*:*:*', /vendor is empty/],
    ['cpe:2.3:a:apache:http_server:2.4:*:*:*:*:*:*:\\', /lone backslash/],
    ['cpe:2.3:a:apache:http server:2.4:*:*:*:*:*:*:*', /unescaped " "/],
    ['cpe:2.3:a:microsoft:visual_c++:2005:*:*:*:*:*:*:*', /unescaped "\+"/],
    ['cpe:2.3:a:vendor:wid*get:1.0:*:*:*:*:*:*:*', /unescaped "\*" inside/],
    ['cpe:2.3:a:vendor:wid?get:1.0:*:*:*:*:*:*:*', /unescaped "\?" inside/],
    ['cpe:2.3:a:vendor:**:1.0:*:*:*:*:*:*:*', /"\*\*"/],
  ])('rejects %s', (criteria, message) => {
    expect(err(criteria)).toMatch(message);
  });
});

describe('splitCpe23Components / unescapeCpe23Value', () => {
  test('split honours escapes and keeps them', () => {
    expect(splitCpe23Components('a:b\\:c:d\\\\:e')).toEqual(['a', 'b\\:c', 'd\\\\', 'e']);
    expect(splitCpe23Components('a:b\\')).toBeNull();
  });

  test('unescape removes one level of backslashes', () => {
    expect(unescapeCpe23Value('b\\:c')).toBe('b:c');
    expect(unescapeCpe23Value('d\\\\')).toBe('d\\');
    expect(unescapeCpe23Value('plain')).toBe('plain');
  });
});

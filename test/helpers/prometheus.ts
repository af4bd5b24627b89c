/**
 * A strict reader of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): every line is a HELP, a TYPE or a
 * sample (empty lines are allowed); every sample belongs to a family declared by TYPE before it (histograms by their
 * `_bucket`, `_sum` and `_count` series); label values are quoted with only `\\`, `\"` and `\n`
 * escapes; values are floats, `+Inf`, `-Inf` or `NaN` (any case, as Prometheus reads it); no series appears twice; histogram
 * buckets are cumulative and end with `le="+Inf"` equal to `_count`. Anything else throws.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(raw: string, line: number): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  // prom-client writes "Nan" (a default metric before its first sample); Prometheus reads values
  // with Go's strconv.ParseFloat, which takes NaN in any case, so this reader does too.
  if (/^nan$/i.test(raw)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`line ${line}: "${raw}" is not a sample value`);
  return Number(raw);
}

function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: a label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: "${name}" is not a label name`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label ${name}'s value is not quoted`);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`line ${line}: label ${name}'s value is not closed`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected "," or "}" after label ${name}`);
  }
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('the exposition does not end with a line feed');
  lines.pop();
  const familyOf = (name: string): Family | undefined => {
    const exact = families.get(name);
    if (exact && exact.type !== 'histogram' && exact.type !== 'summary') return exact;
    const m = /^(.*)_(bucket|sum|count)$/.exec(name);
    const base = m ? families.get(m[1]!) : undefined;
    if (base && (base.type === 'histogram' || (base.type === 'summary' && m![2] !== 'bucket'))) return base;
    return exact && exact.type === 'summary' ? exact : undefined;
  };
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === '') return; // the format allows empty lines (prom-client puts one between families)
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) throw new Error(`line ${line}: a comment that is neither HELP nor TYPE: ${raw}`);
      const [, kind, name, rest] = m;
      if (!NAME.test(name!)) throw new Error(`line ${line}: "${name}" is not a metric name`);
      const family = families.get(name!) ?? { name: name!, type: 'untyped' as Family['type'], help: '', samples: [] };
      if (kind === 'HELP') family.help = rest!;
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!)) throw new Error(`line ${line}: unknown type ${rest}`);
        if (family.samples.length) throw new Error(`line ${line}: TYPE of ${name} after its samples`);
        family.type = rest as Family['type'];
      }
      families.set(name!, family);
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{|\s)/.exec(raw);
    if (!m) throw new Error(`line ${line}: not a sample: ${raw}`);
    const name = m[1]!;
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), line));
    const parts = rest.trim().split(' ');
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`line ${line}: expected " value [timestamp]"`);
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: bad timestamp`);
    const family = familyOf(name);
    if (!family) throw new Error(`line ${line}: sample ${name} of no declared family`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`line ${line}: series ${key} twice`);
    series.add(key);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) {
    if (family.type !== 'histogram') continue;
    const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
    for (const s of family.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const g = groups.get(key) ?? { buckets: [] };
      if (s.name.endsWith('_bucket')) g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
      else if (s.name.endsWith('_count')) g.count = s.value;
      groups.set(key, g);
    }
    for (const [key, g] of groups) {
      const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
      sorted.forEach(([, v], i) => {
        if (i && v < sorted[i - 1]![1]) throw new Error(`${family.name}${key}: buckets are not cumulative`);
      });
      const inf = sorted[sorted.length - 1];
      if (!inf || inf[0] !== Infinity || inf[1] !== g.count) throw new Error(`${family.name}${key}: the +Inf bucket is missing or differs from _count`);
    }
  }
  return families;
}

/** The samples of `name` (a family or one of a histogram's series) whose labels include `labels`. */
export function samples(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample[] {
  const base = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  if (!base) return [];
  return base.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of those samples' values (0 when there are none). */
export function total(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  return samples(families, name, labels).reduce((sum, s) => sum + s.value, 0);
}

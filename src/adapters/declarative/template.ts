/**
 * `{{ name | filter }}` placeholders in manifest requests. Names: `config.<key>`, `window.start`,
 * `window.end`, `cursor`, `partition`, `limit` (the page size); filters: `iso` (default for dates), `iso_seconds`,
 * `epoch_s`, `epoch_ms`, `date`. A string that is exactly one placeholder keeps the value's type
 * (numbers and arrays stay numbers and arrays in JSON bodies). Credentials are never in scope.
 */
export interface TemplateScope {
  config: Record<string, unknown>;
  window?: { start: Date; end: Date };
  cursor?: unknown;
  partition?: unknown;
  /** The stream's effective page size. */
  limit?: number;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*(?:\|\s*([a-z_]+)\s*)?\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][\w.]*)\s*(?:\|\s*([a-z_]+)\s*)?\}\}$/;

export const TEMPLATE_FILTERS = ['iso', 'iso_seconds', 'epoch_s', 'epoch_ms', 'date'] as const;

function lookup(scope: TemplateScope, name: string): unknown {
  let value: unknown = scope;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function applyFilter(value: unknown, filter: string | undefined): unknown {
  if (value instanceof Date) {
    switch (filter) {
      case 'epoch_s':
        return Math.floor(value.getTime() / 1000);
      case 'epoch_ms':
        return value.getTime();
      case 'date':
        return value.toISOString().slice(0, 10);
      case 'iso_seconds':
        return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
      default:
        return value.toISOString();
    }
  }
  return value;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Renders one template string; `undefined` when it is exactly one placeholder whose value is absent. */
export function renderString(template: string, scope: TemplateScope): unknown {
  const whole = WHOLE.exec(template);
  if (whole) return applyFilter(lookup(scope, whole[1]!), whole[2]);
  return template.replace(PLACEHOLDER, (_m, name: string, filter?: string) => asText(applyFilter(lookup(scope, name), filter)));
}

/**
 * Renders a URL path: each value is one path segment, percent-encoded, so a setting such as a
 * workspace id cannot add segments, `..`, a query or a fragment to the request.
 */
export function renderPath(template: string, scope: TemplateScope): string {
  return template.replace(PLACEHOLDER, (_m, name: string, filter?: string) => encodeURIComponent(asText(applyFilter(lookup(scope, name), filter))));
}

/** Renders every string inside a JSON value (request bodies). */
export function renderValue(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') return renderString(value, scope);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, scope));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const rendered = renderValue(v, scope);
      if (rendered !== undefined) out[k] = rendered;
    }
    return out;
  }
  return value;
}

/** Names and filters a template uses (the manifest test checks them against the scope). */
export function placeholders(template: string): Array<{ name: string; filter: string | undefined }> {
  return [...template.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1]!, filter: m[2] }));
}

/**
 * RFC 8288 `Link` header helpers for pagination (`Link: <https://api/items?page=2>; rel="next"`).
 */
import LinkHeader from 'http-link-header';

/** One parsed link, its target resolved to an absolute URL. */
export interface ParsedLink {
  url: string;
  /** Relation types, lower-cased (a link may carry several: `rel="next last"`). */
  rels: string[];
  params: Record<string, string>;
}

function headerValue(value: string | string[] | undefined | null): string {
  if (value === undefined || value === null) return '';
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Parses a `Link` header (or several, as Node joins or arrays them), resolving relative targets
 * against `baseUrl` — the URL of the response that carried the header. Malformed headers and
 * targets that are not http(s) URLs are ignored rather than thrown: pagination then simply ends.
 */
export function parseLinkHeader(value: string | string[] | undefined | null, baseUrl: string): ParsedLink[] {
  const raw = headerValue(value).trim();
  if (!raw) return [];
  let parsed: LinkHeader;
  try {
    parsed = LinkHeader.parse(raw);
  } catch {
    return [];
  }
  const out: ParsedLink[] = [];
  for (const ref of parsed.refs) {
    let url: URL;
    try {
      url = new URL(ref.uri, baseUrl);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    const { uri: _uri, rel, ...params } = ref;
    out.push({
      url: url.toString(),
      rels: typeof rel === 'string' ? rel.toLowerCase().split(/\s+/).filter(Boolean) : [],
      params,
    });
  }
  return out;
}

/** The absolute URL of the first link with relation `rel` (default `next`), or null. */
export function findLink(value: string | string[] | undefined | null, baseUrl: string, rel = 'next'): string | null {
  const wanted = rel.toLowerCase();
  return parseLinkHeader(value, baseUrl).find((l) => l.rels.includes(wanted))?.url ?? null;
}

/** Shorthand for `findLink(headers.link, responseUrl, 'next')`. */
export function nextLinkFromHeaders(headers: Record<string, string | string[] | undefined>, responseUrl: string): string | null {
  return findLink(headers.link, responseUrl, 'next');
}

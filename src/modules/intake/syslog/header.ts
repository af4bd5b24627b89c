/**
 * Reads a received syslog message into a {@link PushMessage}: HOSTNAME, APP-NAME, TIMESTAMP and the
 * payload. The header grammar (RFC 5424, RFC 3164, or `<PRI>` alone) is `stripSyslogPrefix` from
 * src/adapters/formats/syslog.ts, the same reader the CEF and LEEF parsers use, so the intake and
 * the decoders never disagree on where a header ends. (The npm syslog parsers looked at were
 * heuristic — a header-less line's first word taken as a host, `-` kept as a host name, a missing
 * timestamp replaced by the current time — which would route messages by guesses.)
 *
 * The payload:
 * - CEF or LEEF: `text` is the whole line, header included: the CEF/LEEF parsers read the header
 *   themselves and keep it on the record (`record.syslog`);
 * - a JSON object (Suricata EVE, Zeek JSON logs): `text` is the payload after the header;
 * - RFC 5424 STRUCTURED-DATA with a payload that is neither: `json` holds the SD elements, with the
 *   MSG and the header fields beside them, and `text` the MSG;
 * - anything else: `text` is the MSG.
 * A message whose header cannot be read is kept whole as `text`, with no hostname or app-name.
 */
import { stripSyslogPrefix, trimLineEnd } from '../../../adapters/formats/syslog.js';
import type { PushMessage } from '../../../adapters/spi.js';

export interface ReadMessage {
  hostname: string | null;
  appName: string | null;
  timestamp: string | null;
  text: string | null;
  json: Record<string, unknown> | null;
  /** Which header was read. */
  format: 'rfc5424' | 'rfc3164' | 'pri' | null;
}

const PAYLOAD = /^(CEF:\d|LEEF:\d)/;

/** Parses RFC 5424 STRUCTURED-DATA (`[id k="v" …][id2 …]`) into `{ id: { k: v } }`; repeated params become arrays. */
export function parseStructuredData(sd: string): Record<string, Record<string, string | string[]>> {
  const out: Record<string, Record<string, string | string[]>> = {};
  let i = 0;
  const n = sd.length;
  while (i < n && sd[i] === '[') {
    i++;
    let idEnd = i;
    while (idEnd < n && sd[idEnd] !== ' ' && sd[idEnd] !== ']') idEnd++;
    const id = sd.slice(i, idEnd);
    const params: Record<string, string | string[]> = (out[id] ??= {});
    i = idEnd;
    while (i < n && sd[i] !== ']') {
      while (sd[i] === ' ') i++;
      const eq = sd.indexOf('=', i);
      if (eq === -1) return out;
      const name = sd.slice(i, eq);
      i = eq + 1;
      if (sd[i] !== '"') return out;
      i++;
      let value = '';
      while (i < n && sd[i] !== '"') {
        if (sd[i] === '\\' && i + 1 < n && (sd[i + 1] === '"' || sd[i + 1] === '\\' || sd[i + 1] === ']')) {
          value += sd[i + 1];
          i += 2;
        } else value += sd[i++];
      }
      i++; // the closing quote
      const seen = params[name];
      params[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    i++; // the closing bracket
  }
  return out;
}

export function readSyslogMessage(line: string, receivedAt: Date): ReadMessage {
  const whole = trimLineEnd(line);
  const stripped = stripSyslogPrefix(whole, { now: receivedAt });
  if (!stripped.ok || !stripped.header) {
    return { hostname: null, appName: null, timestamp: null, text: whole, json: null, format: null };
  }
  const { header } = stripped;
  // Relays keep the space that followed an RFC 3164 tag (rsyslog's `%msg%`): it is not payload.
  const body = stripped.body.trimStart();
  const base = { hostname: header.host, appName: header.appName, timestamp: header.timestamp, format: header.format };
  if (PAYLOAD.test(body)) return { ...base, text: whole.slice(0, whole.length - stripped.body.length) + body, json: null };
  if (body.startsWith('{') || !header.structuredData) return { ...base, text: body, json: null };
  return {
    ...base,
    text: body,
    json: {
      message: body === '' ? null : body,
      host: header.host,
      source: header.appName,
      timestamp: header.timestamp,
      procId: header.procId,
      msgId: header.msgId,
      facility: header.facility,
      syslogSeverity: header.severity,
      structuredData: parseStructuredData(header.structuredData),
    },
  };
}

/** A received message as the intake takes it. */
export function toPushMessage(line: string, transport: PushMessage['transport'], remoteAddress: string, receivedAt = new Date()): PushMessage {
  const read = readSyslogMessage(line, receivedAt);
  return { transport, remoteAddress, receivedAt, hostname: read.hostname, appName: read.appName, timestamp: read.timestamp, text: read.text, json: read.json };
}

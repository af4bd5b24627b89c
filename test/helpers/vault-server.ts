/**
 * A loopback fake of HashiCorp Vault's KV secrets engine version 2, limited to the endpoints the
 * secret store uses, answering as Vault documents them
 * (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2) and as its KV plugin does:
 *
 * - `X-Vault-Token` must equal `token`; otherwise 403 `{"errors":["permission denied"]}` (before
 *   routing, as in Vault).
 * - `POST|PUT /v1/<mount>/data/<path>` `{ options?: { cas }, data }` → 200 with
 *   `data: { version, created_time, deletion_time: "", destroyed: false, custom_metadata: null }`.
 *   `cas` must equal the current version (0 = must not exist), else 400
 *   `{"errors":["check-and-set parameter did not match the current version"]}`; without `cas` on a
 *   `casRequired` server, 400 `check-and-set parameter required for this call`; no `data` → 400.
 * - `GET /v1/<mount>/data/<path>[?version=N]` → 200 `data: { data, metadata: { version, ... } }`;
 *   no such secret or version → 404 `{"errors":[]}`; a deleted (deletion_time passed) or destroyed
 *   version → 404 with `data: { data: null, metadata }`. `version` 0 or absent = latest.
 * - `GET /v1/<mount>/metadata/<path>` → 200 `data: { current_version, oldest_version, versions:
 *   { "1": { created_time, deletion_time, destroyed } }, cas_required, max_versions, ... }`; 404
 *   `{"errors":[]}` when absent.
 * - `DELETE /v1/<mount>/metadata/<path>` → 204, whether or not the secret existed.
 * - More than `maxVersions` (default 10) versions: the oldest are dropped, as Vault does.
 * - Another mount → 404 `no handler for route`; another method → 405 `unsupported operation`;
 *   a path with `.`/`..` segments → 301 to the cleaned path (Go's ServeMux).
 *
 * Test controls: `failNext` (a status or a socket reset ahead of everything), `deleteVersions`
 * and `destroyVersions` (what Vault's delete/destroy endpoints do), `setCasRequired`. Every
 * request is recorded with its headers minus `x-vault-token` (`tokenSent` says whether one came).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface VaultServerOptions {
  token: string;
  /** KV v2 mount path; default `secret`. */
  mount?: string;
  maxVersions?: number;
  /** The mount's `cas_required`. */
  casRequired?: boolean;
}

export interface RecordedVaultRequest {
  method: string;
  /** The raw path as sent (percent-encoding kept), without the query. */
  path: string;
  query: Record<string, string>;
  /** Request headers without `x-vault-token`. */
  headers: IncomingHttpHeaders;
  tokenSent: boolean;
  /** The parsed JSON body, if any. */
  body?: unknown;
  /** Status answered; 0 when the socket was reset. */
  status: number;
}

interface StoredVersion {
  data: Record<string, unknown>;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

interface StoredSecret {
  currentVersion: number;
  oldestVersion: number;
  createdTime: string;
  updatedTime: string;
  versions: Map<number, StoredVersion>;
}

export interface VaultServer {
  /** `http://127.0.0.1:<port>` (VAULT_ADDR). */
  url: string;
  requests: RecordedVaultRequest[];
  /** The next `count` requests get `status` (JSON errors body) or a socket reset. */
  failNext(status: number | 'reset', count?: number): void;
  /** Soft-deletes versions of a key path (relative to the mount), like `POST <mount>/delete/<path>`. */
  deleteVersions(path: string, versions: number[]): void;
  /** Destroys versions, like `POST <mount>/destroy/<path>`. */
  destroyVersions(path: string, versions: number[]): void;
  setCasRequired(value: boolean): void;
  /** Key paths (relative to the mount) that exist. */
  keys(): string[];
  /** The stored data of a version (latest by default), for assertions. */
  peek(path: string, version?: number): Record<string, unknown> | undefined;
  clearRequests(): void;
  close(): Promise<void>;
}

const PERMISSION_DENIED = 'permission denied';

/** Starts the fake on 127.0.0.1, on a free port. */
export async function startVaultServer(options: VaultServerOptions): Promise<VaultServer> {
  const mount = (options.mount ?? 'secret').replace(/^\/+|\/+$/g, '');
  const maxVersions = options.maxVersions ?? 10;
  let casRequired = options.casRequired ?? false;
  const secrets = new Map<string, StoredSecret>();
  const failures: Array<number | 'reset'> = [];
  const requests: RecordedVaultRequest[] = [];

  const envelope = (data: unknown) => ({
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: 'kv',
  });

  function send(res: ServerResponse, record: RecordedVaultRequest, status: number, body?: unknown, headers: Record<string, string> = {}) {
    record.status = status;
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  const versionMetadata = (v: StoredVersion, version: number) => ({
    created_time: v.createdTime,
    custom_metadata: null,
    deletion_time: v.deletionTime,
    destroyed: v.destroyed,
    version,
  });

  const isGone = (v: StoredVersion) => v.destroyed || (v.deletionTime !== '' && Date.parse(v.deletionTime) <= Date.now());

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const { 'x-vault-token': token, ...headers } = req.headers;
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RecordedVaultRequest = { method, path: url.pathname, query, headers, tokenSent: token !== undefined, status: 0 };
    requests.push(record);
    const raw = await readBody(req);
    if (raw) {
      try {
        record.body = JSON.parse(raw);
      } catch {
        record.body = raw;
      }
    }

    const failure = failures.shift();
    if (failure !== undefined) {
      if (failure === 'reset') {
        req.socket.destroy();
        return;
      }
      return send(res, record, failure, { errors: [`injected failure ${failure}`] });
    }

    if (token !== options.token) return send(res, record, 403, { errors: [PERMISSION_DENIED] });

    if (!url.pathname.startsWith('/v1/')) return send(res, record, 404, { errors: [] });
    let path: string;
    try {
      path = decodeURIComponent(url.pathname.slice('/v1/'.length));
    } catch {
      return send(res, record, 400, { errors: ['invalid path encoding'] });
    }
    const segments = path.split('/');
    if (segments.some((s) => s === '.' || s === '..')) {
      // Go's ServeMux answers a non-canonical path with a redirect to the cleaned one.
      const cleaned: string[] = [];
      for (const s of segments) {
        if (s === '..') cleaned.pop();
        else if (s !== '.') cleaned.push(s);
      }
      return send(res, record, 301, undefined, { location: `/v1/${cleaned.join('/')}` });
    }
    const route = new RegExp(`^${mount.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(data|metadata)/(.*[^/])$`).exec(path);
    if (!route) return send(res, record, 404, { errors: [`no handler for route "${path}". route entry not found.`] });
    const [, kind, key] = route as unknown as [string, 'data' | 'metadata', string];
    const unsupported = () => send(res, record, 405, { errors: ['1 error occurred:\n\t* unsupported operation\n\n'] });

    if (kind === 'metadata') {
      if (method === 'DELETE') {
        secrets.delete(key);
        return send(res, record, 204);
      }
      if (method !== 'GET') return unsupported();
      const secret = secrets.get(key);
      if (!secret) return send(res, record, 404, { errors: [] });
      const versions: Record<string, unknown> = {};
      for (const [n, v] of secret.versions) {
        versions[String(n)] = { created_time: v.createdTime, deletion_time: v.deletionTime, destroyed: v.destroyed };
      }
      return send(
        res,
        record,
        200,
        envelope({
          cas_required: casRequired,
          created_time: secret.createdTime,
          current_version: secret.currentVersion,
          custom_metadata: null,
          delete_version_after: '0s',
          max_versions: 0,
          oldest_version: secret.oldestVersion,
          updated_time: secret.updatedTime,
          versions,
        }),
      );
    }

    if (method === 'GET') {
      let version = 0;
      if (query.version !== undefined) {
        if (!/^-?\d+$/.test(query.version)) {
          return send(res, record, 400, { errors: [`error converting input ${query.version} for field "version"`] });
        }
        version = Number(query.version);
      }
      const secret = secrets.get(key);
      if (!secret) return send(res, record, 404, { errors: [] });
      const n = version > 0 ? version : secret.currentVersion;
      const v = secret.versions.get(n);
      if (!v) return send(res, record, 404, { errors: [] });
      if (isGone(v)) return send(res, record, 404, envelope({ data: null, metadata: versionMetadata(v, n) }));
      return send(res, record, 200, envelope({ data: structuredClone(v.data), metadata: versionMetadata(v, n) }));
    }

    if (method !== 'POST' && method !== 'PUT') return unsupported();
    const body = record.body;
    if (raw && typeof body === 'string') return send(res, record, 400, { errors: ['failed to parse JSON input: invalid character'] });
    const input = (body ?? {}) as { data?: unknown; options?: unknown };
    if (input.data === undefined || input.data === null) return send(res, record, 400, { errors: ['no data provided'] });
    if (typeof input.data !== 'object' || Array.isArray(input.data)) {
      return send(res, record, 400, { errors: ['error converting input for field "data"'] });
    }
    const secret = secrets.get(key);
    const current = secret?.currentVersion ?? 0;
    const opts = input.options && typeof input.options === 'object' ? (input.options as Record<string, unknown>) : undefined;
    if (opts && 'cas' in opts) {
      const cas = Number(opts.cas);
      if (!Number.isInteger(cas)) return send(res, record, 400, { errors: ['error parsing check-and-set parameter'] });
      if (cas !== current) return send(res, record, 400, { errors: ['check-and-set parameter did not match the current version'] });
    } else if (casRequired) {
      return send(res, record, 400, { errors: ['check-and-set parameter required for this call'] });
    }
    const now = new Date().toISOString();
    const stored: StoredSecret = secret ?? { currentVersion: 0, oldestVersion: 0, createdTime: now, updatedTime: now, versions: new Map() };
    const version = current + 1;
    const v: StoredVersion = { data: structuredClone(input.data as Record<string, unknown>), createdTime: now, deletionTime: '', destroyed: false };
    stored.versions.set(version, v);
    stored.currentVersion = version;
    stored.updatedTime = now;
    if (stored.versions.size > maxVersions) {
      const cutoff = version - maxVersions;
      for (const n of [...stored.versions.keys()]) if (n <= cutoff) stored.versions.delete(n);
      stored.oldestVersion = cutoff + 1;
    }
    secrets.set(key, stored);
    return send(res, record, 200, envelope(versionMetadata(v, version)));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":["internal error"]}');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const mark = (path: string, versions: number[], change: (v: StoredVersion) => void) => {
    const secret = secrets.get(path);
    for (const n of versions) {
      const v = secret?.versions.get(n);
      if (v) change(v);
    }
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(status, count = 1) {
      for (let i = 0; i < count; i++) failures.push(status);
    },
    deleteVersions(path, versions) {
      mark(path, versions, (v) => {
        v.deletionTime = new Date().toISOString();
      });
    },
    destroyVersions(path, versions) {
      mark(path, versions, (v) => {
        v.destroyed = true;
        v.data = {};
      });
    },
    setCasRequired(value) {
      casRequired = value;
    },
    keys() {
      return [...secrets.keys()];
    },
    peek(path, version) {
      const secret = secrets.get(path);
      const v = secret?.versions.get(version ?? secret.currentVersion);
      return v ? structuredClone(v.data) : undefined;
    },
    clearRequests() {
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

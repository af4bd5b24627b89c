/**
 * The syslog routing table: every push connector that is not deleted (enabled or not: a disabled
 * one still owns its senders, and the intake counts what it drops), with its routing rule
 * (`senders`, optional `hostname` / `appName`; `matchesSender` in src/adapters/push/index.ts).
 *
 * A message goes to exactly one connector or to none:
 * - no connector matches: unmatched, dropped;
 * - connectors of more than one tenant match: ambiguous, dropped (never guessed into a tenant);
 * - several connectors of one tenant match: the most specific rule wins (the longest matching
 *   sender prefix, then a hostname, then an app-name rule); a tie is ambiguous too.
 *
 * The table is reloaded on the `push_connector_routes` NOTIFY the connector service sends in the
 * transaction that changes a push connector, and a cheap fingerprint query every second catches
 * what a lost notification missed: a change reaches every process within a second.
 */
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { PUSH_PROVIDER_IDS } from '../../../adapters/registry.js';
import { matchesSender, senderPrefix } from '../../../adapters/push/index.js';
import type { ConnectorConfig } from '../../../adapters/spi.js';
import type { Logger } from '../../../server/logger.js';
import { PUSH_ROUTES_CHANNEL } from './channel.js';

export interface Route {
  tenantId: string;
  connectorId: string;
  provider: string;
  enabled: boolean;
  config: ConnectorConfig;
}

export type RouteDecision = { kind: 'route'; route: Route } | { kind: 'unmatched' } | { kind: 'ambiguous'; tenants: number };

/** Decides where a message goes; pure (the routing table's rows in, a decision out). */
export function decideRoute(routes: readonly Route[], address: string, hostname: string | null, appName: string | null): RouteDecision {
  const matched = routes.filter((r) => matchesSender(r.config, address, hostname, appName));
  if (!matched.length) return { kind: 'unmatched' };
  const tenants = new Set(matched.map((r) => r.tenantId));
  if (tenants.size > 1) return { kind: 'ambiguous', tenants: tenants.size };
  if (matched.length === 1) return { kind: 'route', route: matched[0]! };
  const score = (r: Route) => senderPrefix(r.config, address) * 4 + (typeof r.config.hostname === 'string' ? 2 : 0) + (typeof r.config.appName === 'string' ? 1 : 0);
  const scored = matched.map((r) => ({ r, s: score(r) })).sort((a, b) => b.s - a.s);
  if (scored[0]!.s === scored[1]!.s) return { kind: 'ambiguous', tenants: 1 };
  return { kind: 'route', route: scored[0]!.r };
}

/** Routing decisions remembered at most (senders repeat: a few hosts send most messages). */
const DECISION_CACHE_MAX = 10_000;

export interface RouterOptions {
  /** Milliseconds between fingerprint checks (the fallback when a NOTIFY is lost). */
  pollMs?: number;
}

export class SyslogRouter {
  private routes: Route[] = [];
  private decisions = new Map<string, RouteDecision>();
  private fingerprint: string | null = null;
  private listener: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private reloading: Promise<void> | null = null;
  private again = false;
  /** Reloads done (for tests and metrics). */
  reloads = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly options: RouterOptions = {},
  ) {}

  get size(): number {
    return this.routes.length;
  }

  /** Whether the table holds this connector (and, when given, this config version of it: see `reload`). */
  has(connectorId: string): boolean {
    return this.routes.some((r) => r.connectorId === connectorId);
  }

  /** Where a message goes; decisions are remembered per (address, hostname, app-name) until the next reload. */
  route(address: string, hostname: string | null, appName: string | null): RouteDecision {
    const key = `${address}\u0000${hostname ?? '\u0001'}\u0000${appName ?? '\u0001'}`;
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = decideRoute(this.routes, address, hostname, appName);
      if (this.decisions.size >= DECISION_CACHE_MAX) this.decisions.clear();
      this.decisions.set(key, decision);
    }
    return decision;
  }

  async start(): Promise<void> {
    await this.reload();
    await this.listen().catch((error) => this.logger.warn({ err: (error as Error).message }, 'syslog routes: could not LISTEN; polling only'));
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.listener;
    this.listener = null;
    await client?.end().catch(() => undefined);
    await this.reloading?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick().finally(() => this.schedule());
    }, this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Once a second: reconnect a lost LISTEN, and reload when the fingerprint moved. */
  private async tick(): Promise<void> {
    if (!this.listener) await this.listen().catch(() => undefined);
    try {
      if ((await this.currentFingerprint()) !== this.fingerprint) await this.reload();
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'syslog routes: fingerprint check failed; keeping the table');
    }
  }

  private async currentFingerprint(): Promise<string> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::text || ':' || COALESCE(md5(string_agg(id || ':' || version || ':' || enabled || ':' || is_deleted, ',' ORDER BY id)), '') AS f
         FROM connectors WHERE provider = ANY($1)`,
      [PUSH_PROVIDER_IDS],
    );
    return String(row?.f ?? '');
  }

  /** Reloads the table; concurrent calls share one reload, and a call during one runs another after it. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.again = false;
          const fingerprint = await this.currentFingerprint();
          const rows: Array<{ id: string; tenant_id: string; provider: string; enabled: boolean; config: ConnectorConfig }> = await this.dataSource.query(
            'SELECT id, tenant_id, provider, enabled, config FROM connectors WHERE provider = ANY($1) AND NOT is_deleted ORDER BY id',
            [PUSH_PROVIDER_IDS],
          );
          this.routes = rows.map((r) => ({ tenantId: r.tenant_id, connectorId: r.id, provider: r.provider, enabled: r.enabled, config: r.config ?? {} }));
          this.decisions = new Map();
          this.fingerprint = fingerprint;
          this.reloads++;
        } while (this.again && !this.stopped);
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  private async listen(): Promise<void> {
    if (this.stopped || this.listener) return;
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'connector-subgraph-syslog-routes' });
    const lost = () => {
      if (this.listener === client) this.listener = null;
      client.end().catch(() => undefined);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => {
      this.reload().catch((error) => this.logger.warn({ err: (error as Error).message }, 'syslog routes: reload failed'));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PUSH_ROUTES_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    // A change made while no one listened: catch up now rather than at the next tick.
    await this.reload().catch(() => undefined);
  }
}

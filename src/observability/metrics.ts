/**
 * Prometheus metrics (docs/metrics.md): one `Metrics` per service instance, with a registry of its
 * own (several services may run in one process, as in the tests), hooked at the choke points that
 * already exist:
 *
 * - the Fastify app: one `onResponse` hook (request durations; intake and body-size refusals);
 * - Apollo Server: one plugin (operation durations, outcomes, SQL statements, limit refusals);
 * - the request rate limiter: its refusal callback;
 * - the adapter runtime, the ingestion service and the intake service: their `meter` callbacks;
 * - at scrape time: the syslog receiver's counters, and, from PostgreSQL behind a short cache, the
 *   job queues and the connectors per health status.
 *
 * Labels are closed sets: routes are templates, providers are registry ids, GraphQL operation
 * names are bounded (a safe pattern, at most METRICS_MAX_OPERATIONS, the rest "other"). No tenant
 * id, connector id or connector name is ever a label.
 *
 * /metrics is on the main port, open, unless METRICS_TOKEN requires a bearer token there, or
 * METRICS_PORT alone moves it to a listener of its own (loopback by default); METRICS=off turns it
 * off. Every scrape counts against a per-address rate limit.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { DataSource } from 'typeorm';
import { getAdapter } from '../adapters/registry.js';
import type { MetricsSettings } from '../config.js';
import { currentStatementCount } from '../db/statement-counter.js';
import { isErrorCode } from '../errors/app-error.js';
import { QUEUES } from '../jobs/job-queue.js';
import type { SyslogCounters } from '../modules/intake/syslog/receiver.js';
import type { IntakeOutcome } from '../modules/intake/intake.service.js';
import type { Logger } from '../server/logger.js';
import type { Services } from '../services.js';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STATEMENT_BUCKETS = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** An operation name that may become a label value. */
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Names that look like an identifier (a ULID, a long number) never do: they could be a tenant's or a connector's. */
const ID_LIKE = /[0-9A-HJKMNP-TV-Z]{20,}|[0-9]{6,}/;
/** Label values this module gives meanings of its own. */
const RESERVED_NAMES = new Set(['anonymous', 'other', 'unresolved']);
/** The setting a refusal's message names, e.g. "… (MAX_QUERY_COST)". */
const SETTING_IN_MESSAGE = /\((MAX_[A-Z_]+|GRAPHQL_QUEUE|TESTS_PER_TENANT)\)/;
const QUEUE_NAMES: readonly string[] = Object.values(QUEUES);
const HEALTH_STATUSES = ['PENDING', 'HEALTHY', 'DEGRADED', 'FAILING', 'PAUSED'];

/** What the metered callers report; read by the adapter runtime, the ingestion and the intake services. */
export interface OutboundOutcome {
  /** The final HTTP status, or null when no response came. */
  status: number | null;
  /** The failure code (TIMEOUT, UNREACHABLE, EGRESS_DENIED, …) when the call failed. */
  code: string | null;
  seconds: number;
}

export interface ScrapeAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** GraphQL operation names as labels: a bounded set, filled by authenticated, resolved operations. */
export class OperationNames {
  private readonly known = new Set<string>();

  constructor(private readonly max: number) {}

  label(name: string | null | undefined, mayAdmit: boolean): string {
    if (!name) return 'anonymous';
    if (this.known.has(name)) return name;
    if (!mayAdmit || this.known.size >= this.max || !OPERATION_NAME.test(name) || ID_LIKE.test(name) || RESERVED_NAMES.has(name)) return 'other';
    this.known.add(name);
    return name;
  }
}

/** A provider id as a label: a registered one, else "other". */
function providerLabel(provider: string): string {
  return getAdapter(provider) ? provider : 'other';
}

function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** sha256 both sides, then compare in constant time (the lengths never leak either). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

interface DatabaseFigures {
  queues: Array<{ name: string; ready: number; scheduled: number; active: number; oldest: number }>;
  connectors: Array<{ provider: string; status: string; count: number }>;
  /** Enabled connectors whose health check is overdue (older than 1.5 × its interval). */
  overdueChecks: number;
}

/** The syslog receiver's counters, as exported families. */
const SYSLOG_FAMILIES: Array<{ name: string; help: string; key: keyof SyslogCounters }> = [
  { name: 'connector_syslog_received_messages_total', help: 'Syslog messages read (framed), whatever became of them.', key: 'received' },
  { name: 'connector_syslog_unmatched_messages_total', help: 'Syslog messages no push connector\'s rule matched (dropped).', key: 'unmatched' },
  { name: 'connector_syslog_ambiguous_messages_total', help: 'Syslog messages matching connectors of more than one tenant, or tied (dropped).', key: 'ambiguous' },
  { name: 'connector_syslog_udp_dropped_datagrams_total', help: 'UDP datagrams dropped because their connector\'s queue was full (SYSLOG_QUEUE_MAX).', key: 'droppedUdp' },
  { name: 'connector_syslog_oversized_frames_total', help: 'Syslog frames over the 64 KiB limit, skipped.', key: 'oversized' },
  { name: 'connector_syslog_framing_errors_total', help: 'TCP/TLS syslog connections closed because their octet-counted framing broke.', key: 'framingErrors' },
  { name: 'connector_syslog_busy_batches_total', help: 'Syslog batches the intake answered busy (kept and retried).', key: 'busy' },
  { name: 'connector_syslog_paused_connections_total', help: 'Times a TCP/TLS syslog connection was paused for back-pressure.', key: 'pauses' },
  { name: 'connector_syslog_submitted_messages_total', help: 'Syslog messages handed to the intake.', key: 'submitted' },
];

export class Metrics {
  readonly registry = new Registry();
  private readonly operations: OperationNames;
  private readonly limiter: RateLimiterMemory;
  private readonly cacheMs: number;
  private dataSource: DataSource | null = null;
  private syslog: { readonly counters: Readonly<SyslogCounters>; readonly queued: number } | null = null;
  private health: { overdueChecks(): Promise<number> } | null = null;
  private snapshot: { at: number; pending: boolean; value: Promise<DatabaseFigures | null> } | null = null;
  private server: Server | null = null;
  /** Where the METRICS_PORT listener listens, once `listen()` ran. */
  url: string | null = null;

  private readonly httpDuration: Histogram<'route' | 'method' | 'status_class'>;
  private readonly operationDuration: Histogram<'operation' | 'type' | 'outcome'>;
  private readonly operationStatements: Histogram<'operation'>;
  private readonly queryRefusals: Counter<'limit'>;
  private readonly rateLimitRefusals: Counter<'limit'>;
  private readonly intakeRefusals: Counter<'endpoint' | 'status'>;
  private readonly outboundRequests: Counter<'provider' | 'status'>;
  private readonly outboundDuration: Histogram<'provider'>;
  private readonly ingestedRecords: Counter<'provider' | 'mode'>;
  private readonly ingestedDuplicates: Counter<'provider' | 'mode'>;
  private readonly ingestionErrors: Counter<'provider' | 'mode' | 'reason'>;
  private readonly ingestionRuns: Counter<'provider' | 'status'>;
  private readonly databaseReads: Counter;
  private readonly databaseReadErrors: Counter;

  constructor(
    private readonly settings: MetricsSettings,
    private readonly logger: Logger,
  ) {
    const registers = [this.registry];
    const self = this;
    this.operations = new OperationNames(settings.maxOperations);
    this.limiter = new RateLimiterMemory({ keyPrefix: 'metrics', points: settings.requestsPerMinute, duration: 60 });
    this.cacheMs = settings.cacheSec * 1000;
    collectDefaultMetrics({ register: this.registry });

    this.httpDuration = new Histogram({
      name: 'connector_http_request_duration_seconds',
      help: 'HTTP requests served, by route template, method and status class.',
      labelNames: ['route', 'method', 'status_class'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.operationDuration = new Histogram({
      name: 'connector_graphql_operation_duration_seconds',
      help: 'GraphQL operations, by operation name (bounded), type and outcome ("ok" or the first error\'s code).',
      labelNames: ['operation', 'type', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.operationStatements = new Histogram({
      name: 'connector_graphql_operation_sql_statements',
      help: 'SQL statements one GraphQL operation ran, by operation name (bounded).',
      labelNames: ['operation'],
      buckets: STATEMENT_BUCKETS,
      registers,
    });
    this.queryRefusals = new Counter({
      name: 'connector_query_limit_refusals_total',
      help: 'GraphQL requests refused as QUERY_TOO_COMPLEX before execution, by the limit (its setting, lower case).',
      labelNames: ['limit'],
      registers,
    });
    this.rateLimitRefusals = new Counter({
      name: 'connector_rate_limit_refusals_total',
      help: 'Requests refused by a rate limit or a concurrency bound, by limit.',
      labelNames: ['limit'],
      registers,
    });
    this.intakeRefusals = new Counter({
      name: 'connector_intake_refusals_total',
      help: 'Push intake requests (HEC, /intake) answered with an error, by endpoint and HTTP status.',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.outboundRequests = new Counter({
      name: 'connector_outbound_requests_total',
      help: 'Calls to upstream APIs (retries included in one call), by provider and status class, or the failure code when no response came.',
      labelNames: ['provider', 'status'],
      registers,
    });
    this.outboundDuration = new Histogram({
      name: 'connector_outbound_request_duration_seconds',
      help: 'Calls to upstream APIs, retries and waits included, by provider.',
      labelNames: ['provider'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.ingestedRecords = new Counter({
      name: 'connector_ingested_records_total',
      help: 'Records read from upstreams (mode "poll") or decoded from pushed messages (mode "push"), duplicates included, by provider.',
      labelNames: ['provider', 'mode'],
      registers,
    });
    this.ingestedDuplicates = new Counter({
      name: 'connector_ingested_duplicates_total',
      help: 'Records that were duplicates within their dedup window (not stored again), by provider and mode.',
      labelNames: ['provider', 'mode'],
      registers,
    });
    this.ingestionErrors = new Counter({
      name: 'connector_ingestion_errors_total',
      help: 'Ingestion errors by provider and mode: failed or interrupted runs (poll), rejected messages or messages to a disabled connector (push).',
      labelNames: ['provider', 'mode', 'reason'],
      registers,
    });
    this.ingestionRuns = new Counter({
      name: 'connector_ingestion_runs_total',
      help: 'Polled ingestion runs ended, by provider and status (succeeded, failed, cancelled, interrupted).',
      labelNames: ['provider', 'status'],
      registers,
    });
    this.databaseReads = new Counter({
      name: 'connector_metrics_database_reads_total',
      help: 'Times a scrape read the job queues and connector statuses from PostgreSQL (at most once per METRICS_CACHE_SEC).',
      registers,
    });
    this.databaseReadErrors = new Counter({
      name: 'connector_metrics_database_read_errors_total',
      help: 'Scrape-time PostgreSQL reads that failed (their families are then left out).',
      registers,
    });

    new Gauge({
      name: 'connector_job_queue_depth',
      help: 'Jobs per queue: "ready" (due, waiting for a worker), "scheduled" (due later), "active" (being run). Read at scrape time, cached.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const figures = await self.databaseFigures();
        this.reset();
        if (!figures) return;
        for (const name of QUEUE_NAMES) {
          const q = figures.queues.find((row) => row.name === name);
          this.set({ queue: name, state: 'ready' }, q?.ready ?? 0);
          this.set({ queue: name, state: 'scheduled' }, q?.scheduled ?? 0);
          this.set({ queue: name, state: 'active' }, q?.active ?? 0);
        }
      },
    });
    new Gauge({
      name: 'connector_job_queue_oldest_job_age_seconds',
      help: 'Seconds the oldest due job of each queue has waited for a worker (0 when none waits). Read at scrape time, cached.',
      labelNames: ['queue'],
      registers,
      async collect() {
        const figures = await self.databaseFigures();
        this.reset();
        if (!figures) return;
        for (const name of QUEUE_NAMES) this.set({ queue: name }, figures.queues.find((row) => row.name === name)?.oldest ?? 0);
      },
    });
    new Gauge({
      name: 'connector_health_checks_overdue',
      help: 'Enabled connectors whose last health check is older than 1.5 × their healthCheckIntervalSec (the workers are not keeping up; docs/capacity.md). Read at scrape time, cached.',
      registers,
      async collect() {
        const figures = await self.databaseFigures();
        this.reset();
        if (figures) this.set(figures.overdueChecks);
      },
    });
    new Gauge({
      name: 'connector_connectors',
      help: 'Connectors (not deleted) by provider and health status. Read at scrape time, cached.',
      labelNames: ['provider', 'status'],
      registers,
      async collect() {
        const figures = await self.databaseFigures();
        this.reset();
        if (!figures) return;
        for (const row of figures.connectors) {
          this.inc({ provider: providerLabel(row.provider), status: HEALTH_STATUSES.includes(row.status) ? row.status : 'other' }, row.count);
        }
      },
    });

    for (const family of SYSLOG_FAMILIES) {
      new Counter({
        name: family.name,
        help: family.help,
        registers,
        collect() {
          this.reset();
          const counters = self.syslog?.counters;
          if (counters) this.inc(counters[family.key]);
        },
      });
    }
    new Gauge({
      name: 'connector_syslog_queued_messages',
      help: 'Syslog messages queued for the intake across connectors (waiting and being written).',
      registers,
      collect() {
        this.set(self.syslog?.queued ?? 0);
      },
    });
  }

  /** Request durations, and the refusals only the HTTP layer sees (intake answers, oversized GraphQL bodies). */
  instrument(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const status = reply.statusCode;
      this.httpDuration.observe({ route, method: METHODS.has(request.method) ? request.method : 'OTHER', status_class: statusClass(status) }, reply.elapsedTime / 1000);
      if (status < 400) return;
      const endpoint = route.startsWith('/services/collector') ? 'hec' : route.startsWith('/intake/') ? 'intake' : null;
      if (endpoint) {
        this.intakeRefusals.inc({ endpoint, status: String(status) });
        if (status === 429) this.rateLimitRefusals.inc({ limit: 'intake' });
      } else if (route === '/graphql' && status === 413) this.queryRefusals.inc({ limit: 'body_size' });
    });
  }

  /** For RequestRateLimiter: a request refused by the principal, tenant or anonymous limit. */
  readonly rateLimited = (limit: string): void => {
    this.rateLimitRefusals.inc({ limit });
  };

  /** GraphQL operations: duration, outcome and SQL statements, and the limits that refused them. */
  apolloPlugin(): ApolloServerPlugin<BaseContext> {
    const self = this;
    return {
      async requestDidStart() {
        const started = performance.now();
        return {
          async willSendResponse(requestContext) {
            const seconds = (performance.now() - started) / 1000;
            const body = requestContext.response.body;
            const errors = (body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors) ?? [];
            const resolved = requestContext.operation !== undefined;
            const authenticated = Boolean((requestContext.contextValue as { principal?: unknown }).principal);
            const operation = resolved ? self.operations.label(requestContext.operationName, authenticated) : 'unresolved';
            const code = errors[0]?.extensions?.code;
            const outcome = errors.length === 0 ? 'ok' : isErrorCode(code) ? code : 'other';
            self.operationDuration.observe({ operation, type: requestContext.operation?.operation ?? 'unknown', outcome }, seconds);
            const statements = currentStatementCount();
            if (statements !== undefined) self.operationStatements.observe({ operation }, statements);
            for (const error of errors) {
              const setting = SETTING_IN_MESSAGE.exec(error.message)?.[1]?.toLowerCase();
              if (error.extensions?.code === 'QUERY_TOO_COMPLEX') self.queryRefusals.inc({ limit: setting ?? (/introspection/.test(error.message) ? 'introspection_depth' : 'other') });
              else if (error.extensions?.code === 'RATE_LIMITED') self.rateLimitRefusals.inc({ limit: setting ?? 'other' });
            }
          },
        };
      },
    };
  }

  /**
   * Scrape-time sources and the services' meters: the adapter runtime's outbound calls, polled
   * runs and push intake. `syslog` is the receiver of this process, if any.
   */
  watch({ dataSource, services, syslog }: { dataSource: DataSource; services: Services; syslog: { readonly counters: Readonly<SyslogCounters>; readonly queued: number } | null }): void {
    this.dataSource = dataSource;
    this.syslog = syslog;
    this.health = services.health;
    services.runtime.meter = (provider, outcome) => {
      const label = providerLabel(provider);
      const status = outcome.status !== null ? statusClass(outcome.status) : (outcome.code ?? 'unknown').toLowerCase();
      this.outboundRequests.inc({ provider: label, status });
      this.outboundDuration.observe({ provider: label }, outcome.seconds);
    };
    services.ingestion.meter = {
      batch: (provider, read, duplicates) => {
        const labels = { provider: providerLabel(provider), mode: 'poll' };
        this.ingestedRecords.inc(labels, read);
        this.ingestedDuplicates.inc(labels, duplicates);
      },
      run: (provider, status) => {
        const label = providerLabel(provider);
        this.ingestionRuns.inc({ provider: label, status });
        if (status === 'failed' || status === 'interrupted') this.ingestionErrors.inc({ provider: label, mode: 'poll', reason: `run_${status}` });
      },
    };
    services.intake.meter = (provider: string, outcome: IntakeOutcome, messages: number) => {
      const labels = { provider: providerLabel(provider), mode: 'push' };
      if (outcome.status === 'disabled') this.ingestionErrors.inc({ ...labels, reason: 'disabled' }, messages);
      if (outcome.status !== 'accepted') return;
      this.ingestedRecords.inc(labels, outcome.accepted);
      this.ingestedDuplicates.inc(labels, outcome.duplicates);
      if (outcome.rejected.length) this.ingestionErrors.inc({ ...labels, reason: 'rejected' }, outcome.rejected.length);
    };
  }

  /** The job queues and connector statuses, read once per METRICS_CACHE_SEC however many scrapes ask. */
  private databaseFigures(): Promise<DatabaseFigures | null> {
    const now = Date.now();
    if (this.snapshot && (this.snapshot.pending || now - this.snapshot.at < this.cacheMs)) return this.snapshot.value;
    const snapshot = { at: now, pending: true, value: Promise.resolve<DatabaseFigures | null>(null) };
    snapshot.value = this.readDatabase().finally(() => {
      snapshot.pending = false;
      snapshot.at = Date.now();
    });
    this.snapshot = snapshot;
    return snapshot.value;
  }

  private async readDatabase(): Promise<DatabaseFigures | null> {
    if (!this.dataSource) return null;
    this.databaseReads.inc();
    try {
      // pg-boss keeps each queue in a partition of pgboss.job; `state < 'active'` is its own index's predicate.
      const queues: Array<Record<string, unknown>> = await this.dataSource.query(
        `SELECT name,
                count(*) FILTER (WHERE state < 'active' AND start_after <= now())::int AS ready,
                count(*) FILTER (WHERE state < 'active' AND start_after > now())::int AS scheduled,
                count(*) FILTER (WHERE state = 'active')::int AS active,
                COALESCE(EXTRACT(EPOCH FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now())), 0)::float8 AS oldest
           FROM pgboss.job WHERE name = ANY($1::text[]) AND state <= 'active' GROUP BY name`,
        [QUEUE_NAMES],
      );
      const connectors: Array<Record<string, unknown>> = await this.dataSource.query(
        'SELECT provider, sync_status, count(*)::int AS n FROM connectors WHERE NOT is_deleted GROUP BY provider, sync_status',
      );
      const overdueChecks = this.health ? await this.health.overdueChecks() : 0;
      return {
        overdueChecks,
        queues: queues.map((r) => ({ name: String(r.name), ready: Number(r.ready), scheduled: Number(r.scheduled), active: Number(r.active), oldest: Number(r.oldest) })),
        connectors: connectors.map((r) => ({ provider: String(r.provider), status: String(r.sync_status), count: Number(r.n) })),
      };
    } catch (error) {
      this.databaseReadErrors.inc();
      this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'metrics: the database figures could not be read');
      return null;
    }
  }

  /** One scrape: rate limit per address first (refused scrapes count too), then the token, then the exposition. */
  async scrape(address: string, authorization: string | undefined): Promise<ScrapeAnswer> {
    try {
      await this.limiter.consume(address);
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
      this.rateLimitRefusals.inc({ limit: 'metrics' });
      const seconds = Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
      return { status: 429, headers: { 'retry-after': String(seconds), 'content-type': 'text/plain; charset=utf-8' }, body: `too many scrapes from this address (METRICS_RATE_LIMIT): try again in ${seconds} s\n` };
    }
    if (this.settings.token !== undefined) {
      const given = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
      if (!given || !sameSecret(given, this.settings.token)) {
        return { status: 401, headers: { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain; charset=utf-8' }, body: 'a valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)\n' };
      }
    }
    const body = await this.registry.metrics();
    return { status: 200, headers: { 'content-type': this.registry.contentType, 'cache-control': 'no-store' }, body };
  }

  /**
   * GET /metrics on the main port: with METRICS_TOKEN behind it, or open when no METRICS_PORT
   * listener takes its place (API contract: "METRICS_TOKEN unset: open on the service port").
   */
  route(app: FastifyInstance): void {
    if (this.settings.token === undefined && this.settings.port !== undefined) return;
    app.get('/metrics', async (request, reply) => {
      const answer = await this.scrape(request.ip ?? 'unknown', request.headers.authorization);
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    });
  }

  /** The METRICS_PORT listener (GET /metrics only), when that is set; its URL, or null. */
  async listen(): Promise<string | null> {
    if (this.settings.port === undefined || this.server) return this.url;
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: only GET /metrics is served here\n');
        return;
      }
      this.scrape(request.socket.remoteAddress ?? 'unknown', request.headers.authorization).then(
        (answer) => response.writeHead(answer.status, answer.headers).end(request.method === 'HEAD' ? undefined : answer.body),
        (error: unknown) => {
          this.logger.error({ err: error }, 'metrics scrape failed');
          response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('internal error\n');
        },
      );
    });
    server.headersTimeout = 5_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.port, this.settings.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    const host = this.settings.host.includes(':') ? `[${this.settings.host}]` : this.settings.host;
    this.url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    if (this.settings.token === undefined && !['127.0.0.1', '::1', 'localhost'].includes(this.settings.host)) {
      this.logger.warn({ host: this.settings.host, port }, 'metrics: METRICS_PORT listens beyond loopback without METRICS_TOKEN; anyone who reaches it can scrape');
    }
    this.logger.info({ url: `${this.url}/metrics`, token: this.settings.token !== undefined }, 'metrics listener started');
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The service's metrics, or null when METRICS=off. */
export function createMetrics(settings: MetricsSettings, logger: Logger): Metrics | null {
  if (!settings.enabled) return null;
  return new Metrics(settings, logger);
}

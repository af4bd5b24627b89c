/**
 * Request rate limits per principal (a user's `sub`, or an API key), per tenant, and per address
 * for requests without a valid token (README, "Limits"). Counted by rate-limiter-flexible in this
 * process's memory, or in PostgreSQL (`RATE_LIMIT_STORE=postgres`) so that every process on the
 * same database shares one count.
 */
import { HeaderMap } from '@apollo/server';
import type pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Principal } from '../auth/principal.js';
import type { RateLimitSettings } from '../config.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from './logger.js';

/** Created by a migration, in the shape rate-limiter-flexible reads and writes. */
export const RATE_LIMIT_TABLE = 'rate_limits';

export function rateLimited(what: string, retryAfterSec: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterSec));
  const error = new AppError('RATE_LIMITED', `${what}: try again in ${seconds} s`, { retryAfterSec: seconds });
  // Apollo Server takes the status and headers of a refused request from here.
  error.extensions.http = { status: 429, headers: new HeaderMap([['retry-after', String(seconds)]]) };
  return error;
}

export class RequestRateLimiter {
  private readonly principal?: RateLimiterAbstract;
  private readonly tenant?: RateLimiterAbstract;
  private readonly anonymous?: RateLimiterAbstract;

  constructor(
    settings: RateLimitSettings,
    private readonly logger: Logger,
    pool?: pg.Pool,
    /** Told of each refusal: 'principal', 'tenant' or 'anonymous' (metrics). */
    private readonly onRefused?: (limit: string) => void,
  ) {
    const make = (keyPrefix: string, points: number): RateLimiterAbstract | undefined => {
      if (points <= 0) return undefined;
      const options = { keyPrefix, points, duration: settings.windowSec };
      return settings.store === 'postgres' && pool
        ? new RateLimiterPostgres({ ...options, storeClient: pool, tableName: RATE_LIMIT_TABLE, tableCreated: true, clearExpiredByTimeout: false })
        : new RateLimiterMemory(options);
    };
    this.principal = make('principal', settings.perPrincipal);
    this.tenant = make('tenant', settings.perTenant);
    this.anonymous = make('anonymous', settings.anonymous);
  }

  /** Counts one request; throws RATE_LIMITED with `Retry-After` when a limit is used up. */
  async consume(principal: Principal | null, clientIp: string | null): Promise<void> {
    if (!principal) return this.take(this.anonymous, clientIp ?? 'unknown', 'too many requests without a valid token from this address');
    // A JSON array: no separator a tenant id or a subject could contain, and nothing PostgreSQL text refuses.
    await this.take(this.principal, JSON.stringify([principal.tenantId, principal.appId, principal.subject]), 'too many requests for this token');
    await this.take(this.tenant, principal.tenantId, 'too many requests for this tenant');
  }

  private async take(limiter: RateLimiterAbstract | undefined, key: string, what: string): Promise<void> {
    if (!limiter) return;
    try {
      await limiter.consume(key);
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) {
        this.onRefused?.(limiter.keyPrefix);
        throw rateLimited(what, outcome.msBeforeNext / 1000);
      }
      // The shared store failed: the request goes on. While the database is down it fails on its own
      // merits (a limit must not turn an outage into a wall of 429s); any other failure is a bug to see.
      const level = isDatabaseUnavailable(outcome) ? 'debug' : 'warn';
      this.logger[level]({ err: outcome instanceof Error ? outcome.message : String(outcome) }, 'rate limit store failed; the request was not counted');
    }
  }
}

/** Connection tests hold upstream sockets: at most `max` at once per tenant, in this process. */
export class TenantSlots {
  private readonly running = new Map<string, number>();

  constructor(private readonly max: number) {}

  async run<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    const now = this.running.get(tenantId) ?? 0;
    if (now >= this.max) throw rateLimited(`this tenant already runs ${now} connection tests, the limit is ${this.max} (TESTS_PER_TENANT)`, 1);
    this.running.set(tenantId, now + 1);
    try {
      return await fn();
    } finally {
      const left = (this.running.get(tenantId) ?? 1) - 1;
      if (left > 0) this.running.set(tenantId, left);
      else this.running.delete(tenantId);
    }
  }
}

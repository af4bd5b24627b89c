/**
 * Client-side rate limiting for the NVD CVE API 2.0, applied BEFORE a request is sent.
 *
 * NVD allows, per rolling 30 s window, 5 requests without an API key and 50 with one
 * (https://nvd.nist.gov/developers/start-here); over it, it answers 403. The limit is counted per
 * caller, so the limiter is shared per process per (baseUrl, API key or anonymous): every check
 * and read of every connector using the same key draws from one budget.
 *
 * Design: a sliding-window log. A slot is taken when a request is about to be sent and is held
 * until the request has finished (answered, failed or aborted); only then does its 30 s start.
 * Counting from completion rather than from sending is deliberately conservative: NVD counts a
 * request when it receives it, which is somewhere between the two, so for any two requests `limit`
 * apart in grant order the later one reaches NVD at least `windowMs` after the earlier one did,
 * whatever the network delays. Waiters are served first come, first served.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { ConnectorError } from '../../errors/connector-error.js';

/** The documented numbers; an options object so tests (and a future change at NVD) can use others. */
export interface NvdRateLimits {
  /** Requests per window without an API key. */
  withoutKey: number;
  /** Requests per window with an API key. */
  withKey: number;
  /** Length of the rolling window in milliseconds. */
  windowMs: number;
}

export const NVD_RATE_LIMITS: Readonly<NvdRateLimits> = Object.freeze({ withoutKey: 5, withKey: 50, windowMs: 30_000 });

export interface SlidingWindowLimiterOptions {
  /** Requests at most in any window. */
  limit: number;
  windowMs: number;
  /** Clock in epoch milliseconds; default `Date.now`. Must advance with real time (timers wait on it). */
  now?: () => number;
}

interface Waiter {
  grant: () => void;
}

/** Releases a slot taken by {@link SlidingWindowLimiter.acquire}; calling it more than once is harmless. */
export type Release = () => void;

/** At most `limit` requests in any rolling `windowMs`, counted from each request's completion. */
export class SlidingWindowLimiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly now: () => number;
  private inflight = 0;
  /** Completion times still inside the window, ascending. */
  private readonly finished: number[] = [];
  private readonly queue: Waiter[] = [];
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Requests granted so far (for tests and metrics). */
  granted = 0;

  constructor(options: SlidingWindowLimiterOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`limit must be a positive integer, got ${options.limit}`);
    if (!Number.isFinite(options.windowMs) || options.windowMs <= 0) throw new RangeError(`windowMs must be positive, got ${options.windowMs}`);
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.now = options.now ?? Date.now;
  }

  /**
   * Waits for a slot (first come, first served) and returns its release. Rejects with a TIMEOUT
   * ConnectorError when `signal` aborts first; the slot is then not taken.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(abortedWhileWaiting());
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortedWhileWaiting());
        this.pump();
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.release();
          });
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  /** Runs `task` holding a slot. */
  async schedule<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /** Grants nothing for `ms` from now (after the upstream signalled a rate limit). */
  pause(ms: number): void {
    if (!(ms > 0)) return;
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.pump();
  }

  /** Nothing queued, nothing in flight, no completion inside the window, no pause. */
  isIdle(): boolean {
    const t = this.now();
    this.prune(t);
    return this.queue.length === 0 && this.inflight === 0 && this.finished.length === 0 && this.pausedUntil <= t;
  }

  /** Snapshot for diagnostics and tests. */
  get state(): { inflight: number; inWindow: number; queued: number; pausedForMs: number } {
    const t = this.now();
    this.prune(t);
    return { inflight: this.inflight, inWindow: this.finished.length, queued: this.queue.length, pausedForMs: Math.max(0, this.pausedUntil - t) };
  }

  private release(): void {
    this.inflight--;
    const t = this.now();
    // A clock that stepped back must not leave the log unsorted (pruning reads it from the front).
    let i = this.finished.length;
    while (i > 0 && this.finished[i - 1]! > t) i--;
    this.finished.splice(i, 0, t);
    this.pump();
  }

  private prune(t: number): void {
    while (this.finished.length > 0 && t - this.finished[0]! >= this.windowMs) this.finished.shift();
  }

  /** When the next slot can be granted: `t` if now, Infinity if only a release can free one. */
  private availableAt(t: number): number {
    this.prune(t);
    let at = Math.max(t, this.pausedUntil);
    const used = this.inflight + this.finished.length;
    if (used >= this.limit) {
      const mustExpire = used - this.limit + 1;
      if (mustExpire > this.finished.length) return Number.POSITIVE_INFINITY;
      at = Math.max(at, this.finished[mustExpire - 1]! + this.windowMs);
    }
    return at;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const t = this.now();
      const at = this.availableAt(t);
      if (at <= t) {
        const waiter = this.queue.shift()!;
        this.inflight++;
        this.granted++;
        waiter.grant();
        continue;
      }
      if (at !== Number.POSITIVE_INFINITY) this.wakeAt(at, t);
      return;
    }
    this.clearTimer();
  }

  private wakeAt(at: number, t: number): void {
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    // The pump re-checks against the clock, so a timer that fires a little early just waits again.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, Math.max(1, at - t));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}

function abortedWhileWaiting(): ConnectorError {
  return new ConnectorError('TIMEOUT', 'Aborted while waiting for the NVD rate limit', { retryable: true });
}

/** Limiters by caller; one per process is the point (see the module comment). */
export interface NvdLimiterRegistry {
  readonly limits: Readonly<NvdRateLimits>;
  /** The limiter of (baseUrl, apiKey); `apiKey` null or empty for anonymous requests. */
  limiterFor(baseUrl: string, apiKey: string | null | undefined): SlidingWindowLimiter;
  readonly size: number;
}

export interface NvdLimiterRegistryOptions {
  now?: () => number;
  /** Idle limiters are dropped once there are more than this many. Default 1000. */
  maxEntries?: number;
}

/** Normalizes a base URL so that `https://HOST/` and `https://host` share a limiter. */
function callerBase(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return baseUrl;
  }
}

export function createNvdLimiterRegistry(limits: Partial<NvdRateLimits> = {}, options: NvdLimiterRegistryOptions = {}): NvdLimiterRegistry {
  const resolved: NvdRateLimits = { ...NVD_RATE_LIMITS, ...limits };
  const maxEntries = options.maxEntries ?? 1000;
  // The key takes part only as a keyed hash: the map never holds a credential.
  const hmacKey = randomBytes(32);
  const limiters = new Map<string, SlidingWindowLimiter>();
  return {
    limits: Object.freeze({ ...resolved }),
    limiterFor(baseUrl, apiKey) {
      const caller = apiKey ? `key:${createHmac('sha256', hmacKey).update(apiKey, 'utf8').digest('base64url')}` : 'anonymous';
      const id = `${callerBase(baseUrl)}\n${caller}`;
      let limiter = limiters.get(id);
      if (!limiter) {
        if (limiters.size >= maxEntries) {
          for (const [k, l] of limiters) if (l.isIdle()) limiters.delete(k);
        }
        limiter = new SlidingWindowLimiter({ limit: apiKey ? resolved.withKey : resolved.withoutKey, windowMs: resolved.windowMs, now: options.now });
        limiters.set(id, limiter);
      }
      return limiter;
    },
    get size() {
      return limiters.size;
    },
  };
}

/** The process-wide registry with NVD's documented limits, used by the registered `nvd` adapter. */
export const defaultNvdLimiters: NvdLimiterRegistry = createNvdLimiterRegistry();

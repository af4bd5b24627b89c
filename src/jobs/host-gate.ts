/**
 * Concurrency per upstream host for scheduled work, in one process. A host's calls may run as many
 * at once as the worker has slots while the host answers fast; a host that is slow (its last call
 * took `slowMs` or more, or a call has been running that long) or not yet known (no call ended yet)
 * gets one call at a time, so a host that never answers holds one slot and nothing else. A job
 * refused here goes back to the queue for later (`JobDeferred`), without waiting in a slot.
 */
interface HostState {
  /** Start instants of the calls running now. */
  running: Set<number>;
  /** How long the last call that ended took; null before any ended. */
  lastMs: number | null;
}

export class HostGate {
  private readonly hosts = new Map<string, HostState>();
  private ticket = 0;

  constructor(private readonly slowMs: number) {}

  /** A release to call when the call ends, or null when the host takes no other call now. */
  enter(host: string): ((elapsedMs?: number) => void) | null {
    let state = this.hosts.get(host);
    if (!state) {
      state = { running: new Set(), lastMs: null };
      this.hosts.set(host, state);
    }
    const now = Date.now();
    const slow = state.lastMs === null || this.tookLong(state, now);
    if (slow && state.running.size > 0) return null;
    // Distinct keys for calls started in the same millisecond.
    const startedAt = now + (this.ticket = (this.ticket + 1) % 1000) / 1000;
    state.running.add(startedAt);
    const entry = state;
    return () => {
      if (!entry.running.delete(startedAt)) return;
      entry.lastMs = Date.now() - startedAt;
    };
  }

  /** Whether the host is known to be slow: its last call took `slowMs` or more, or a running one has. */
  slow(host: string): boolean {
    const state = this.hosts.get(host);
    if (!state || state.lastMs === null) return false;
    return this.tookLong(state, Date.now());
  }

  /** The host's last call took `slowMs` or more, or a running one has been running that long. */
  private tookLong(state: HostState, now: number): boolean {
    return (state.lastMs ?? 0) >= this.slowMs || [...state.running].some((startedAt) => now - startedAt >= this.slowMs);
  }

  /** Whether a call to the host has ended in this process (a host not yet known gets one probe at a time). */
  known(host: string): boolean {
    return (this.hosts.get(host)?.lastMs ?? null) !== null;
  }

  /** Calls running now per host (metrics, tests). */
  running(host: string): number {
    return this.hosts.get(host)?.running.size ?? 0;
  }
}

/**
 * The upstream host a connector's calls go to: `host:port` of its config's `baseUrl` (`rpcUrl` for
 * ethereum, `endpoint` for aws_cloudtrail), else of the first top-level http(s) URL in its config,
 * else its provider (providers with a fixed endpoint).
 */
export function upstreamHost(provider: string, config: Record<string, unknown>): string {
  const candidates = [config.baseUrl, config.rpcUrl, config.endpoint, ...Object.values(config)];
  for (const value of candidates) {
    if (typeof value !== 'string' || !/^https?:\/\//i.test(value)) continue;
    try {
      const url = new URL(value);
      return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
    } catch {
      // not a URL after all
    }
  }
  return `provider:${provider}`;
}

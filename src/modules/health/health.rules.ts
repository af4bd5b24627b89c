import type { OperationalSettings } from '../../adapters/operations.js';
import type { HealthStatus } from '../connectors/connector.enums.js';

/** Consecutive worse results needed before a HEALTHY connector is shown DEGRADED. */
export const DEGRADE_AFTER = 2;

/** What the monitor knows of a connector when a result arrives. */
export interface HealthState {
  status: HealthStatus;
  candidate: HealthStatus | null;
  candidateCount: number;
  consecutiveErrors: number;
}

/** One result: a health check, or the outcome of an ingestion run. */
export interface HealthObservation {
  ok: boolean;
  latencyMs: number | null;
  /** Scrubbed. */
  error: string | null;
  /** The result is fine but something else makes the connector DEGRADED (e.g. no records yet). */
  degradedReason?: string | null;
  /** Policies trip at once, without damping (duplicate flood). */
  immediate?: boolean;
  /** Whether records keep coming was already judged (push connectors, from their intake). */
  recordsJudged?: boolean;
}

export interface HealthDecision {
  state: HealthState;
  lastError: string | null;
  transition: { from: HealthStatus; to: HealthStatus; reason: string } | null;
}

/**
 * The status a result points to, and whether the status moves there. Flap damping: a change needs
 * DEGRADE_AFTER (worse) or `recoveryThreshold` (back to HEALTHY) consistent results in a row;
 * FAILING needs `failureThreshold` consecutive failures, which already is a run of results. The
 * first result after PENDING applies at once. Disabled connectors are PAUSED and never judged.
 */
export function decide(current: HealthState, observation: HealthObservation, settings: OperationalSettings): HealthDecision {
  const consecutiveErrors = observation.ok ? 0 : current.consecutiveErrors + 1;
  let observed: HealthStatus;
  let reason: string;
  if (!observation.ok) {
    observed = consecutiveErrors >= settings.failureThreshold ? 'FAILING' : 'DEGRADED';
    reason = `${consecutiveErrors} consecutive failure(s): ${observation.error ?? 'unknown error'}`;
  } else if (observation.degradedReason) {
    observed = 'DEGRADED';
    reason = observation.degradedReason;
  } else if (observation.latencyMs !== null && observation.latencyMs > settings.degradedLatencyMs) {
    observed = 'DEGRADED';
    reason = `latency ${Math.round(observation.latencyMs)} ms is above ${settings.degradedLatencyMs} ms`;
  } else {
    observed = 'HEALTHY';
    reason = 'checks pass';
  }
  const lastError = observation.ok ? (observed === 'DEGRADED' ? reason : null) : observation.error;
  const base = { consecutiveErrors, status: current.status };

  if (observed === current.status) {
    return { state: { ...base, candidate: null, candidateCount: 0 }, lastError, transition: null };
  }
  const count = current.candidate === observed ? current.candidateCount + 1 : 1;
  const needed = observed === 'HEALTHY' ? settings.recoveryThreshold : DEGRADE_AFTER;
  const moves = current.status === 'PENDING' || current.status === 'PAUSED' || observed === 'FAILING' || observation.immediate || count >= needed;
  if (!moves) return { state: { ...base, candidate: observed, candidateCount: count }, lastError, transition: null };
  return {
    state: { consecutiveErrors, status: observed, candidate: null, candidateCount: 0 },
    lastError,
    transition: { from: current.status, to: observed, reason },
  };
}

/** Exponential moving average of check latency (metrics.avgLatencyMs). */
export function movingAverage(previous: number | null, sample: number | null): number | null {
  if (sample === null) return previous;
  return previous === null ? sample : Math.round((previous * 0.7 + sample * 0.3) * 1000) / 1000;
}

/**
 * Operational settings every provider accepts in its config, beside its own: health thresholds,
 * policies (off by default) and credential rotation. Providers spread these into their schema and
 * keep provider-specific defaults for interval, latency and failure thresholds.
 */
import { SCHEDULE_SCHEMA, scheduleOf, type Schedule } from './schedule.js';
import type { ConnectorConfig, JsonSchema } from './spi.js';

export const OPERATIONAL_PROPERTIES: Record<string, JsonSchema> = {
  recoveryThreshold: {
    type: 'integer',
    minimum: 1,
    maximum: 100,
    default: 2,
    description: 'Consecutive good results before a DEGRADED or FAILING connector is HEALTHY again (flap damping).',
  },
  expectRecordsWithinSec: {
    type: 'integer',
    minimum: 1,
    maximum: 31536000,
    description: 'A connector that has delivered no record this long after it was enabled is not HEALTHY. Default: three sync intervals.',
  },
  autoDisableAfterFailures: {
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    description: 'Policy, off unless set: disable the connector after this many consecutive failures.',
  },
  duplicateFloodRatio: {
    type: 'number',
    exclusiveMinimum: 0,
    maximum: 1,
    description: 'Policy, off unless set: a run whose share of duplicate records exceeds this marks the connector DEGRADED.',
  },
  duplicateFloodMinRecords: {
    type: 'integer',
    minimum: 1,
    maximum: 10000000,
    default: 100,
    description: 'The duplicate-flood guard judges only runs that read at least this many records.',
  },
  duplicateFloodAutoDisable: {
    type: 'boolean',
    default: false,
    description: 'With duplicateFloodRatio: also disable the connector when the guard trips.',
  },
  rotationPeriodDays: {
    type: 'integer',
    minimum: 1,
    maximum: 3650,
    default: 90,
    description: 'Credentials are due for rotation this many days after the last rotation.',
  },
  dedupWindowSec: {
    type: 'integer',
    minimum: 0,
    maximum: 31536000,
    default: 86400,
    description: 'A record whose dedup key was seen this recently is a duplicate: counted on the stored record, not stored again. 0: only repeats within one batch are.',
  },
  schedule: SCHEDULE_SCHEMA,
};

export interface OperationalSettings {
  syncIntervalSec: number;
  healthCheckIntervalSec: number;
  degradedLatencyMs: number;
  failureThreshold: number;
  recoveryThreshold: number;
  expectRecordsWithinSec: number;
  autoDisableAfterFailures: number | null;
  duplicateFloodRatio: number | null;
  duplicateFloodMinRecords: number;
  duplicateFloodAutoDisable: boolean;
  rotationPeriodDays: number;
  dedupWindowSec: number;
  /** When runs start (schedule.ts): cron or the interval, and the sync windows. */
  schedule: Schedule;
}

function num(config: ConnectorConfig, key: string): number | null {
  const value = config[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Seconds between scheduled health checks when a connector's config does not say. */
export const DEFAULT_HEALTH_CHECK_INTERVAL_SEC = 300;

/** Reads the settings from a stored (validated) config, with the platform defaults where absent. */
export function operationalSettings(config: ConnectorConfig): OperationalSettings {
  const syncIntervalSec = num(config, 'syncIntervalSec') ?? 300;
  return {
    syncIntervalSec,
    healthCheckIntervalSec: num(config, 'healthCheckIntervalSec') ?? DEFAULT_HEALTH_CHECK_INTERVAL_SEC,
    degradedLatencyMs: num(config, 'degradedLatencyMs') ?? 5000,
    failureThreshold: num(config, 'failureThreshold') ?? 3,
    recoveryThreshold: num(config, 'recoveryThreshold') ?? 2,
    expectRecordsWithinSec: num(config, 'expectRecordsWithinSec') ?? syncIntervalSec * 3,
    autoDisableAfterFailures: num(config, 'autoDisableAfterFailures'),
    duplicateFloodRatio: num(config, 'duplicateFloodRatio'),
    duplicateFloodMinRecords: num(config, 'duplicateFloodMinRecords') ?? 100,
    duplicateFloodAutoDisable: config.duplicateFloodAutoDisable === true,
    rotationPeriodDays: num(config, 'rotationPeriodDays') ?? 90,
    dedupWindowSec: num(config, 'dedupWindowSec') ?? 86400,
    schedule: scheduleOf(config, syncIntervalSec),
  };
}

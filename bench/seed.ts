/**
 * Bulk seed for the benchmark: one big tenant (1,000 connectors), 20 other tenants (100 each), a
 * few applications and audit events. One INSERT … SELECT FROM jsonb_populate_recordset per table,
 * with every column of the migrations (src/db/migrations/) given explicitly.
 */
import type pg from 'pg';
import { monotonicFactory } from 'ulid';

export const BIG_TENANT = 'bench-big';
export const OTHER_TENANTS = Array.from({ length: 20 }, (_, i) => `bench-t${String(i + 1).padStart(2, '0')}`);
/** The caller of every scenario: an editor (toggles need it), so reads carry the org/group/user clause. */
export const BENCH_SUBJECT = 'bench-editor';
export const BENCH_GROUPS = ['soc'];

export interface SeedCounts {
  tenants: number;
  connectors: number;
  applications: number;
  auditEvents: number;
  ms: number;
}

export interface SeedResult extends SeedCounts {
  /** The big tenant's connectors the bench caller sees (not deleted), newest first. */
  visibleIds: string[];
}

/** mulberry32: deterministic data, so runs compare. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const TAGS = ['prod', 'staging', 'edr', 'cloud', 'pci', 'eu', 'us', 'tier-1', 'vendor-feed'];

export async function seed(client: pg.Client, now = new Date()): Promise<SeedResult> {
  const started = Date.now();
  const rnd = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const nextUlid = monotonicFactory(() => rnd());
  const id = (prefix: string, at: number) => `${prefix}_${nextUlid(at)}`;
  const iso = (ms: number) => new Date(ms).toISOString();
  const t0 = now.getTime() - 180 * DAY;

  const tenants = [{ tenant: BIG_TENANT, connectors: 1000, applications: 5 }, ...OTHER_TENANTS.map((tenant) => ({ tenant, connectors: 100, applications: 1 }))];
  const applications: Record<string, unknown>[] = [];
  const connectors: Record<string, unknown>[] = [];
  const audit: Record<string, unknown>[] = [];

  for (const { tenant, connectors: n, applications: apps } of tenants) {
    const appIds: string[] = [];
    for (let i = 0; i < apps; i++) {
      const at = t0 + i * 1000;
      const appId = id('app', at);
      appIds.push(appId);
      applications.push({
        id: appId,
        tenant_id: tenant,
        name: `Investigations ${i + 1}`,
        description: `Benchmark application ${i + 1} of ${tenant}`,
        version: 1,
        created_at: iso(at),
        updated_at: iso(at),
        created_by: 'seed',
        updated_by: 'seed',
        is_deleted: false,
        deleted_at: null,
        deleted_by: null,
      });
    }
    // Creation times increase with i, so ids (ULIDs) are in creation order.
    for (let i = 0; i < n; i++) {
      const created = t0 + DAY + Math.floor((i / n) * 170 * DAY) + Math.floor(rnd() * 1000);
      const updated = created + Math.floor(rnd() * 5 * DAY);
      const nvd = rnd() < 0.3;
      const enabled = rnd() < 0.6;
      const roll = rnd();
      const scope = roll < 0.8 ? 'ORG' : roll < 0.9 ? 'GROUP' : 'USER';
      const apiKey = nvd ? rnd() < 0.5 : rnd() < 0.7;
      const deleted = rnd() < 0.02;
      const failing = enabled && rnd() < 0.1;
      const connectorId = id('cnn', created);
      connectors.push({
        id: connectorId,
        tenant_id: tenant,
        app_id: null,
        application_id: i % 3 === 0 ? appIds[i % appIds.length]! : null,
        name: `${nvd ? 'NVD feed' : 'REST source'} ${String(i + 1).padStart(4, '0')}`,
        type: nvd ? 'VULNERABILITY' : 'CUSTOM_API',
        provider: nvd ? 'nvd' : 'generic_rest',
        scope,
        owner_id: 'seed-owner',
        group_id: scope === 'GROUP' ? pick(['soc', 'red-team', 'cti']) : null,
        user_id: scope === 'USER' ? pick([BENCH_SUBJECT, 'analyst-2', 'analyst-3']) : null,
        config: nvd
          ? { baseUrl: 'https://services.nvd.nist.gov/rest/json/cves/2.0', resultsPerPage: 2000, dateField: 'lastMod', timeoutMs: 30000, syncIntervalSec: 7200, healthCheckIntervalSec: 900, degradedLatencyMs: 5000, failureThreshold: 3 }
          : {
              baseUrl: `https://api${i % 7}.example.com/v1`,
              path: '/events',
              query: { limit: 500, severity: 'high' },
              recordsPointer: '/items',
              maxPages: 10,
              apiKeyHeader: 'X-API-Key',
              tokenAuthMethod: 'client_secret_basic',
              timeoutMs: 10000,
              syncIntervalSec: 300,
              healthCheckIntervalSec: 300,
              degradedLatencyMs: 2000,
              failureThreshold: 3,
              recoveryThreshold: 2,
              duplicateFloodMinRecords: 100,
            },
        auth_type: apiKey ? 'API_KEY' : 'NONE',
        vault_path: apiKey ? `secret/data/tenants/${tenant}/connectors/${connectorId}/credentials` : null,
        credential_fields: apiKey ? ['apiKey'] : [],
        credential_version: apiKey ? 1 + Math.floor(rnd() * 3) : null,
        credential_last_rotated_at: apiKey ? iso(created + DAY) : null,
        next_rotation_due: apiKey ? iso(created + 91 * DAY) : null,
        oauth_refresh_needed: false,
        oauth_token_expires_at: null,
        enabled: enabled && !deleted,
        enabled_changed_at: iso(created + 3600_000),
        enabled_changed_by: 'seed-owner',
        enabled_reason: enabled ? 'onboarding' : null,
        sync_status: !enabled || deleted ? 'PAUSED' : failing ? 'FAILING' : rnd() < 0.1 ? 'DEGRADED' : 'HEALTHY',
        run_state: enabled && !deleted ? 'RUNNING' : 'STOPPED',
        last_sync_at: enabled ? iso(now.getTime() - Math.floor(rnd() * 3600_000)) : null,
        last_checked_at: enabled ? iso(now.getTime() - Math.floor(rnd() * 900_000)) : null,
        consecutive_errors: failing ? 1 + Math.floor(rnd() * 5) : 0,
        last_error: failing ? 'UNREACHABLE: connect ETIMEDOUT after 10000 ms' : null,
        metrics: { totalSynced: Math.floor(rnd() * 5_000_000), last24h: Math.floor(rnd() * 50_000), avgLatencyMs: enabled ? Math.round(rnd() * 900 * 10) / 10 : null },
        event_types: nvd ? ['vulnerability'] : ['record'],
        webhook_endpoint_id: null,
        tags: [...new Set([pick(TAGS), pick(TAGS), pick(TAGS)])].slice(0, 1 + Math.floor(rnd() * 3)),
        last_test: rnd() < 0.25
          ? {
              success: true,
              testedAt: iso(created + 60_000),
              latencyMs: 180.5,
              steps: ['CONNECT', 'AUTHENTICATE', 'SAMPLE_QUERY', 'VALIDATE_FORMAT'].map((name) => ({ name, passed: true, latencyMs: 40, message: null, errorCode: null, retryable: null, remediation: null })),
              sample: [],
              message: null,
            }
          : null,
        version: 1 + Math.floor(rnd() * 4),
        schema_version: 1,
        source: 'edm',
        source_type: 'API',
        created_at: iso(created),
        updated_at: iso(updated),
        created_by: 'seed-owner',
        updated_by: 'seed-owner',
        is_deleted: deleted,
        deleted_at: deleted ? iso(updated) : null,
        deleted_by: deleted ? 'seed-owner' : null,
        health_candidate: null,
        health_candidate_count: 0,
        last_record_at: enabled ? iso(now.getTime() - Math.floor(rnd() * 3600_000)) : null,
      });
      const events: Array<[string, number, Record<string, unknown> | null]> = [
        ['CONNECTOR_CREATED', created, { name: { before: null, after: `connector ${i + 1}` } }],
        ['CONNECTOR_UPDATED', created + 1800_000, { tags: { before: [], after: ['prod'] } }],
      ];
      if (enabled) events.push(['CONNECTOR_ENABLED', created + 3600_000, { enabled: { before: false, after: true }, syncStatus: { before: 'PAUSED', after: 'PENDING' } }]);
      for (const [eventType, at, changes] of events) {
        audit.push({
          id: id('aud', at),
          tenant_id: tenant,
          app_id: null,
          event_type: eventType,
          occurred_at: iso(at),
          actor_type: 'USER',
          actor_id: 'seed-owner',
          actor_email: 'seed-owner@example.com',
          target_type: 'Connector',
          target_id: connectorId,
          connector_id: connectorId,
          changes,
          reason: null,
          request_id: `seed-${connectorId}`,
          client_ip: '10.0.0.1',
          user_agent: 'bench-seed',
        });
      }
    }
  }

  await client.query('BEGIN');
  try {
    await client.query(`INSERT INTO applications SELECT * FROM jsonb_populate_recordset(NULL::applications, $1::jsonb)`, [JSON.stringify(applications)]);
    await client.query(`INSERT INTO connectors SELECT * FROM jsonb_populate_recordset(NULL::connectors, $1::jsonb)`, [JSON.stringify(connectors)]);
    await client.query(`INSERT INTO audit_events SELECT * FROM jsonb_populate_recordset(NULL::audit_events, $1::jsonb)`, [JSON.stringify(audit)]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
  await client.query('ANALYZE applications, connectors, audit_events');

  const visible = await client.query<{ id: string }>(
    `SELECT id FROM connectors WHERE tenant_id = $1 AND NOT is_deleted
       AND (scope = 'ORG' OR (scope = 'GROUP' AND group_id = ANY($2::text[])) OR (scope = 'USER' AND user_id = $3))
     ORDER BY id DESC`,
    [BIG_TENANT, BENCH_GROUPS, BENCH_SUBJECT],
  );
  return {
    tenants: tenants.length,
    connectors: connectors.length,
    applications: applications.length,
    auditEvents: audit.length,
    ms: Date.now() - started,
    visibleIds: visible.rows.map((r) => r.id),
  };
}

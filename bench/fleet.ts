/**
 * `npm run bench:fleet`: a bulk toggle of N connectors (`toggleConnectors`, default 1,000) against a
 * floor in the same run. Figures, not tests: writes the section between `fleet:begin` and
 * `fleet:end` of bench/RESULTS.md.
 *
 * - The service: the real service in this process, listening on loopback; one `toggleConnectors`
 *   request by filter (disable, then enable, alternating), timed end to end, with its SQL
 *   statements from `x-sql-statements`. Each connector goes through the single toggle's path in its
 *   own transaction (the pipeline hooks, the audit event with the bulkId, the notification
 *   statement), at most BULK_TOGGLE_CONCURRENCY at once.
 * - The floor: the fewest statements a bulk toggle could use, through node-pg with a pool of the
 *   same width: per connector one transaction of SELECT … FOR UPDATE, UPDATE and the audit INSERT
 *   (plus BEGIN and COMMIT). No job queue, no notify, no run bookkeeping.
 * Rounds alternate which goes first; between runs the connectors are put back with one UPDATE.
 *
 * Options: --connectors=1000 --rounds=5 --no-write
 */
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pLimit from 'p-limit';
import 'reflect-metadata';
import { startService } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { mintDevToken } from '../src/auth/dev-tokens.js';
import { BULK_TOGGLE_CONCURRENCY } from '../src/modules/connectors/connector.service.js';
import { createLogger } from '../src/server/logger.js';
import { BENCH_JWT_SECRET, benchServiceEnv, startBenchDatabase, writeResultsSection, option } from './infra.js';
import { fmt, markdownTable, median } from './stats.js';

const CONNECTORS = option('connectors', 1000);
const ROUNDS = option('rounds', 5);
const WRITE = !process.argv.includes('--no-write');
const TENANT = 'bench-fleet';
const log = (line: string) => console.log(`[fleet ${new Date().toISOString().slice(11, 19)}] ${line}`);
const BULK = `mutation BenchBulk($input: BulkToggleInput!) { toggleConnectors(input: $input) { bulkId counts { total changed failed } } }`;

async function seed(client: pg.Client): Promise<string[]> {
  const rows = await client.query(
    `INSERT INTO connectors (id, tenant_id, name, type, provider, config, enabled, sync_status, run_state, enabled_changed_at, created_at, updated_at)
     SELECT 'cnn_FLEET' || lpad(g::text, 6, '0'), $1, 'Fleet ' || g, 'CUSTOM_API', 'generic_rest', $2::jsonb, false, 'PAUSED', 'STOPPED', now(), now(), now()
       FROM generate_series(1, $3) g RETURNING id`,
    [TENANT, JSON.stringify({ baseUrl: 'https://api.example.com/v1', syncIntervalSec: 86400, healthCheckIntervalSec: 86400 }), CONNECTORS],
  );
  await client.query('ANALYZE connectors');
  return rows.rows.map((r: { id: string }) => r.id);
}

/** The floor: per connector, SELECT … FOR UPDATE, UPDATE, audit INSERT in a transaction; as many at once as the service. */
async function floorToggle(pool: pg.Pool, ids: string[], enabled: boolean): Promise<{ ms: number; statements: number }> {
  const limit = pLimit(BULK_TOGGLE_CONCURRENCY);
  let statements = 0;
  const started = performance.now();
  await Promise.all(
    ids.map((id, i) =>
      limit(async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query(`SELECT id, tenant_id, application_id, enabled, version FROM connectors WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [id, TENANT]);
          const before = rows[0];
          await client.query(
            `UPDATE connectors SET enabled = $2, enabled_changed_at = now(), enabled_changed_by = $3, enabled_reason = $4, sync_status = $5, run_state = $6, version = version + 1, updated_at = now(), updated_by = $3 WHERE id = $1`,
            [id, enabled, 'bench-floor', 'floor', enabled ? 'PENDING' : 'PAUSED', enabled ? 'STARTING' : 'STOPPED'],
          );
          await client.query(
            `INSERT INTO audit_events (id, tenant_id, app_id, event_type, occurred_at, actor_type, actor_id, target_type, target_id, connector_id, changes, reason, bulk_id, source_type)
             VALUES ($1, $2, $3, $4, now(), 'USER', 'bench-floor', 'Connector', $5, $6, $7, 'floor', 'blk_FLOOR', 'FRONTEND')`,
            [`aud_FLOOR${Date.now()}${i}${enabled ? 'E' : 'D'}`, TENANT, before.application_id, enabled ? 'CONNECTOR_ENABLED' : 'CONNECTOR_DISABLED', id, id, JSON.stringify({ enabled: { before: before.enabled, after: enabled } })],
          );
          await client.query('COMMIT');
          statements += 5;
        } finally {
          client.release();
        }
      }),
    ),
  );
  return { ms: performance.now() - started, statements };
}

async function main(): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const work = join(root, 'bench', '.work');
  const db = await startBenchDatabase(work, process.env.DATABASE_URL);
  const config = loadConfig(benchServiceEnv(db.url, work));
  const service = await startService(config, createLogger('warn'));
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const pool = new pg.Pool({ connectionString: db.url, max: BULK_TOGGLE_CONCURRENCY });
  const token = await mintDevToken({ tenantId: TENANT, subject: 'bench-editor', roles: ['editor'] }, { secret: BENCH_JWT_SECRET, expiresIn: '1h' });
  try {
    const ids = await seed(client);
    /** Both targets start each run from the same state: every connector in the opposite state, no queued jobs. */
    const reset = async (enabled: boolean) => {
      await client.query(`UPDATE connectors SET enabled = $2, run_state = $3, sync_status = $4 WHERE tenant_id = $1`, [TENANT, !enabled, !enabled ? 'STARTING' : 'STOPPED', !enabled ? 'PENDING' : 'PAUSED']);
      await client.query(`DELETE FROM pgboss.job WHERE singleton_key = ANY($1)`, [ids]);
    };
    const figures: Array<{ round: number; enabled: boolean; serviceMs: number; floorMs: number; serviceStatements: number; floorStatements: number }> = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const enabled = round % 2 === 1;
      const order: Array<'service' | 'floor'> = round % 4 < 2 ? ['service', 'floor'] : ['floor', 'service'];
      const measured: Record<string, { ms: number; statements: number }> = {};
      for (const target of order) {
        await reset(enabled);
        if (target === 'floor') {
          measured.floor = await floorToggle(pool, ids, enabled);
        } else {
          const started = performance.now();
          const response = await fetch(`${service.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: BULK, variables: { input: { filter: { provider: 'generic_rest' }, enabled, reason: `bench round ${round}` } } }),
          });
          const body = (await response.json()) as { data?: { toggleConnectors: { counts: { changed: number; failed: number } } }; errors?: unknown };
          const ms = performance.now() - started;
          if (body.errors || body.data?.toggleConnectors.counts.changed !== CONNECTORS) throw new Error(`the bulk toggle did not change every connector: ${JSON.stringify(body)}`);
          measured.service = { ms, statements: Number(response.headers.get('x-sql-statements')) };
        }
      }
      // Round 0 warms both up and is not counted.
      if (round > 0) figures.push({ round, enabled, serviceMs: measured.service!.ms, floorMs: measured.floor!.ms, serviceStatements: measured.service!.statements, floorStatements: measured.floor!.statements });
      log(`round ${round}${round ? '' : ' (warm-up)'} (${enabled ? 'enable' : 'disable'}): service ${(measured.service!.ms / 1000).toFixed(2)} s, ${measured.service!.statements} statements; floor ${(measured.floor!.ms / 1000).toFixed(2)} s`);
    }
    const per = (f: (typeof figures)[number], key: 'serviceStatements' | 'floorStatements') => f[key] / CONNECTORS;
    const byDirection = (enabled: boolean) => figures.filter((f) => f.enabled === enabled);
    const summary = (enabled: boolean) => {
      const fs = byDirection(enabled);
      return fs.length ? `${enabled ? 'enable' : 'disable'}: service ${(median(fs.map((f) => f.serviceMs)) / 1000).toFixed(2)} s, floor ${(median(fs.map((f) => f.floorMs)) / 1000).toFixed(2)} s, ratio ${median(fs.map((f) => f.floorMs / f.serviceMs)).toFixed(2)}; statements per connector ${per(fs[0]!, 'serviceStatements').toFixed(2)} (floor ${per(fs[0]!, 'floorStatements').toFixed(0)})` : '';
    };
    const lines = [
      `### Bulk toggle (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.availableParallelism()} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`,
      '',
      `One \`toggleConnectors\` by filter over ${CONNECTORS.toLocaleString('en')} connectors of one tenant, timed from the request to the answer, against the floor (per connector SELECT … FOR UPDATE, UPDATE and the audit INSERT in a transaction, through node-pg), both ${BULK_TOGGLE_CONCURRENCY} at once. Median of ${figures.length} rounds after a warm-up, disable and enable alternating. **${summary(false)}**. **${summary(true)}**.`,
      '',
      ...markdownTable(
        ['round', 'direction', 'service s', 'floor s', 'floor ÷ service', 'service SQL/connector', 'floor SQL/connector'],
        figures.map((f) => [String(f.round), f.enabled ? 'enable' : 'disable', (f.serviceMs / 1000).toFixed(2), (f.floorMs / 1000).toFixed(2), (f.floorMs / f.serviceMs).toFixed(2), per(f, 'serviceStatements').toFixed(2), fmt(per(f, 'floorStatements'))]),
      ),
    ];
    if (WRITE) {
      writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'fleet', lines);
      log('bench/RESULTS.md updated');
    } else {
      console.log(lines.join('\n'));
    }
  } finally {
    await pool.end();
    await client.end();
    await service.close();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

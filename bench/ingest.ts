/**
 * `npm run bench:ingest`: ingestion throughput, records per second through read → dedup → sink,
 * against a floor in the same run. Figures, not tests: writes the section between `ingest:begin`
 * and `ingest:end` of bench/RESULTS.md.
 *
 * - The upstream: a loopback REST API (a child process) serving N records in pages with RFC 8288
 *   `Link` headers, each record a SIEM-like alert.
 * - The service: its own `IngestionService.execute` on an enabled `generic_rest` connector (the
 *   shared HTTP client with its egress guard and caps, normalization and redaction, the run's
 *   claim, the sink's upsert with dedup keys, the cursor and the run's counters per batch, the run's
 *   end), in this process, with the real database.
 * - The floor: the least work that stores the same rows: fetch each page, `JSON.parse`, the same
 *   dedup key and id per record, and per page one transaction with one multi-row
 *   `INSERT … ON CONFLICT` and the cursor upsert.
 * Rounds alternate service and floor on fresh connectors; the ratio is per round, then the median.
 *
 * Options: --records=20000 --page=500 --rounds=5 --no-write
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import 'reflect-metadata';
import { startService } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import type { NormalizedRecord } from '../src/adapters/records.js';
import { dedupKeyOf, observedAtOf, recordId, severityOf, titleOf } from '../src/modules/records/record-identity.js';
import { createLogger } from '../src/server/logger.js';
import { benchServiceEnv, startBenchDatabase, writeResultsSection, option } from './infra.js';
import { fmt, markdownTable, median } from './stats.js';

const RECORDS = option('records', 20_000);
const PAGE = option('page', 500);
const ROUNDS = option('rounds', 5);
const WRITE = !process.argv.includes('--no-write');
const TENANT = 'bench-ingest';
const log = (line: string) => console.log(`[ingest ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The upstream, in a child process so its CPU is not the measured process's. */
const UPSTREAM_SOURCE = `
const http = require('node:http');
const [records, page] = process.argv.slice(2).map(Number);
const alert = (i) => ({ receiptId: 'r-' + i, timestamp: new Date(1764748800000 + i * 1000).toISOString(), signature: 'ET SCAN ' + (i % 2000), src: '198.51.100.' + (i % 250), dst: '203.0.113.' + (i % 7), severity: i % 10, message: 'alert number ' + i });
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const n = Math.max(1, Number(url.searchParams.get('page') || '1'));
  const start = (n - 1) * page;
  const body = [];
  for (let i = start; i < Math.min(records, start + page); i++) body.push(alert(i));
  const headers = { 'content-type': 'application/json' };
  if (start + page < records) headers.link = '<http://127.0.0.1:' + server.address().port + url.pathname + '?page=' + (n + 1) + '>; rel="next"';
  res.writeHead(200, headers).end(JSON.stringify(body));
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
`;

async function startUpstream(): Promise<{ url: string; stop(): void }> {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', '.work');
  const file = join(dir, 'ingest-upstream.cjs');
  writeFileSync(file, UPSTREAM_SOURCE);
  const child = fork(file, [String(RECORDS), String(PAGE)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((ok) => child.once('message', (m: { port: number }) => ok(m.port)));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function newConnector(client: pg.Client, label: string, baseUrl: string): Promise<string> {
  const id = `cnn_BENCH${label.toUpperCase()}${Date.now().toString(36).toUpperCase()}`.slice(0, 30);
  const config = { baseUrl, path: '/alerts', maxPages: 1000, timeoutMs: 60000, syncIntervalSec: 86400, healthCheckIntervalSec: 86400, dedupKey: ['/signature', '/src', '/dst'] };
  await client.query(
    `INSERT INTO connectors (id, tenant_id, name, type, provider, config, enabled, sync_status, run_state, enabled_changed_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'SIEM', 'generic_rest', $4, true, 'PENDING', 'STARTING', now(), now(), now())`,
    [id, TENANT, `${label} ${id}`, JSON.stringify(config)],
  );
  return id;
}

/** The floor: fetch, parse, key, and one multi-row INSERT … ON CONFLICT per page in a transaction. */
async function floorRun(client: pg.Client, connectorId: string, baseUrl: string): Promise<{ ms: number; written: number }> {
  const started = performance.now();
  let next: string | null = `${baseUrl}/alerts`;
  let written = 0;
  const runId = `run_FLOOR${Date.now()}`;
  while (next) {
    const response = await fetch(next);
    const link = response.headers.get('link');
    const records = (await response.json()) as Array<Record<string, unknown>>;
    const byKey = new Map<string, { record: NormalizedRecord; copies: number }>();
    for (const upstream of records) {
      const record = { ...upstream, kind: 'record' } as NormalizedRecord;
      const key = dedupKeyOf(record, ['/signature', '/src', '/dst']);
      const seen = byKey.get(key);
      if (seen) seen.copies += 1;
      else byKey.set(key, { record, copies: 1 });
    }
    const rows = [...byKey.entries()];
    await client.query('BEGIN');
    const result = await client.query(
      `INSERT INTO ingested_records AS r (id, tenant_id, connector_id, dedup_key, kind, record, run_id, observed_at, severity, title, duplicate_count, ingested_at, last_seen_at)
       SELECT u.id, $1, $2, u.k, 'record', u.r, $3, u.o, u.s, u.t, u.c - 1, now(), now()
       FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::real[], $9::text[], $10::int[]) AS u(id, k, r, o, s, t, c)
       ON CONFLICT (tenant_id, connector_id, dedup_key) DO UPDATE SET duplicate_count = r.duplicate_count + EXCLUDED.duplicate_count + 1, last_seen_at = now()
       RETURNING r.ingested_at = now() AS fresh`,
      [
        TENANT,
        connectorId,
        runId,
        rows.map(([key]) => recordId(TENANT, connectorId, key)),
        rows.map(([key]) => key),
        rows.map(([, p]) => JSON.stringify(p.record)),
        rows.map(([, p]) => observedAtOf(p.record)),
        rows.map(([, p]) => severityOf(p.record)),
        rows.map(([, p]) => titleOf(p.record)),
        rows.map(([, p]) => p.copies),
      ],
    );
    next = link ? (/<([^>]+)>;\s*rel="next"/.exec(link)?.[1] ?? null) : null;
    await client.query(
      `INSERT INTO ingestion_cursors (connector_id, tenant_id, cursor, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (connector_id) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()`,
      [connectorId, TENANT, JSON.stringify({ nextUrl: next })],
    );
    await client.query('COMMIT');
    written += result.rows.filter((r: { fresh: boolean }) => r.fresh).length;
  }
  return { ms: performance.now() - started, written };
}

async function main(): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const work = join(root, 'bench', '.work');
  const db = await startBenchDatabase(work, process.env.DATABASE_URL);
  const upstream = await startUpstream();
  const config = loadConfig(benchServiceEnv(db.url, work, { EXPOSE_SQL_COUNT: 'false', EGRESS_ALLOW: '127.0.0.1/32' }));
  const service = await startService(config, createLogger('warn'), { listen: false });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const figures: Array<{ round: number; serviceRps: number; floorRps: number; serviceWritten: number; floorWritten: number }> = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const order: Array<'service' | 'floor'> = round % 2 ? ['floor', 'service'] : ['service', 'floor'];
      const measured: Record<string, { rps: number; written: number }> = {};
      for (const target of order) {
        const connectorId = await newConnector(client, target, upstream.url);
        if (target === 'floor') {
          const { ms, written } = await floorRun(client, connectorId, upstream.url);
          measured.floor = { rps: (RECORDS / ms) * 1000, written };
        } else {
          const started = performance.now();
          await service.services.ingestion.execute({ connectorId, tenantId: TENANT, trigger: 'manual' }, `bench-job-${round}`, 'bench-worker', new AbortController().signal);
          const ms = performance.now() - started;
          const [run] = (await client.query(`SELECT status, records_read, records_written, error FROM ingestion_runs WHERE connector_id = $1`, [connectorId])).rows;
          if (run?.status !== 'SUCCEEDED' || run.records_read !== RECORDS) throw new Error(`the service's run did not read every record: ${JSON.stringify(run)}`);
          measured.service = { rps: (RECORDS / ms) * 1000, written: run.records_written };
        }
      }
      if (measured.service!.written !== measured.floor!.written) throw new Error(`service wrote ${measured.service!.written} records, the floor ${measured.floor!.written}: not the same rows`);
      // Round 0 warms both up and is not counted.
      if (round > 0) figures.push({ round, serviceRps: measured.service!.rps, floorRps: measured.floor!.rps, serviceWritten: measured.service!.written, floorWritten: measured.floor!.written });
      log(`round ${round}${round ? '' : ' (warm-up)'}: service ${fmt(measured.service!.rps)} records/s, floor ${fmt(measured.floor!.rps)} records/s, ${measured.service!.written} stored of ${RECORDS}`);
    }
    const ratio = median(figures.map((f) => f.serviceRps / f.floorRps));
    log(`median ratio ${ratio.toFixed(2)}`);
    const lines = [
      `### Ingestion throughput (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.availableParallelism()} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`,
      '',
      `${RECORDS.toLocaleString('en')} SIEM-like alerts in pages of ${PAGE} from a loopback upstream (a child process), ${figures[0]?.serviceWritten.toLocaleString('en')} distinct by the connector's dedup key (signature, source, destination), the rest duplicates; a fresh connector per run. Median of ${figures.length} rounds after a warm-up, service and floor alternating. **Ratio ${ratio.toFixed(2)}** (target ≥ 0.7).`,
      '',
      ...markdownTable(
        ['round', 'service records/s', 'floor records/s', 'ratio'],
        figures.map((f) => [String(f.round), fmt(f.serviceRps), fmt(f.floorRps), (f.serviceRps / f.floorRps).toFixed(2)]),
      ),
    ];
    if (WRITE) {
      writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'ingest', lines);
      log('bench/RESULTS.md updated');
    } else {
      console.log(lines.join('\n'));
    }
  } finally {
    await client.end();
    await service.close();
    upstream.stop();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

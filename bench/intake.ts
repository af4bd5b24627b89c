/**
 * `npm run bench:intake`: push intake throughput, CEF events per second over syslog TCP and through
 * the Splunk HEC-compatible collector, each against a floor in the same run. Figures, not tests:
 * writes the section between `intake:begin` and `intake:end` of bench/RESULTS.md.
 *
 * Syslog TCP: a sender child process writes RFC 3164 lines carrying CEF over 1 and 8 connections to
 * the service's receiver (framing, header, routing by sender, per-connector batches of 500 through
 * the intake); the floor is a raw `net` server that splits the same lines, parses the same CEF and
 * inserts the same rows in batches of the same size. Time runs from the first byte until every
 * event is stored (polled in the database).
 *
 * - The senders: a child process (so its CPU is not the measured process's) posting batches of
 *   concatenated HEC events, each a distinct CEF alert, over 1 and 8 keep-alive connections.
 * - The service: the real HTTP app (`POST /services/collector/event`, intake token, limits,
 *   decoding by the `syslog_cef` provider, the sink's upsert with dedup keys, intake counters),
 *   in this process, with the real database.
 * - The floor: the least work that stores the same rows: a raw `node:http` server that splits the
 *   same body, parses the same CEF lines, computes the same keys and ids, and per request runs one
 *   multi-row `INSERT … ON CONFLICT` in a transaction before answering.
 * Rounds alternate service and floor on fresh connectors; the ratio is per round, then the median.
 *
 * Options: --events=40000 --batch=200 --rounds=3 --no-write
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSONParser } from '@streamparser/json';
import pg from 'pg';
import 'reflect-metadata';
import { parseLine } from '../src/adapters/formats/index.js';
import type { NormalizedRecord } from '../src/adapters/records.js';
import { mintDevToken } from '../src/auth/dev-tokens.js';
import { startService } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { dedupKeyOf, observedAtOf, recordId, severityOf, titleOf } from '../src/modules/records/record-identity.js';
import { createLogger } from '../src/server/logger.js';
import { BENCH_JWT_SECRET, benchServiceEnv, postGraphQL, startBenchDatabase, writeResultsSection, option } from './infra.js';
import { fmt, markdownTable, median } from './stats.js';

const EVENTS = option('events', 40_000);
const BATCH = option('batch', 200);
const ROUNDS = option('rounds', 3);
const WRITE = !process.argv.includes('--no-write');
const TENANT = 'bench-intake';
const log = (line: string) => console.log(`[intake ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** The senders: `connections` keep-alive connections posting `events` events in batches; reports the elapsed ms. */
const SENDER_SOURCE = `
const http = require('node:http');
const [url, token, events, batch, connections, offset] = process.argv.slice(2);
const total = Number(events), size = Number(batch), conns = Number(connections), base = Number(offset);
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const cef = (i) => 'CEF:0|Acme|EdgeFW|1.0|' + (100 + (i % 50)) + '|Blocked connection ' + i + '|' + (i % 11) + '|src=198.51.100.' + (i % 250) + ' dst=203.0.113.' + (i % 7) + ' dpt=' + (1024 + (i % 5000)) + ' rt=' + (1764748800000 + i);
const bodies = [];
for (let start = 0; start < total; start += size) {
  let body = '';
  for (let i = start; i < Math.min(total, start + size); i++) body += JSON.stringify({ event: cef(base + i), host: 'fw' + (i % 4), source: 'edge' });
  bodies.push(body);
}
let next = 0;
const post = (body) => new Promise((ok, fail) => {
  const req = http.request(url, { method: 'POST', agent, headers: { authorization: 'Splunk ' + token, 'content-length': Buffer.byteLength(body) } }, (res) => {
    let text = '';
    res.on('data', (d) => (text += d));
    res.on('end', () => (res.statusCode === 200 ? ok() : fail(new Error(res.statusCode + ' ' + text))));
  });
  req.on('error', fail);
  req.end(body);
});
const worker = async () => { while (next < bodies.length) await post(bodies[next++]); };
const t0 = performance.now();
Promise.all(Array.from({ length: conns }, worker)).then(() => process.send({ ms: performance.now() - t0 }), (e) => process.send({ error: String(e) }));
`;

/** The TCP senders: `connections` sockets writing `events` LF-framed syslog lines between them; reports when all were written. */
const TCP_SENDER_SOURCE = `
const net = require('node:net');
const [port, events, connections, offset] = process.argv.slice(2).map(Number);
const cef = (i) => '<134>Dec  3 10:00:00 fw' + (i % 4) + ' CEF:0|Acme|EdgeFW|1.0|' + (100 + (i % 50)) + '|Blocked connection ' + i + '|' + (i % 11) + '|src=198.51.100.' + (i % 250) + ' dst=203.0.113.' + (i % 7) + ' dpt=' + (1024 + (i % 5000)) + ' rt=' + (1764748800000 + i) + '\\n';
const per = Math.ceil(events / connections);
const t0 = performance.now();
let done = 0;
for (let c = 0; c < connections; c++) {
  const socket = net.connect(port, '127.0.0.1', () => {
    let i = c * per;
    const end = Math.min(events, (c + 1) * per);
    const write = () => {
      let ok = true;
      while (i < end && ok) {
        let chunk = '';
        for (let k = 0; k < 200 && i < end; k++, i++) chunk += cef(offset + i);
        ok = socket.write(chunk);
      }
      if (i < end) socket.once('drain', write);
      else socket.end(() => { if (++done === connections) process.send({ ms: performance.now() - t0 }); });
    };
    write();
  });
  socket.on('error', (e) => process.send({ error: String(e) }));
}
`;

async function sendTcp(port: number, connections: number, offset: number): Promise<void> {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', '.work');
  const file = join(dir, 'intake-tcp-sender.cjs');
  writeFileSync(file, TCP_SENDER_SOURCE);
  const child = fork(file, [String(port), String(EVENTS), String(connections), String(offset)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = await new Promise<{ ms?: number; error?: string }>((ok) => child.once('message', ok));
  child.kill();
  if (result.error) throw new Error(`tcp sender: ${result.error}`);
}

/** Until `connectorId` has `count` records; the elapsed ms since `t0`. */
async function storedBy(pool: pg.Pool, connectorId: string, count: number, t0: number): Promise<number> {
  for (;;) {
    if ((await stored(pool, connectorId)) >= count) return performance.now() - t0;
    if (performance.now() - t0 > 300_000) throw new Error(`${connectorId}: not every event stored after 300 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The TCP floor: split lines, parse CEF, insert the same rows in batches of `batchSize`. */
function startTcpFloor(pool: pg.Pool, connectorId: () => string, batchSize: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let rest = '';
    let pending: NormalizedRecord[] = [];
    let chain = Promise.resolve();
    const flush = () => {
      const records = pending;
      pending = [];
      if (records.length) chain = chain.then(() => insertRows(pool, connectorId(), records));
    };
    let timer: NodeJS.Timeout | null = null;
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      const lines = (rest + data).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const parsed = parseLine('CEF', line);
        if (parsed.ok) pending.push(parsed.record);
        if (pending.length >= batchSize) flush();
      }
      if (timer) clearTimeout(timer);
      timer = setTimeout(flush, 50);
    });
    socket.on('end', () => flush());
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function send(url: string, token: string, connections: number, offset: number): Promise<number> {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', '.work');
  const file = join(dir, 'intake-sender.cjs');
  writeFileSync(file, SENDER_SOURCE);
  const child = fork(file, [url, token, String(EVENTS), String(BATCH), String(connections), String(offset)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = await new Promise<{ ms?: number; error?: string }>((ok) => child.once('message', ok));
  child.kill();
  if (result.error) throw new Error(`sender: ${result.error}`);
  return result.ms!;
}

/** The floor's store: the same keys and ids, one multi-row INSERT … ON CONFLICT in a transaction. */
async function insertRows(pool: pg.Pool, id: string, records: NormalizedRecord[]): Promise<void> {
  const byKey = new Map<string, { record: NormalizedRecord; copies: number }>();
  for (const record of records) {
    const key = dedupKeyOf(record);
    const seen = byKey.get(key);
    if (seen) seen.copies += 1;
    else byKey.set(key, { record, copies: 1 });
  }
  const rows = [...byKey.entries()];
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO ingested_records AS r (id, tenant_id, connector_id, dedup_key, kind, record, run_id, observed_at, severity, title, duplicate_count, ingested_at, last_seen_at)
       SELECT u.id, $1, $2, u.k, 'event', u.r, 'intake', u.o, u.s, u.t, u.c - 1, now(), now()
       FROM unnest($3::text[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::real[], $8::text[], $9::int[]) AS u(id, k, r, o, s, t, c)
       ON CONFLICT (tenant_id, connector_id, dedup_key) DO UPDATE SET duplicate_count = r.duplicate_count + EXCLUDED.duplicate_count + 1, last_seen_at = now()`,
      [
        TENANT,
        id,
        rows.map(([key]) => recordId(TENANT, id, key)),
        rows.map(([key]) => key),
        rows.map(([, p]) => JSON.stringify(p.record)),
        rows.map(([, p]) => observedAtOf(p.record)),
        rows.map(([, p]) => severityOf(p.record)),
        rows.map(([, p]) => titleOf(p.record)),
        rows.map(([, p]) => p.copies),
      ],
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

/** The HEC floor: split, parse, and store per request. */
function startFloor(pool: pg.Pool, connectorId: () => string): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      const records: NormalizedRecord[] = [];
      const parser = new JSONParser({ separator: '', paths: ['$'] });
      parser.onValue = ({ value }) => {
        const parsed = parseLine('CEF', String((value as { event: unknown }).event));
        if (parsed.ok) records.push(parsed.record);
      };
      parser.write(body);
      parser.end();
      await insertRows(pool, connectorId(), records);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function stored(pool: pg.Pool, connectorId: string): Promise<number> {
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [connectorId]);
  return rows[0].n;
}

async function main(): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const work = join(root, 'bench', '.work');
  const db = await startBenchDatabase(work, process.env.DATABASE_URL);
  const config = loadConfig(benchServiceEnv(db.url, work, { EXPOSE_SQL_COUNT: 'false', INTAKE_RATE_LIMIT_PER_TOKEN: '0', SYSLOG_HOST: '127.0.0.1', SYSLOG_TCP_PORT: '0' }));
  const service = await startService(config, createLogger('warn'), {});
  const pool = new pg.Pool({ connectionString: db.url, max: 10 });
  const admin = await mintDevToken({ tenantId: TENANT, subject: 'bench', roles: ['admin'] }, { secret: BENCH_JWT_SECRET, expiresIn: '1h' });
  let floorConnector = '';
  const floor = await startFloor(pool, () => floorConnector);
  const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}/services/collector/event`;
  const gql = async (query: string, variables: object) => {
    const r = await postGraphQL(service.url, { query, variables }, admin);
    if (r.json.errors) throw new Error(JSON.stringify(r.json.errors));
    return r.json.data as Record<string, any>;
  };
  let tcpFloorConnector = '';
  const tcpFloor = await startTcpFloor(pool, () => tcpFloorConnector, 500);
  try {
    let offset = 0;
    const tcpFigures: Array<{ connections: number; round: number; service: number; floor: number }> = [];
    const servicePort = service.syslog?.ports.tcp;
    if (!servicePort) throw new Error('the service started no syslog TCP listener');
    for (const connections of [1, 8]) {
      for (let round = 0; round <= ROUNDS; round++) {
        const order: Array<'service' | 'floor'> = round % 2 ? ['floor', 'service'] : ['service', 'floor'];
        const rate: Record<string, number> = {};
        for (const target of order) {
          offset += EVENTS;
          // Routed by sender: one enabled connector for 127.0.0.1 at a time (the previous one is disabled).
          const c = (
            await gql(`mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`, {
              input: { name: `tcp ${target} ${offset}`, provider: 'syslog_cef', enabled: target === 'service', config: { senders: target === 'service' ? ['127.0.0.1/32'] : [] } },
            })
          ).createConnector;
          const t0 = performance.now();
          if (target === 'floor') {
            tcpFloorConnector = c.id;
            await sendTcp((tcpFloor.address() as AddressInfo).port, connections, offset);
          } else {
            await new Promise((r) => setTimeout(r, 1100)); // the router learns of the new connector within a second
            await sendTcp(servicePort, connections, offset);
          }
          const ms = await storedBy(pool, c.id, EVENTS, target === 'service' ? t0 + 1100 : t0);
          rate[target] = (EVENTS / ms) * 1000;
          if (target === 'service') await gql(`mutation($id: ID!) { deleteConnector(id: $id) { id } }`, { id: c.id });
        }
        if (round > 0) tcpFigures.push({ connections, round, service: rate.service!, floor: rate.floor! });
        log(`syslog TCP, ${connections} connection(s), round ${round}${round ? '' : ' (warm-up)'}: service ${fmt(rate.service!)} events/s, floor ${fmt(rate.floor!)} events/s`);
      }
    }
    const figures: Array<{ connections: number; round: number; service: number; floor: number }> = [];
    for (const connections of [1, 8]) {
      for (let round = 0; round <= ROUNDS; round++) {
        const order: Array<'service' | 'floor'> = round % 2 ? ['floor', 'service'] : ['service', 'floor'];
        const rate: Record<string, number> = {};
        for (const target of order) {
          offset += EVENTS;
          const c = (await gql(`mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`, { input: { name: `${target} ${offset}`, provider: 'syslog_cef', enabled: true } })).createConnector;
          if (target === 'floor') {
            floorConnector = c.id;
            const ms = await send(floorUrl, 'floor', connections, offset);
            rate.floor = (EVENTS / ms) * 1000;
          } else {
            const { token } = (await gql(`mutation($id: ID!) { createIntakeToken(connectorId: $id, name: "bench") { token } }`, { id: c.id })).createIntakeToken;
            const ms = await send(`${service.url}/services/collector/event`, token, connections, offset);
            rate.service = (EVENTS / ms) * 1000;
          }
          const n = await stored(pool, c.id);
          if (n !== EVENTS) throw new Error(`${target} stored ${n} of ${EVENTS} events`);
        }
        if (round > 0) figures.push({ connections, round, service: rate.service!, floor: rate.floor! });
        log(`${connections} connection(s), round ${round}${round ? '' : ' (warm-up)'}: service ${fmt(rate.service!)} events/s, floor ${fmt(rate.floor!)} events/s`);
      }
    }
    const summarize = (list: typeof figures) =>
      [1, 8].map((connections) => {
        const mine = list.filter((f) => f.connections === connections);
        return { connections, service: median(mine.map((f) => f.service)), floor: median(mine.map((f) => f.floor)), ratio: median(mine.map((f) => f.service / f.floor)) };
      });
    const summary = summarize(figures);
    const tcpSummary = summarize(tcpFigures);
    const lines = [
      `### Push intake (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.availableParallelism()} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`,
      '',
      `**Syslog TCP.** ${EVENTS.toLocaleString('en')} distinct CEF alerts per run in RFC 3164 lines, written by a sender child process over 1 or 8 connections to the service's receiver (framing, header, routing by sender, batches of 500 through the intake: decoding, dedup, sink, counters), against a raw TCP floor that splits, parses and stores the same rows in batches of 500. From the first byte until every event is stored. Median of ${ROUNDS} rounds after a warm-up.`,
      '',
      ...markdownTable(
        ['connections', 'service events/s (target ≥ 20,000)', 'floor events/s', 'ratio (target ≥ 0.5)'],
        tcpSummary.map((s) => [String(s.connections), fmt(s.service), fmt(s.floor), s.ratio.toFixed(2)]),
      ),
      '',
      '**HEC.**',
      `${EVENTS.toLocaleString('en')} distinct CEF alerts per run, posted as concatenated HEC events in batches of ${BATCH} by a sender child process, to \`POST /services/collector/event\` of a \`syslog_cef\` connector (token, limits, decoding, dedup, sink, counters), against a floor that parses and stores the same rows per request. Median of ${ROUNDS} rounds after a warm-up, service and floor alternating.`,
      '',
      ...markdownTable(
        ['connections', 'service events/s', 'floor events/s', 'ratio (target ≥ 0.5)'],
        summary.map((s) => [String(s.connections), fmt(s.service), fmt(s.floor), s.ratio.toFixed(2)]),
      ),
    ];
    if (WRITE) {
      writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'intake', lines);
      log('bench/RESULTS.md updated');
    } else {
      console.log(lines.join('\n'));
    }
  } finally {
    floor.close();
    tcpFloor.close();
    await pool.end();
    await service.close();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

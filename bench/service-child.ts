/**
 * The real service in a child process of the benchmark driver (bench/run.ts): `startService` with
 * the configuration from the environment the driver sets (RUN_WORKERS=false, EXPOSE_SQL_COUNT=true,
 * LOG_LEVEL=warn, a fixed AUTH_JWT_SECRET, DATABASE_URL of the bench database).
 *
 * IPC, all driven by the parent:
 *   → {type:'capture-start'}  ← {type:'ok'}; SQL text (and parameters) of every statement until capture-stop;
 *                             the logger goes to `trace` meanwhile, as with LOG_LEVEL=trace
 *   → {type:'capture-stop'}   ← {type:'captured', statements}
 *   → {type:'profile-start'}  ← {type:'ok'}; inspector CPU profiler on (node:inspector, this process)
 *   → {type:'profile-stop', file}  writes the .cpuprofile ← {type:'profiled', file}
 *   → {type:'stop'}           graceful close, then exit
 *   ← {type:'ready', url, ms} once listening
 */
import { Writable } from 'node:stream';
import 'reflect-metadata';
import { startService, type Service } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { SqlLogger } from '../src/db/sql-logger.js';
import { createLogger } from '../src/server/logger.js';
import { createProfiler } from './profiler.js';

export interface CapturedStatement {
  sql: string;
  params: unknown[];
}

export type ChildRequest = { type: 'capture-start' } | { type: 'capture-stop' } | { type: 'profile-start' } | { type: 'profile-stop'; file: string } | { type: 'stop' };
export type ChildReply =
  | { type: 'ready'; url: string; ms: number }
  | { type: 'ok' }
  | { type: 'captured'; statements: CapturedStatement[]; traceLines: number }
  | { type: 'profiled'; file: string }
  | { type: 'error'; message: string };

const send = (message: ChildReply) => process.send?.(message);

let traceLines = 0;
let capturing = false;
/** warn and above go to stderr; while capturing, trace `sql` lines are counted (the text is taken with its parameters below). */
const destination = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    const line = chunk.toString();
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    if (capturing && line.includes('"msg":"sql"')) traceLines++;
    if (level >= 40) process.stderr.write(line);
    callback();
  },
});

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, destination);
  const service: Service = await startService(config, logger);
  const originalLevel = logger.level;
  const originalLogQuery = SqlLogger.prototype.logQuery;
  let statements: CapturedStatement[] = [];
  const profiler = createProfiler();

  process.on('message', (message: ChildRequest) => {
    void (async () => {
      switch (message.type) {
        case 'capture-start':
          statements = [];
          traceLines = 0;
          capturing = true;
          logger.level = 'trace';
          // Patched only while capturing: the measured runs use the service's own logQuery.
          SqlLogger.prototype.logQuery = function (this: SqlLogger, query: string, parameters?: unknown[], runner?: never) {
            statements.push({ sql: query, params: parameters ?? [] });
            return originalLogQuery.call(this, query, parameters, runner);
          };
          send({ type: 'ok' });
          break;
        case 'capture-stop':
          SqlLogger.prototype.logQuery = originalLogQuery;
          logger.level = originalLevel;
          capturing = false;
          send({ type: 'captured', statements, traceLines });
          break;
        case 'profile-start':
          await profiler.start();
          send({ type: 'ok' });
          break;
        case 'profile-stop':
          await profiler.stop(message.file);
          send({ type: 'profiled', file: message.file });
          break;
        case 'stop':
          await service.close();
          process.exit(0);
      }
    })().catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) }));
  });
  process.on('disconnect', () => void service.close().finally(() => process.exit(0)));
  send({ type: 'ready', url: service.url, ms: Date.now() - started });
}

main().catch((error: unknown) => {
  console.error('bench service failed to start:', error);
  process.exit(1);
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import { startService, type Service } from '../../src/bootstrap.js';
import type { TracingOptions } from '../../src/tracing/setup.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/server/logger.js';
import { createTestDatabase } from './database.js';
import { LogCapture } from './logs.js';
import { TEST_JWT_SECRET } from './tokens.js';

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }> };
  /** SQL statements the request ran (x-sql-statements). */
  statements: number;
}

export interface TestService extends Service {
  logs: LogCapture;
  databaseUrl: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string, headers?: Record<string, string>): Promise<GqlResponse<T>>;
  /** Like gql, but fails the test on any GraphQL error and returns `data`. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T>;
}

/**
 * The real service on a fresh database and a loopback port. `options.tracing.spanProcessors` turns
 * tracing on with them (e.g. a SimpleSpanProcessor over an InMemorySpanExporter, test/integration/tracing.test.ts).
 */
export async function startTestService(label: string, env: Record<string, string> = {}, options: { tracing?: TracingOptions } = {}): Promise<TestService> {
  const databaseUrl = env.DATABASE_URL ?? (await createTestDatabase(label));
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'connector-test-data-')),
    PORT: '0',
    HOST: '127.0.0.1',
    EXPOSE_SQL_COUNT: 'true',
    LOG_LEVEL: 'trace',
    EGRESS_ALLOW: '127.0.0.1/32',
    RUN_WORKERS: 'false',
    // Suites send hundreds of requests a minute with one token; test/security/ sets real limits.
    RATE_LIMIT_PER_PRINCIPAL: '1000000',
    RATE_LIMIT_PER_TENANT: '1000000',
    RATE_LIMIT_ANONYMOUS: '1000000',
    ...env,
  });
  const logs = new LogCapture();
  const service = await startService(config, createLogger(config.logLevel, logs), { tracing: options.tracing });
  const gql = async (query: string, variables?: Record<string, unknown>, bearer?: string, headers: Record<string, string> = {}): Promise<GqlResponse> => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as GqlResponse["body"],
      statements: Number(response.headers.get('x-sql-statements') ?? NaN),
    };
  };
  return {
    ...service,
    logs,
    databaseUrl,
    gql,
    async ok(query, variables, bearer) {
      const { body } = await gql(query, variables, bearer);
      if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
      return body.data;
    },
  };
}

/** The `extensions.code` of the first error, or undefined. */
export function errorCode(response: GqlResponse): string | undefined {
  return response.body.errors?.[0]?.extensions?.code;
}

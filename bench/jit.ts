/**
 * `node dist/bench/jit.js`: does a compiled execution path (graphql-jit, as Mercurius uses) pay for
 * the hot documents? The real federated schema and resolvers, services answering from memory (no
 * database, no HTTP, no Apollo): graphql-js `execute` against graphql-jit's compiled query for the
 * bench's (a) and (c) × 100 documents, the same context, the responses compared, time per operation.
 */
import 'reflect-metadata';
import { execute, parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { pageWindow } from '../src/context/cursors.js';
import { createContext } from '../src/graphql/context.js';
import { buildFederatedSchema } from '../src/graphql/schema.js';
import type { ConnectorProjection } from '../src/modules/connectors/connector.projection.js';
import { ConnectorService } from '../src/modules/connectors/connector.service.js';
import { ENTITIES_QUERY, LIST_QUERY } from './scenarios.js';

const rows = Array.from({ length: 100 }, (_, i) => ({
  id: `cnn_01JBENCH${String(i).padStart(18, '0')}`,
  tenant_id: 'bench-big', app_id: null, application_id: null, name: `connector ${i}`, type: 'SIEM', provider: 'generic_rest', scope: 'ORG',
  owner_id: 'u', group_id: null, user_id: null, config: { baseUrl: 'https://api.example.com/v1', path: '/items' }, auth_type: 'NONE',
  vault_path: null, credential_fields: [], credential_version: null, credential_last_rotated_at: null, next_rotation_due: null,
  oauth_refresh_needed: false, oauth_token_expires_at: null, enabled: i % 2 === 0, enabled_changed_at: new Date(), enabled_changed_by: 'u',
  enabled_reason: null, sync_status: 'HEALTHY', run_state: 'RUNNING', last_sync_at: new Date(), last_checked_at: new Date(), consecutive_errors: 0,
  last_error: null, metrics: { totalSynced: 10, last24h: 2, avgLatencyMs: 12.5 }, event_types: [], webhook_endpoint_id: null, tags: ['a', 'b'],
  last_test: null, version: 3, schema_version: 1, source: 'edm', source_type: 'FRONTEND', alerts_snoozed_until: null, alerts_snooze_reason: null,
  created_at: new Date(), updated_at: new Date(), created_by: 'u', updated_by: 'u', is_deleted: false, deleted_at: null, deleted_by: null,
}));
const byId = new Map(rows.map((r) => [r.id, r]));

const connectors = {
  async list(_p: unknown, filter: unknown, args: Parameters<typeof pageWindow>[0], projection: ConnectorProjection) {
    const window = pageWindow(args, 200, ConnectorService.listBinding(filter as null));
    return { rows: rows.slice(0, window.limit + 1).map(projection.map), window, count: async () => rows.length };
  },
  async readByIds(_p: unknown, ids: readonly string[], projection: ConnectorProjection) {
    return ids.flatMap((id) => (byId.has(id) ? [projection.map(byId.get(id)!)] : []));
  },
};
const services = new Proxy({ connectors } as Record<string, unknown>, { get: (target, key) => target[key as string] ?? {} });
const principal = { tenantId: 'bench-big', subject: 'bench-editor', email: null, roles: ['editor'], groups: ['soc'], appId: null, kind: 'user' };
const context = () =>
  createContext({ principal: principal as never, authError: null, meta: { requestId: 'r', clientIp: null, userAgent: null, sourceType: 'FRONTEND' } as never, services: services as never, logger: console as never });

async function main(): Promise<void> {
  const schema = await buildFederatedSchema();
  const cases = [
    { name: '(a) connectors(first: 50), 20 fields', query: LIST_QUERY, variables: {} },
    { name: '(c) _entities × 100, 20 fields', query: ENTITIES_QUERY, variables: { representations: rows.map((r) => ({ __typename: 'Connector', id: r.id })) } },
  ];
  const iterations = Number(process.argv.find((a) => a.startsWith('--iterations='))?.slice(13) ?? 2000);
  for (const c of cases) {
    const document = parse(c.query);
    const compiled = compileQuery(schema, document);
    if (!isCompiledQuery(compiled)) throw new Error(`graphql-jit could not compile ${c.name}: ${JSON.stringify(compiled)}`);
    const viaJs = async () => execute({ schema, document, contextValue: context(), variableValues: c.variables });
    const viaJit = async () => compiled.query(undefined, context(), c.variables);
    const a = JSON.stringify(await viaJs());
    const b = JSON.stringify(await viaJit());
    const time = async (run: () => Promise<unknown>) => {
      for (let i = 0; i < iterations / 4; i++) await run();
      const started = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) await run();
      return Number(process.hrtime.bigint() - started) / 1e6 / iterations;
    };
    const results: Record<string, number[]> = { js: [], jit: [] };
    for (let round = 0; round < 5; round++) {
      results.js!.push(await time(viaJs));
      results.jit!.push(await time(viaJit));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[2]!;
    console.log(`${c.name}: same response ${a === b ? 'yes' : `NO\n  js:  ${a.slice(0, 300)}\n  jit: ${b.slice(0, 300)}`}; graphql-js ${median(results.js!).toFixed(3)} ms, graphql-jit ${median(results.jit!).toFixed(3)} ms per operation (medians of 5 × ${iterations})`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

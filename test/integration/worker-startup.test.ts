/**
 * `npm run worker` upgrades stored configs at start-up like `npm start` does: a worker may be the
 * first process on new code, and its jobs read stored configs. Here an ethereum connector stored
 * with its version-1 key (`baseUrl`) is upgraded to `rpcUrl` by a worker process alone.
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { CREATE } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { editor } from '../helpers/tokens.js';
import { waitFor } from '../helpers/wait.js';

let svc: TestService;
let child: ChildProcess | null = null;

beforeAll(async () => {
  execSync('npm run build --silent', { stdio: 'ignore' });
  svc = await startTestService('worker_startup');
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
  }
  await svc?.close();
});

test('a worker started alone upgrades a version-1 config, once, audited as SYSTEM', async () => {
  const ed = await editor('t1');
  const rpcUrl = 'http://127.0.0.1:8545';
  const input = { name: 'Stored before the rename', provider: 'ethereum', authType: 'NONE', config: { rpcUrl, addresses: ['0x000000000000000000000000000000000000dEaD'] } };
  const { id } = (await svc.ok(CREATE, { input }, ed)).createConnector;
  await svc.dataSource.query(
    `UPDATE connectors SET config = config - 'rpcUrl' || jsonb_build_object('baseUrl', config->'rpcUrl'), schema_version = 1 WHERE id = $1`,
    [id],
  );

  child = spawn(process.execPath, ['dist/src/worker.js'], {
    env: { ...process.env, DATABASE_URL: svc.databaseUrl, EGRESS_ALLOW: '127.0.0.1/32', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  await waitFor('the worker to upgrade the config', async () => {
    const [row] = await svc.dataSource.query('SELECT schema_version, config FROM connectors WHERE id = $1', [id]);
    return row.schema_version === 2 ? row : null;
  }, 30_000).then((row) => {
    expect(row.config).toMatchObject({ rpcUrl });
    expect(row.config).not.toHaveProperty('baseUrl');
  });
  const audits = await svc.dataSource.query(
    `SELECT actor_type, actor_id FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_UPDATED'`,
    [id],
  );
  expect(audits).toEqual([{ actor_type: 'SYSTEM', actor_id: 'config-migration' }]);
});

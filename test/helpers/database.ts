import pg from 'pg';
import { randomBytes } from 'node:crypto';

/** A fresh, empty database in the run's PostgreSQL (test/global-setup.mjs); one per test file. */
export async function createTestDatabase(label = 'test'): Promise<string> {
  const admin = process.env.TEST_DATABASE_ADMIN_URL;
  if (!admin) throw new Error('TEST_DATABASE_ADMIN_URL is not set: run the tests through jest (global setup)');
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * /healthz, for load balancers and uptime checks: 200 while the database answers, 503 while it
 * does not, and 200 again once it is back. The outage is real: the tool's database stops
 * accepting connections and its open ones are terminated.
 */
import { sql } from 'kysely';
import { Client } from 'pg';
import { request } from 'undici';
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let admin: Client;
let dbName: string;

beforeAll(async () => {
  stack = await testStack('health');
  dbName = (await sql<{ name: string }>`SELECT current_database() AS name`.execute(stack.tool.store.db)).rows[0]!.name;
  admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
  await admin.connect();
});
afterAll(async () => {
  if (dbName) await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`).catch(() => undefined);
  await admin?.end();
  await stack?.stop();
});

async function health() {
  const res = await request(`${stack.tool.url}/healthz`);
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown>, cacheControl: res.headers['cache-control'] };
}

test('healthy, unreachable and back again, as the database is', async () => {
  expect(dbName).toMatch(/^isnotai_test_/);
  expect(await health()).toEqual({ status: 200, body: { ok: true, database: 'ok', secrets: 'ok' }, cacheControl: 'no-store' });

  await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
  const down = await health();
  expect(down.status).toBe(503);
  expect(down.body).toEqual({ ok: false, database: 'unreachable' });

  await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
  expect((await health()).status).toBe(200);
});

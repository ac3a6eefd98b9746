/**
 * A PostgreSQL connection lost while the tool holds it checked out (between a transaction's statements, or between
 * `pool.connect()` and the first query) must not crash the process: pg emits 'error' on such a client, and pg-pool only
 * listens on idle ones. Seen in CI as "Unhandled error. Connection terminated unexpectedly" when the faults test took the
 * database away.
 */
import { Client } from 'pg';
import { sql } from 'kysely';
import type { Store } from '../../src/store';
import { migratedStore } from './helpers';

let store: Store;
let admin: Client;
beforeAll(async () => {
  store = await migratedStore('lost-connection');
  admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await store?.close();
});

test('a checked-out connection whose server process is terminated is dropped, and the next query gets a new one', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const client = await store.pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    // The server closes the socket; pg reports it on the client, which no query is waiting on.
    await new Promise((resolve) => setTimeout(resolve, 300));
    client.release();
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  expect(uncaught).toEqual([]);
  const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(store.db);
  expect(rows[0]!.one).toBe(1);
});

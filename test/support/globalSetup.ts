/**
 * Starts one real PostgreSQL for the whole run: the embedded PostgreSQL 18 by default, or the
 * server named by DATABASE_URL. Each test file then creates its own database on it
 * (test/support/db.ts), so files never see each other's rows.
 */
import { Client } from 'pg';
import { startEmbeddedPostgres, tempDataDir, type EmbeddedServer } from '../../src/store/embedded';

declare global {
  var __EMBEDDED_PG__: EmbeddedServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = tempDataDir();
    const started = Date.now();
    const server = await startEmbeddedPostgres({ dataDir: `${dir}/data`, persistent: false });
    globalThis.__EMBEDDED_PG__ = server;
    adminUrl = server.adminUrl;
    process.stderr.write(`\n[test db] embedded PostgreSQL on port ${server.port} in ${Date.now() - started} ms\n`);
  } else {
    process.stderr.write(`\n[test db] using DATABASE_URL server\n`);
  }
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
  await client.end();
  process.stderr.write(`[test db] PostgreSQL ${rows[0]?.server_version}\n`);
  process.env.TEST_ADMIN_DATABASE_URL = adminUrl;
  process.env.TEST_RUN_ID = process.env.TEST_RUN_ID ?? Date.now().toString(36);
}

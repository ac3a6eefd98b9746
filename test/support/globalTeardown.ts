import { Client } from 'pg';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.TEST_ADMIN_DATABASE_URL;
  // Databases made by this run on a server we did not start are dropped; the embedded one goes whole.
  if (adminUrl && !globalThis.__EMBEDDED_PG__) {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'isnotai_test_' || $1 || '_%'",
      [process.env.TEST_RUN_ID ?? ''],
    );
    for (const r of rows) await client.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    await client.end();
  }
  await globalThis.__EMBEDDED_PG__?.stop();
}

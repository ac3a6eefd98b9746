/** Each test file gets a database of its own on the run's PostgreSQL (see globalSetup). */
import crypto from 'node:crypto';
import { ensureDatabase } from '../../src/store/embedded';

export async function freshDatabaseUrl(label = 'db'): Promise<string> {
  const adminUrl = process.env.TEST_ADMIN_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_ADMIN_DATABASE_URL is not set: run the tests through jest (globalSetup starts the database).');
  const suffix = `${label
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${crypto.randomBytes(4).toString('hex')}`;
  return ensureDatabase(adminUrl, `isnotai_test_${String(process.env.TEST_RUN_ID).toLowerCase()}_${suffix}`);
}

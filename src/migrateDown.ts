/**
 * `npm run migrate-down -- <migration>`: takes the database back to an earlier migration, before
 * running a version of the tool that predates the later ones (README "Upgrading").
 *
 * It works on DATABASE_URL (or, in development, the embedded database), runs each later migration's
 * `down` newest first in one locked transaction, and says what it reverted. Stop every instance of
 * the newer version first: a running one would migrate the database back up when it restarts.
 */
import { withCommandDatabase } from './bootstrap';
import { createLogger, type Logger } from './log';
import { MIGRATION_NAMES, migrateDownTo } from './store';

export class MigrateDownUsageError extends Error {
  override readonly name = 'MigrateDownUsageError';
  readonly code = 'migrate_down_usage';
  constructor(readonly problems: string[]) {
    super(`Cannot migrate down:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export async function runMigrateDown(env: NodeJS.ProcessEnv, args: readonly string[], logger: Logger): Promise<string[]> {
  const problems: string[] = [];
  const target = args[0] ?? '';
  if (args.length !== 1 || !MIGRATION_NAMES.includes(target)) {
    problems.push(`name the one migration to go back to: one of ${MIGRATION_NAMES.join(', ')}`);
  }
  if (!env.DATABASE_URL && env.NODE_ENV === 'production') problems.push('DATABASE_URL: required in production');
  if (problems.length > 0) throw new MigrateDownUsageError(problems);

  return withCommandDatabase(env, logger, (store) => migrateDownTo(store.db, target, logger));
}

if (require.main === module) {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
  const args = process.argv.slice(2);
  runMigrateDown(process.env, args, logger).then(
    (reverted) => {
      process.stdout.write(
        reverted.length === 0
          ? `The database was already at ${args[0]}; nothing was reverted.\n`
          : `Reverted ${reverted.join(', ')}: the database is now at ${args[0]}. Start the version that matches it.\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

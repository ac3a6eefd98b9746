/**
 * `npm run rotate-key`: re-encrypts every stored secret (isnotai API keys, ltijs's platform keys
 * and access tokens) from OLD_ENCRYPTION_KEY to NEW_ENCRYPTION_KEY, in one transaction.
 *
 * It works on DATABASE_URL (or, in development, the embedded database). The keys come from the
 * environment, never argv, so they stay out of shell history and `ps`. Then restart every instance
 * with ENCRYPTION_KEY set to the new key: until then the old instances answer 503 on /healthz.
 */
import { withCommandDatabase } from './bootstrap';
import { createLogger, type Logger } from './log';
import { MIN_SECRET_LENGTH, migrateToLatest, rotateEncryptionKey, type RotationResult } from './store';

export class RotateKeyUsageError extends Error {
  override readonly name = 'RotateKeyUsageError';
  readonly code = 'rotate_key_usage';
  constructor(readonly problems: string[]) {
    super(`Cannot rotate the encryption key:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export async function runRotateKey(env: NodeJS.ProcessEnv, logger: Logger): Promise<RotationResult> {
  const problems: string[] = [];
  const oldKey = env.OLD_ENCRYPTION_KEY ?? '';
  const newKey = env.NEW_ENCRYPTION_KEY ?? '';
  if (!oldKey) problems.push('OLD_ENCRYPTION_KEY: required (the key the tool runs with now)');
  if (!newKey)
    problems.push(`NEW_ENCRYPTION_KEY: required (at least ${MIN_SECRET_LENGTH} random characters, e.g. \`openssl rand -base64 48\`)`);
  else if (newKey.length < MIN_SECRET_LENGTH) problems.push(`NEW_ENCRYPTION_KEY: must be at least ${MIN_SECRET_LENGTH} characters`);
  if (!env.DATABASE_URL && env.NODE_ENV === 'production') problems.push('DATABASE_URL: required in production');
  if (problems.length > 0) throw new RotateKeyUsageError(problems);

  return withCommandDatabase(env, logger, async (store) => {
    await migrateToLatest(store.db, logger);
    const result = await rotateEncryptionKey(store.db, oldKey, newKey);
    logger.info({ ...result }, 'encryption key rotated');
    return result;
  });
}

if (require.main === module) {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
  runRotateKey(process.env, logger).then(
    (r) => {
      process.stdout.write(
        `Re-encrypted ${r.apiKeys} isnotai API key(s), ${r.ltiKeys} LTI key(s) and ${r.accessTokens} access token(s) under NEW_ENCRYPTION_KEY.\n` +
          'Now restart every instance with ENCRYPTION_KEY set to the new key (instances still on the old one answer 503 on /healthz). Open launches must be relaunched from the LMS.\n',
      );
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

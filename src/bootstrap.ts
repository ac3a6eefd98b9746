/**
 * Starting the tool: the database (DATABASE_URL, or the embedded PostgreSQL in development), the
 * migrations, the expiry and retention sweepers, the app, and the platform registrations from configuration.
 * Used by the production entry point (src/server.ts), the demo and the tests alike.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { createApp, projectRoot, type AppServices, type ToolApp } from './app';
import { loadConfig, type AppConfig, type PlatformConfig } from './config';
import type { IsnotaiClient } from './isnotai/client';
import { closeAllPools } from './isnotai/pools';
import { DEFAULT_STRATEGY, defaultIdentityPattern, type IdentityStrategy } from './lti/identity';
import type { Logger } from './log';
import { DEFAULT_THRESHOLDS } from './risk/thresholds';
import {
  createAccommodationStore,
  createRosterStore,
  createAuditLog,
  createResponseStore,
  createReviewStore,
  eraseLearnerReviewData,
  learnerReviewData,
  createLaunchStateStore,
  createPlatformSettingsRepository,
  createPlacementStore,
  createRegistrationStore,
  createUpstreamCache,
  keyCheckDecrypts,
  migrateToLatest,
  openDatabase,
  PostgresLtiDatabase,
  startSweeper,
  verifyEncryptionKey,
  type PlatformCredentials,
  type Store,
} from './store';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from './store/embedded';
import { DEFAULT_RETENTION_DAYS, startRetentionSweeper } from './store/retention';
import type { PlatformView } from './web/ports';

export interface RunningTool {
  tool: ToolApp;
  store: Store;
  url: string;
  stop(): Promise<void>;
}

export interface StartToolOptions {
  config: AppConfig;
  logger: Logger;
  databaseUrl: string;
  /** Port to listen on (0: any free port). */
  port: number;
  host?: string;
  createClient?: (baseUrl: string, apiKey: string) => IsnotaiClient;
}

export async function startTool(options: StartToolOptions): Promise<RunningTool> {
  const { config, logger } = options;
  const encryptionKey = config.encryptionKey ?? devEncryptionKey(config);
  const store = await openDatabase({ url: options.databaseUrl, logger });
  await migrateToLatest(store.db, logger);
  // Before anything is written with the key (PLATFORMS_JSON re-encrypts the API keys below).
  try {
    const { droppedAccessTokens } = await verifyEncryptionKey(store.db, encryptionKey);
    if (droppedAccessTokens > 0)
      logger.warn(
        { droppedAccessTokens },
        'dropped stored LMS access tokens that ENCRYPTION_KEY does not decrypt (ltijs asks the LMS for new ones)',
      );
  } catch (err) {
    await store.close();
    throw err;
  }
  const stopSweeper = startSweeper(store.db, { intervalMs: 60_000, logger });
  // What is past each registration's retention period (docs/product.md "Retention"), soon after start, then periodically.
  const stopRetention = startRetentionSweeper(store.db, { intervalMs: config.retentionSweepIntervalMs, logger });

  const settings = createPlatformSettingsRepository(store.db, { secret: encryptionKey });
  const audit = createAuditLog(store.db);
  const cache = createUpstreamCache(store.db);
  const registrations = createRegistrationStore(store.db, { secret: encryptionKey });

  // Per PlatformView (one per request): its row's credentials, so a request reads the row once. Dropped with the view.
  const credentialsFound = new WeakMap<PlatformView, () => PlatformCredentials | null>();
  const services: AppServices = {
    ltiDatabasePlugin: new PostgresLtiDatabase(store, { ttlSeconds: { nonce: Math.max(600, config.tokenMaxAgeSeconds * 2) } }),
    platforms: {
      async find(issuer, clientId): Promise<PlatformView | null> {
        const found = await settings.getWithCredentials(issuer, clientId);
        if (!found) return null;
        const s = found.settings;
        const view: PlatformView = {
          id: s.id,
          issuer: s.issuer,
          clientId: s.clientId,
          name: s.displayName,
          kind: s.kind,
          deploymentIds: s.deploymentIds,
          identity: s.identityStrategy as IdentityStrategy,
          identityPattern: s.identityPattern ?? defaultIdentityPattern(s.identityStrategy as IdentityStrategy, s.kind),
          thresholds: s.riskThresholds,
          studentVisibility: s.studentVisibility,
          cacheTtlSeconds: s.cacheTtlSeconds,
          retentionDays: s.retentionDays,
          status: s.status,
          source: s.source,
          toolWide: s.toolWide,
          hasApiKey: s.hasApiKey,
        };
        // The request that found the platform reads its key from the same row (upstreamCredentials below).
        credentialsFound.set(view, found.credentials);
        return view;
      },
    },
    audit,
    review: createReviewStore(store.db),
    responses: createResponseStore(store.db),
    accommodations: createAccommodationStore(store.db),
    rosters: createRosterStore(store.db, store.pool),
    registrations,
    placements: createPlacementStore(store.db),
    learnerData: {
      read: (who) => learnerReviewData(store.db, who),
      erase: (who, expect, audit) => eraseLearnerReviewData(store.db, who, expect, audit),
    },
    launchState: createLaunchStateStore(store.db),
    cache: {
      get: (k) => cache.get(k),
      getMany: (keys) => cache.getMany(keys),
      getManyExpiring: (keys) => cache.getManyExpiring(keys),
      set: (k, v, ttl) => cache.set(k, v as never, ttl),
      setMany: (entries, ttl) => cache.setMany(entries.map((e) => ({ key: e.key, value: e.value as never, ttlSeconds: ttl }))),
    },
    async databaseAnswers() {
      await sql`SELECT 1`.execute(store.db);
    },
    secretsReadable: cachedFor(SECRETS_CHECK_MS, () => keyCheckDecrypts(store.db, encryptionKey)),
    async upstreamCredentials(platform) {
      const found = credentialsFound.get(platform);
      return found ? found() : settings.credentials(platform.issuer, platform.clientId);
    },
  };

  const tool = await createApp({ config: { ...config, encryptionKey }, logger, services, createClient: options.createClient });
  for (const p of config.platforms) {
    const before = await registrations.find(p.issuer, p.clientId);
    await registerPlatform(tool, settings, p, config);
    if (before?.source === 'dynamic') {
      // The file takes over a registration an LMS made: said in the log and in that registration's audit log.
      logger.warn(
        { registration: before.id, issuer: p.issuer, clientId: p.clientId },
        'PLATFORMS_JSON takes over a registration made by the LMS',
      );
      await audit.record({
        platformIss: p.issuer,
        platformClientId: p.clientId,
        actorUserId: 'operator',
        actorRole: 'operator',
        action: 'registration.settings',
        resourceId: `registration ${before.id}`,
        detail: { changed: ['source', ...(before.status === 'active' ? [] : ['status'])], source: 'config', status: 'active' },
      });
    }
    // The file's registrations are active, ltijs's login check included (one made pending by the LMS may be among them).
    await registrations.syncLtijsStatus(p.issuer, p.clientId);
  }
  // The headers that allow framing and form posts name exactly the registered LMSs.
  await tool.refreshPlatformOrigins();
  const { url } = await tool.listen(options.port, options.host);
  logger.info({ url, platforms: config.platforms.length }, 'tool listening');
  if (config.toolUrl) {
    // What an LMS administrator enters when registering the tool.
    logger.info(
      {
        loginUrl: `${config.toolUrl}/login`,
        launchUrl: `${config.toolUrl}/`,
        keysetUrl: `${config.toolUrl}/keys`,
        // LTI Dynamic Registration (Moodle, Canvas), and Canvas's developer-key JSON.
        registrationUrl: `${config.toolUrl}/register`,
        canvasConfigUrl: `${config.toolUrl}/canvas.json`,
      },
      'LTI registration URLs',
    );
  }

  let stopped = false;
  return {
    tool,
    store,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopSweeper();
      await stopRetention();
      await tool.close();
      await closeAllPools();
      await store.close();
    },
  };
}

async function registerPlatform(
  tool: ToolApp,
  settings: ReturnType<typeof createPlatformSettingsRepository>,
  p: PlatformConfig,
  config: AppConfig,
): Promise<void> {
  const ok = await tool.lti.registerPlatform({
    url: p.issuer,
    name: p.name,
    clientId: p.clientId,
    authenticationEndpoint: p.authenticationEndpoint,
    accesstokenEndpoint: p.accesstokenEndpoint,
    authConfig: { method: 'JWK_SET', key: p.jwksUrl },
  });
  if (!ok) throw new Error(`Could not register platform ${p.name} (${p.issuer})`);
  await settings.upsert({
    issuer: p.issuer,
    clientId: p.clientId,
    displayName: p.name,
    kind: p.kind,
    isnotaiBaseUrl: p.isnotai.baseUrl ?? config.isnotaiBaseUrl,
    apiKey: p.isnotai.apiKey,
    identityStrategy: p.identity ?? DEFAULT_STRATEGY[p.kind],
    studentVisibility: p.studentVisibility,
    // The configuration is the source of truth: thresholds taken out of it go back to the defaults.
    riskThresholds: p.thresholds ?? DEFAULT_THRESHOLDS,
    // Likewise: a retention period taken out of it goes back to the default.
    retentionDays: p.retentionDays ?? DEFAULT_RETENTION_DAYS,
    cacheTtlSeconds: config.cacheTtlSeconds,
    // A registration in PLATFORMS_JSON is the file's: active, read-only in the tool, re-applied at every start.
    source: 'config',
    status: 'active',
    toolWide: p.toolWide,
    deploymentIds: p.deploymentIds,
    identityPattern: p.identityPattern ?? null,
  });
}

/** How long /healthz reuses its answer to "does the key still decrypt the key check". */
const SECRETS_CHECK_MS = 5000;

/** The last answer of `check` for `ms`; a failure (e.g. the database) is not kept. */
function cachedFor<T>(ms: number, check: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: T } | undefined;
  return async () => {
    if (last && Date.now() - last.at < ms) return last.value;
    const value = await check();
    last = { at: Date.now(), value };
    return value;
  };
}

/** Development only: a key kept in .data/ so that the demo's stored keys survive restarts. */
function devEncryptionKey(config: AppConfig): string {
  if (config.env === 'production') throw new Error('ENCRYPTION_KEY is required in production');
  const file = path.join(projectRoot(), '.data', 'encryption-key');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const key = crypto.randomBytes(36).toString('base64url');
  fs.writeFileSync(file, key, { mode: 0o600 });
  return key;
}

/** DATABASE_URL, or (development) the embedded PostgreSQL in config.embeddedDbDir. */
export async function resolveDatabase(config: AppConfig, logger: Logger): Promise<{ url: string; embedded: EmbeddedServer | null }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: null };
  const started = Date.now();
  const embedded = await startEmbeddedPostgres({
    dataDir: path.resolve(projectRoot(), config.embeddedDbDir),
    persistent: true,
    onLog: (l) => logger.debug({ component: 'postgres' }, l),
  });
  const url = await ensureDatabase(embedded.adminUrl, 'isnotai_lti');
  logger.info({ port: embedded.port, dir: embedded.dataDir, ms: Date.now() - started }, 'embedded PostgreSQL started');
  return { url, embedded };
}

/**
 * For an operator's command (`npm run rotate-key`, `npm run migrate-down`): runs `work` on the database
 * DATABASE_URL names or, without it, on the development embedded PostgreSQL, started for the command
 * and stopped after it; the pool is closed either way.
 */
export async function withCommandDatabase<T>(env: NodeJS.ProcessEnv, logger: Logger, work: (store: Store) => Promise<T>): Promise<T> {
  const db = env.DATABASE_URL
    ? { url: env.DATABASE_URL, embedded: null }
    : await resolveDatabase(loadConfig({ NODE_ENV: 'development', EMBEDDED_DB_DIR: env.EMBEDDED_DB_DIR }), logger);
  try {
    const store = await openDatabase({ url: db.url, logger });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  } finally {
    await db.embedded?.stop();
  }
}

/** On SIGINT/SIGTERM, runs the stops in order (each failure logged, none skipped), then exits. */
export function stopOnSignals(logger: Logger, stops: Array<() => Promise<unknown> | undefined>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    for (const s of stops) await Promise.resolve(s()).catch((err: unknown) => logger.error({ err }, 'stop failed'));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * Configuration: parsed and validated once, at start-up, from the environment. Every missing or
 * invalid setting is reported in one message, so an operator fixes them all in one go.
 */
import { z } from 'zod';
import { ISNOTAI_REGIONS } from './isnotai/regions';
import { SETTING_RULES } from './settingRules';

/** A platform (LMS) registration, as the operator declares it (PLATFORMS_JSON). */
export const platformConfigSchema = z.object({
  name: SETTING_RULES.displayName,
  kind: z.enum(['moodle', 'canvas', 'other']).default('other'),
  issuer: z.string().min(1),
  clientId: z.string().min(1),
  deploymentIds: SETTING_RULES.deploymentIds.default([]),
  authenticationEndpoint: z.url({ protocol: /^https?$/ }),
  accesstokenEndpoint: z.url({ protocol: /^https?$/ }),
  jwksUrl: z.url({ protocol: /^https?$/ }),
  isnotai: z.object({
    apiKey: SETTING_RULES.apiKey,
    baseUrl: SETTING_RULES.isnotaiBaseUrl.optional(),
  }),
  identity: SETTING_RULES.identity.optional(),
  /** The shape of a valid id of the mapping, a regular expression matched against the whole id. */
  identityPattern: SETTING_RULES.identityPattern.optional(),
  thresholds: SETTING_RULES.thresholds.optional(),
  studentVisibility: SETTING_RULES.studentVisibility.optional(),
  /** How long responses, review records, accommodations and the audit log are kept, in days (default 365). */
  retentionDays: SETTING_RULES.retentionDays.optional(),
  /**
   * Its admins may activate and deactivate every registration, those made by Dynamic Registration included
   * (docs/product.md "Installing the tool").
   */
  toolWide: z.boolean().default(false),
  /**
   * More origins allowed to frame the tool for this LMS, beyond its issuer and authentication
   * endpoint: a Canvas registered with a shared login host (sso.canvaslms.com) or a vanity domain
   * shows the tool from the school's own Canvas domain.
   */
  frameAncestors: z
    .array(z.url({ protocol: /^https?$/ }))
    .max(20)
    .optional(),
});
export type PlatformConfig = z.infer<typeof platformConfigSchema>;

const boolish = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  TOOL_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  EMBEDDED_DB_DIR: z.string().default('.data/postgres'),
  ENCRYPTION_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  ISNOTAI_BASE_URL: z.url({ protocol: /^https?$/ }).default(ISNOTAI_REGIONS.us),
  PLATFORMS_JSON: z.string().optional(),
  TOKEN_MAX_AGE_SECONDS: z.coerce.number().int().min(5).max(600).default(60),
  COOKIE_SECURE: boolish.default(true),
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  UPSTREAM_CONCURRENCY: z.coerce.number().int().min(1).max(128).default(64),
  // A page waits at most this long for isnotai, retries included, then shows what it has or a 503.
  UPSTREAM_PAGE_DEADLINE_MS: z.coerce.number().int().min(100).max(10_000).default(10_000),
  // The export of the integration-wide session list (it walks every page) waits this long, then answers 504 export_timed_out.
  UPSTREAM_EXPORT_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(50_000),
  // How often the retention sweep runs (src/store/retention.ts); its first run is at most a minute after start.
  RETENTION_SWEEP_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(3_600_000),
  // Registrations made by Dynamic Registration start active instead of pending (docs/product.md "Installing the tool").
  AUTO_ACTIVATE: boolish.default(false),
  // Dynamic Registration may connect to private and local addresses (development; an LMS on a private network).
  ALLOW_PRIVATE_LMS_HOSTS: boolish.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface AppConfig {
  env: 'development' | 'test' | 'production';
  port: number;
  /** Public base URL of the tool, without trailing slash (the LMS reaches /login, /, /keys here). */
  toolUrl: string | undefined;
  databaseUrl: string | undefined;
  embeddedDbDir: string;
  /** Signs ltiks and cookies (ltijs) and derives the key that encrypts API keys at rest. */
  encryptionKey: string | undefined;
  isnotaiBaseUrl: string;
  platforms: PlatformConfig[];
  tokenMaxAgeSeconds: number;
  cookieSecure: boolean;
  cacheTtlSeconds: number;
  upstreamConcurrency: number;
  /** One overall deadline for a page's isnotai calls, retries included (at most 10 s). */
  upstreamPageDeadlineMs: number;
  /** The same for the export of the integration-wide session list, which walks every page (at most 10 minutes). */
  upstreamExportDeadlineMs: number;
  /** Between two retention sweeps (the first is at most a minute after start). */
  retentionSweepIntervalMs: number;
  /** Registrations made by Dynamic Registration start active (else pending until activated). */
  autoActivate: boolean;
  /** Dynamic Registration may reach an LMS at a private or local address (else only public addresses). */
  allowPrivateLmsHosts: boolean;
  logLevel: string;
}

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describe(issues: z.core.$ZodIssue[], prefix = ''): string[] {
  return issues.map((i) => `${prefix}${i.path.join('.') || '(value)'}: ${i.message}`);
}

/** Reads the environment. In production DATABASE_URL, ENCRYPTION_KEY and TOOL_URL are required. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) problems.push(...describe(parsed.error.issues));
  const e = parsed.success ? parsed.data : undefined;

  let platforms: PlatformConfig[] = [];
  if (env.PLATFORMS_JSON) {
    let raw: unknown;
    try {
      raw = JSON.parse(env.PLATFORMS_JSON);
    } catch (err) {
      problems.push(`PLATFORMS_JSON: not valid JSON (${(err as Error).message})`);
    }
    if (raw !== undefined) {
      const list = z.array(platformConfigSchema).safeParse(raw);
      if (list.success) platforms = list.data;
      else problems.push(...describe(list.error.issues, 'PLATFORMS_JSON.'));
    }
  }
  if (env.NODE_ENV === 'production') {
    if (!env.DATABASE_URL) problems.push('DATABASE_URL: required in production (the embedded PostgreSQL is for development and tests)');
    if (!env.ENCRYPTION_KEY)
      problems.push('ENCRYPTION_KEY: required in production (at least 32 random characters; keep it: it decrypts the stored keys)');
    // Launches are accepted only for the tool's own address; behind a proxy the Host and protocol
    // a request arrives with are not it.
    if (!env.TOOL_URL) problems.push('TOOL_URL: required in production (the public https address the LMS reaches the tool at)');
  }
  if (problems.length > 0 || !e) throw new ConfigError(problems);
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    toolUrl: e.TOOL_URL?.replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    embeddedDbDir: e.EMBEDDED_DB_DIR,
    encryptionKey: e.ENCRYPTION_KEY,
    isnotaiBaseUrl: e.ISNOTAI_BASE_URL.replace(/\/+$/, ''),
    platforms,
    tokenMaxAgeSeconds: e.TOKEN_MAX_AGE_SECONDS,
    cookieSecure: e.COOKIE_SECURE,
    cacheTtlSeconds: e.CACHE_TTL_SECONDS,
    upstreamConcurrency: e.UPSTREAM_CONCURRENCY,
    upstreamPageDeadlineMs: e.UPSTREAM_PAGE_DEADLINE_MS,
    upstreamExportDeadlineMs: e.UPSTREAM_EXPORT_DEADLINE_MS,
    retentionSweepIntervalMs: e.RETENTION_SWEEP_INTERVAL_MS,
    autoActivate: e.AUTO_ACTIVATE,
    allowPrivateLmsHosts: e.ALLOW_PRIVATE_LMS_HOSTS,
    logLevel: e.LOG_LEVEL,
  };
}

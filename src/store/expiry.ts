/**
 * Expiry of ltijs's short-lived state, of the tool's launch state (./launchState) and of the
 * upstream cache. PostgreSQL has no TTL indexes, so every read compares the row's age or
 * `expires_at` itself (an expired row is invisible at once) and a periodic sweep deletes what has
 * expired (so the tables stay small).
 */
import type { Kysely } from 'kysely';
import type { Schema } from './schema';
import type { StoreLogger } from './db';

/** Milliseconds since the epoch. Injectable so tests can move time instead of sleeping. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();

/** Seconds each ltijs collection's rows live. */
export interface LtiTtls {
  idtoken: number;
  contexttoken: number;
  accesstoken: number;
  nonce: number;
  state: number;
}

export const DEFAULT_LTI_TTLS: Readonly<LtiTtls> = {
  // ltijs's own MongoDB TTLs.
  idtoken: 24 * 3600,
  contexttoken: 24 * 3600,
  accesstoken: 3600,
  state: 600,
  // ltijs keeps nonces 10 s, but a replayed id_token is only refused while its nonce is on file,
  // and ltijs accepts a token for as long as its `exp`/tokenMaxAge allow (Moodle's live 60 s,
  // ltijs's default max age is 10 s, others allow minutes). A nonce must therefore outlive every
  // token that carries it; 600 s covers the longest token age we accept with margin.
  nonce: 600,
};

export function resolveTtls(overrides?: Partial<LtiTtls>): LtiTtls {
  const ttls = { ...DEFAULT_LTI_TTLS, ...overrides };
  for (const [name, seconds] of Object.entries(ttls)) {
    if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`TTL for ${name} must be a positive number of seconds`);
  }
  return ttls;
}

export interface SweepResult {
  /** Rows deleted per table. */
  deleted: Record<string, number>;
  total: number;
}

export interface SweepOptions {
  ttls?: Partial<LtiTtls>;
  clock?: Clock;
}

/** The tables whose rows carry their own `expires_at`: the launch state (./launchState), the cache and the rosters (./roster). */
export const EXPIRING_TABLES = [
  'login_check',
  'login_state',
  'storage_session',
  'signed_out_ltik',
  'launch_claims',
  'upstream_cache',
  'roster_build',
] as const;

/** Deletes every expired ltijs row, launch state row and cache entry now. */
export async function sweepExpired(db: Kysely<Schema>, options: SweepOptions = {}): Promise<SweepResult> {
  const ttls = resolveTtls(options.ttls);
  const now = (options.clock ?? systemClock)();
  const cutoff = (seconds: number) => new Date(now - seconds * 1000);
  const counts = await Promise.all([
    db.deleteFrom('lti_idtoken').where('created_at', '<=', cutoff(ttls.idtoken)).executeTakeFirst(),
    db.deleteFrom('lti_contexttoken').where('created_at', '<=', cutoff(ttls.contexttoken)).executeTakeFirst(),
    db.deleteFrom('lti_accesstoken').where('created_at', '<=', cutoff(ttls.accesstoken)).executeTakeFirst(),
    db.deleteFrom('lti_nonce').where('created_at', '<=', cutoff(ttls.nonce)).executeTakeFirst(),
    db.deleteFrom('lti_state').where('created_at', '<=', cutoff(ttls.state)).executeTakeFirst(),
    ...EXPIRING_TABLES.map((table) => db.deleteFrom(table).where('expires_at', '<=', new Date(now)).executeTakeFirst()),
  ]);
  const names = ['lti_idtoken', 'lti_contexttoken', 'lti_accesstoken', 'lti_nonce', 'lti_state', ...EXPIRING_TABLES];
  const deleted: Record<string, number> = {};
  let total = 0;
  counts.forEach((r, i) => {
    const n = Number(r.numDeletedRows);
    deleted[names[i]!] = n;
    total += n;
  });
  return { deleted, total };
}

export interface SweeperOptions extends SweepOptions {
  intervalMs: number;
  logger?: StoreLogger;
}

/**
 * Sweeps every `intervalMs` (never two sweeps at once; the timer does not keep the process
 * alive). Returns a stop function that resolves once any sweep in progress has finished.
 */
export function startSweeper(db: Kysely<Schema>, options: SweeperOptions): () => Promise<void> {
  if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0) throw new RangeError('intervalMs must be a positive number');
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = sweepExpired(db, options)
      .then((r) => {
        if (r.total > 0) options.logger?.info({ deleted: r.deleted }, 'expired rows swept');
      })
      .catch((err: unknown) => {
        options.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'sweep of expired rows failed');
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

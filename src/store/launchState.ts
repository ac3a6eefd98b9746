/**
 * The launch's short-lived state in PostgreSQL, shared by every instance of the tool: src/lti decides
 * what goes in and what it means; this only keeps it, and never past its expiry.
 *
 * It holds login initiations awaiting the iframe cookie check, the login behind each OIDC state (with
 * its binding through the LMS's platform storage), cookie-less sessions, signed-out ltiks and launch
 * claims ltijs does not keep. Every query compares `expires_at` with the clock (a row past it is never
 * honoured) and the sweeper (./expiry) deletes such rows. ltiks arrive here already hashed (SHA-256),
 * secrets too.
 */
import { sql, type Kysely } from 'kysely';
import { StoreError } from './errors';
import { systemClock, type Clock } from './expiry';
import type { Schema } from './schema';

export type LoginParams = Record<string, string>;

/** A login bound to the browser through the LMS's platform storage (src/lti/platformStorage.ts). */
export interface StorageBinding {
  /** SHA-256 (hex) of the secret the frame put into the LMS's storage. */
  secretSha256: string;
  /** The issuer of the login: what ltijs's state cookie would have held. */
  iss: string;
  /** The frame the LMS named for its storage. */
  target: string;
  /** The LMS's origin, where the storage messages go. */
  origin: string;
}

export interface StoredLogin {
  params: LoginParams;
  /** Null for a login not bound through platform storage; `spent` once a launch has used it. */
  storage: (StorageBinding & { status: 'waiting' | 'spent' }) | null;
}

export interface LoginStore {
  /** A login initiation awaiting its cookie check, under the check's id. */
  saveCheck(id: string, params: LoginParams, ttlSeconds: number): Promise<void>;
  loadCheck(id: string): Promise<LoginParams | null>;
  /** The login behind an OIDC state (replaced if the state is saved again), bound through storage or not. */
  saveState(state: string, params: LoginParams, ttlSeconds: number, storage?: StorageBinding): Promise<void>;
  loadState(state: string): Promise<StoredLogin | null>;
  /** Marks the state's storage binding spent: true for the one call that found it waiting, false for any other. */
  spendStorage(state: string): Promise<boolean>;
}

export interface StorageSession {
  userId: string;
  platformCode: string;
  /** Milliseconds since the epoch: the launch, and the latest request honoured. */
  issuedAt: number;
  lastSeenAt: number;
}

export interface SessionStore {
  /** In one read: whether this ltik was signed out, and its live cookie-less session if it has one. */
  lookup(ltikSha256: string): Promise<{ signedOut: boolean; session: StorageSession | null }>;
  startSession(ltikSha256: string, session: Omit<StorageSession, 'lastSeenAt'>, ttlSeconds: number): Promise<void>;
  /** A request was honoured at `lastSeenAt`; the row lives until `endsAt` (ms since the epoch), never longer than it did. */
  touchSession(ltikSha256: string, lastSeenAt: number, endsAt: number): Promise<void>;
  /** Refuses the ltik from now on, for `ttlSeconds`, and ends its cookie-less session if it has one. */
  signOut(ltikSha256: string, at: number, ttlSeconds: number): Promise<void>;
}

export interface LaunchClaims {
  lti11LegacyUserId: string;
}

export interface LaunchClaimsStore {
  keep(ltikSha256: string, claims: LaunchClaims, ttlSeconds: number): Promise<void>;
  read(ltikSha256: string): Promise<LaunchClaims | null>;
}

export interface LaunchStateStore {
  logins: LoginStore;
  sessions: SessionStore;
  claims: LaunchClaimsStore;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function createLaunchStateStore(db: Kysely<Schema>, options: { clock?: Clock } = {}): LaunchStateStore {
  const clock = options.clock ?? systemClock;
  const now = () => new Date(clock());
  const expiresIn = (ttlSeconds: number) => {
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
      throw new StoreError('invalid_argument', 'A launch state TTL must be a positive number of seconds');
    return new Date(clock() + ttlSeconds * 1000);
  };
  const hashOf = (ltikSha256: string) => {
    if (!SHA256_HEX.test(ltikSha256)) throw new StoreError('invalid_argument', 'An ltik is kept only as its SHA-256 (64 hex digits)');
    return ltikSha256;
  };

  const logins: LoginStore = {
    async saveCheck(id, params, ttlSeconds) {
      const row = { id, params: JSON.stringify(params), expires_at: expiresIn(ttlSeconds) };
      await db
        .insertInto('login_check')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet({ params: row.params, expires_at: row.expires_at }))
        .execute();
    },
    async loadCheck(id) {
      const row = await db
        .selectFrom('login_check')
        .select('params')
        .where('id', '=', id)
        .where('expires_at', '>', now())
        .executeTakeFirst();
      return row && isStringRecord(row.params) ? row.params : null;
    },
    async saveState(state, params, ttlSeconds, storage) {
      const row = {
        state,
        params: JSON.stringify(params),
        storage_target: storage?.target ?? null,
        storage_origin: storage?.origin ?? null,
        storage_iss: storage?.iss ?? null,
        storage_secret_sha256: storage?.secretSha256 ?? null,
        storage_status: storage ? ('waiting' as const) : null,
        expires_at: expiresIn(ttlSeconds),
      };
      const { state: _key, ...update } = row;
      await db
        .insertInto('login_state')
        .values(row)
        .onConflict((oc) => oc.column('state').doUpdateSet(update))
        .execute();
    },
    async loadState(state) {
      const row = await db
        .selectFrom('login_state')
        .selectAll()
        .where('state', '=', state)
        .where('expires_at', '>', now())
        .executeTakeFirst();
      if (!row || !isStringRecord(row.params)) return null;
      const {
        storage_target: target,
        storage_origin: origin,
        storage_iss: iss,
        storage_secret_sha256: secretSha256,
        storage_status: status,
      } = row;
      const storage =
        target !== null && origin !== null && iss !== null && secretSha256 !== null && status !== null
          ? { target, origin, iss, secretSha256, status }
          : null;
      return { params: row.params, storage };
    },
    async spendStorage(state) {
      const spent = await db
        .updateTable('login_state')
        .set({ storage_status: 'spent' })
        .where('state', '=', state)
        .where('storage_status', '=', 'waiting')
        .where('expires_at', '>', now())
        .executeTakeFirst();
      return Number(spent.numUpdatedRows) === 1;
    },
  };

  const sessions: SessionStore = {
    async lookup(ltikSha256) {
      const hash = hashOf(ltikSha256);
      const at = now();
      const { rows } = await sql<{
        signed_out: boolean;
        user_id: string | null;
        platform_code: string | null;
        issued_at: Date | null;
        last_seen_at: Date | null;
      }>`
        SELECT EXISTS (SELECT 1 FROM signed_out_ltik WHERE ltik_sha256 = ${hash} AND expires_at > ${at}) AS signed_out,
               s.user_id, s.platform_code, s.issued_at, s.last_seen_at
        FROM (SELECT 1) AS one
        LEFT JOIN storage_session AS s ON s.ltik_sha256 = ${hash} AND s.expires_at > ${at}`.execute(db);
      const r = rows[0]!;
      const session =
        r.user_id !== null && r.platform_code !== null && r.issued_at !== null && r.last_seen_at !== null
          ? { userId: r.user_id, platformCode: r.platform_code, issuedAt: r.issued_at.getTime(), lastSeenAt: r.last_seen_at.getTime() }
          : null;
      return { signedOut: r.signed_out, session };
    },
    async startSession(ltikSha256, session, ttlSeconds) {
      const row = {
        ltik_sha256: hashOf(ltikSha256),
        user_id: session.userId,
        platform_code: session.platformCode,
        issued_at: new Date(session.issuedAt),
        last_seen_at: new Date(session.issuedAt),
        expires_at: expiresIn(ttlSeconds),
      };
      const { ltik_sha256: _key, ...update } = row;
      await db
        .insertInto('storage_session')
        .values(row)
        .onConflict((oc) => oc.column('ltik_sha256').doUpdateSet(update))
        .execute();
    },
    async touchSession(ltikSha256, lastSeenAt, endsAt) {
      await db
        .updateTable('storage_session')
        .set((eb) => ({ last_seen_at: new Date(lastSeenAt), expires_at: sql<Date>`LEAST(${eb.ref('expires_at')}, ${new Date(endsAt)})` }))
        .where('ltik_sha256', '=', hashOf(ltikSha256))
        .where('expires_at', '>', now())
        .execute();
    },
    async signOut(ltikSha256, at, ttlSeconds) {
      const hash = hashOf(ltikSha256);
      const row = { ltik_sha256: hash, signed_out_at: new Date(at), expires_at: expiresIn(ttlSeconds) };
      await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('signed_out_ltik')
          .values(row)
          .onConflict((oc) => oc.column('ltik_sha256').doUpdateSet({ signed_out_at: row.signed_out_at, expires_at: row.expires_at }))
          .execute();
        await tx.deleteFrom('storage_session').where('ltik_sha256', '=', hash).execute();
      });
    },
  };

  const claims: LaunchClaimsStore = {
    async keep(ltikSha256, kept, ttlSeconds) {
      const row = { ltik_sha256: hashOf(ltikSha256), lti11_legacy_user_id: kept.lti11LegacyUserId, expires_at: expiresIn(ttlSeconds) };
      await db
        .insertInto('launch_claims')
        .values(row)
        .onConflict((oc) =>
          oc.column('ltik_sha256').doUpdateSet({ lti11_legacy_user_id: row.lti11_legacy_user_id, expires_at: row.expires_at }),
        )
        .execute();
    },
    async read(ltikSha256) {
      const row = await db
        .selectFrom('launch_claims')
        .select('lti11_legacy_user_id')
        .where('ltik_sha256', '=', hashOf(ltikSha256))
        .where('expires_at', '>', now())
        .executeTakeFirst();
      return row ? { lti11LegacyUserId: row.lti11_legacy_user_id } : null;
    },
  };

  return { logins, sessions, claims };
}

function isStringRecord(v: unknown): v is LoginParams {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/**
 * ltijs's Database plugin interface, on PostgreSQL, through the application's one pool.
 *
 * Semantics follow ltijs's own MongoDB plugin (node_modules/ltijs/dist/Utils/Database.js): Get
 * answers `false` when nothing matches, else an array of plain documents; the collections ltijs
 * encrypts (privatekey, publickey, accesstoken) are stored as aes-256-cbc `iv`/`data` with the
 * fields ltijs queries by in clear; Encrypt/Decrypt are byte-compatible with ltijs's.
 *
 * Where we are stricter than Mongo, on purpose:
 * - Replace is ONE `INSERT … ON CONFLICT … DO UPDATE`. ltijs stores the id token and context
 *   token with Replace on every launch and reads them back on the next request; a
 *   delete-then-insert (ltijs-sequelize) leaves a window in which a concurrent launch of the same
 *   user reads nothing and fails with 401 IDTOKEN_NOT_FOUND_DB.
 * - A nonce can be stored once while it lives: ltijs checks Get-then-Insert, so two concurrent
 *   replays could both pass the Get; the second Insert now fails with NONCE_ALREADY_RECEIVED,
 *   which ltijs reports as an invalid token.
 * - A query naming a field the collection does not have is an error, not a full-table match.
 * - Expired rows are invisible to Get/Modify at once; the sweeper (./expiry) deletes them.
 */
import crypto from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Store, StoreLogger } from './db';
import { PG_UNIQUE_VIOLATION, StoreError, databaseUnavailable, isDatabaseUnavailable, pgErrorCode } from './errors';
import { resolveTtls, startSweeper, sweepExpired, systemClock, type Clock, type LtiTtls, type SweepResult } from './expiry';
import { COLLECTIONS, isLtiCollection, type CollectionSpec, type FieldSpec } from './ltijsCollections';
import type { Schema } from './schema';

/** A document as ltijs passes it in and reads it back. */
export type LtiDocument = Record<string, unknown>;
/** ltijs passes its ENCRYPTIONKEY, or `false` for collections it does not encrypt. */
export type EncryptionKey = string | false | null | undefined;

export interface PostgresLtiDatabaseOptions {
  /** Override expiry per collection, in seconds (defaults: DEFAULT_LTI_TTLS). */
  ttlSeconds?: Partial<LtiTtls>;
  /** Time source for created_at and expiry checks; tests move it instead of sleeping. */
  clock?: Clock;
}

type Row = Record<string, unknown>;

export class PostgresLtiDatabase {
  readonly ttls: LtiTtls;
  readonly #db: Kysely<Schema>;
  readonly #clock: Clock;
  #deployed = false;

  /** Takes the application's Store; it never ends the shared pool. */
  constructor(store: Pick<Store, 'db'>, options: PostgresLtiDatabaseOptions = {}) {
    this.#db = store.db;
    this.ttls = resolveTtls(options.ttlSeconds);
    this.#clock = options.clock ?? systemClock;
    // ltijs turns any error while it reads a session into "invalid token" (401, relaunch) and keeps
    // only the message: an outage must say so in the message, so the tool can answer 503 instead.
    //
    // The login state is the exception. ltijs reads it again in the catch block of its launch
    // validation, and deletes it without awaiting; both only tidy up. While the database is away,
    // throwing there escapes Express as an unhandled rejection: no answer ever reaches the browser,
    // and Node ends the process. So for that collection an outage reads as "no state" and a
    // deletion that did not happen (the row expires and is swept): ltijs then reports the error
    // that brought it there.
    const tidyUp = { Get: false, Delete: true } as const;
    for (const method of ['Get', 'Insert', 'Replace', 'Modify', 'Delete'] as const) {
      const original = (this[method] as (...args: unknown[]) => Promise<unknown>).bind(this);
      (this as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        try {
          return await original(...args);
        } catch (err) {
          if (!isDatabaseUnavailable(err)) throw err;
          const collection = method === 'Delete' ? args[0] : args[1];
          if (collection === 'state' && (method === 'Get' || method === 'Delete')) return tidyUp[method];
          throw err instanceof StoreError ? err : databaseUnavailable(err);
        }
      };
    }
  }

  /** Called by ltijs's deploy(). Checks the pool works and the migrations have run. */
  async setup(): Promise<true> {
    const { rows } = await sql<{ missing: number }>`
      SELECT count(*)::int AS missing
      FROM unnest(${Object.values(COLLECTIONS).map((c) => c.table)}::text[]) AS t(name)
      WHERE to_regclass(t.name) IS NULL`.execute(this.#db);
    if ((rows[0]?.missing ?? 1) > 0) {
      throw new StoreError('store_not_migrated', 'The ltijs tables do not exist: run migrateToLatest() before deploying ltijs');
    }
    this.#deployed = true;
    return true;
  }

  /** Called by ltijs's close(). The pool belongs to the application, which ends it. */
  async Close(): Promise<true> {
    this.#deployed = false;
    return true;
  }

  async Get(ENCRYPTIONKEY: EncryptionKey, collection: string, query?: LtiDocument | null): Promise<LtiDocument[] | false> {
    const spec = this.#spec(collection);
    if (ENCRYPTIONKEY && spec.storage !== 'encrypted') {
      throw new StoreError('not_encrypted_collection', `ltijs does not encrypt the ${spec.name} collection`);
    }
    const { rows } = await sql<Row>`
      SELECT * FROM ${sql.table(spec.table)}
      WHERE ${this.#where(spec, query ?? {})}
      ORDER BY created_at`.execute(this.#db);
    if (rows.length === 0) return false;
    const out: LtiDocument[] = [];
    for (const row of rows) out.push(await this.#toDocument(spec, row, ENCRYPTIONKEY || undefined));
    return out;
  }

  async Insert(ENCRYPTIONKEY: EncryptionKey, collection: string, item: LtiDocument, index?: LtiDocument): Promise<true> {
    this.#assertDeployed();
    if (!collection || !item || (ENCRYPTIONKEY && !index))
      throw new StoreError('missing_params', 'Insert needs a collection, an item, and an index for encrypted collections');
    const spec = this.#spec(collection);
    const row = await this.#toRow(spec, ENCRYPTIONKEY, item, index, {});
    const insert = sql`INSERT INTO ${sql.table(spec.table)} (${sql.join(row.columns.map((c) => sql.ref(c)))}) VALUES (${sql.join(row.values)})`;
    let statement: RawBuilder<Row>;
    if (spec.ttl) {
      // An expired row that the sweeper has not reached yet must not block a new one; a live one must.
      const key = spec.uniqueKeys[0]!.map((f) => sql.ref(spec.fields[f]!.column));
      const updates = row.columns.map((c) => sql`${sql.ref(c)} = EXCLUDED.${sql.ref(c)}`);
      statement = sql<Row>`${insert} ON CONFLICT (${sql.join(key)}) DO UPDATE SET ${sql.join(updates)}
        WHERE ${sql.table(spec.table)}.created_at <= ${this.#cutoff(spec)} RETURNING 1 AS ok`;
    } else {
      statement = sql<Row>`${insert} ON CONFLICT DO NOTHING RETURNING 1 AS ok`;
    }
    const { rows } = await statement.execute(this.#db);
    if (rows.length === 0) {
      if (spec.name === 'nonce')
        // The same message ltijs's own check throws, so its error page says the same thing.
        throw new StoreError('nonce_already_received', 'NONCE_ALREADY_RECEIVED');
      throw new StoreError('duplicate_key', `A ${spec.name} with this key already exists`);
    }
    return true;
  }

  async Replace(
    ENCRYPTIONKEY: EncryptionKey,
    collection: string,
    query: LtiDocument,
    item: LtiDocument,
    index?: LtiDocument,
  ): Promise<true> {
    this.#assertDeployed();
    if (!collection || !item || (ENCRYPTIONKEY && !index))
      throw new StoreError('missing_params', 'Replace needs a collection, an item, and an index for encrypted collections');
    const spec = this.#spec(collection);
    const queryFields = Object.keys(query ?? {}).sort();
    for (const f of queryFields) this.#field(spec, f);
    const key = spec.uniqueKeys.find((k) => k.length === queryFields.length && [...k].sort().every((f, i) => f === queryFields[i]));
    if (!key) {
      throw new StoreError(
        'replace_needs_unique_key',
        `Replace on ${spec.name} must query by exactly one unique key (${spec.uniqueKeys.map((k) => k.join('+')).join(' or ')})`,
      );
    }
    const row = await this.#toRow(spec, ENCRYPTIONKEY, item, index, query);
    const keyColumns = new Set(key.map((f) => spec.fields[f]!.column));
    const updates = row.columns.filter((c) => !keyColumns.has(c)).map((c) => sql`${sql.ref(c)} = EXCLUDED.${sql.ref(c)}`);
    try {
      await sql`INSERT INTO ${sql.table(spec.table)} (${sql.join(row.columns.map((c) => sql.ref(c)))}) VALUES (${sql.join(row.values)})
        ON CONFLICT (${sql.join([...keyColumns].map((c) => sql.ref(c)))}) DO UPDATE SET ${sql.join(updates)}`.execute(this.#db);
    } catch (err) {
      throw translateUnique(err, spec);
    }
    return true;
  }

  async Modify(ENCRYPTIONKEY: EncryptionKey, collection: string, query: LtiDocument, modification: LtiDocument): Promise<true> {
    this.#assertDeployed();
    if (!collection || !query || !modification)
      throw new StoreError('missing_params', 'Modify needs a collection, a query and a modification');
    const spec = this.#spec(collection);
    const where = this.#where(spec, query);
    const mod = definedEntries(modification);
    if (mod.length === 0) return true;

    if (ENCRYPTIONKEY) {
      if (spec.storage !== 'encrypted')
        throw new StoreError('not_encrypted_collection', `ltijs does not encrypt the ${spec.name} collection`);
      // Read-modify-write of an encrypted document: lock the rows so two writers cannot lose an update.
      await this.#db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ ctid: string; iv: string; data: string }>`
          SELECT ctid::text AS ctid, iv, data FROM ${sql.table(spec.table)} WHERE ${where} FOR UPDATE`.execute(trx);
        for (const r of rows) {
          const doc = JSON.parse(await this.Decrypt(r.data, r.iv, ENCRYPTIONKEY)) as LtiDocument;
          // Mongo's plugin applied only the first field of the modification; we apply them all.
          for (const [k, v] of mod) doc[k] = v;
          const enc = await this.Encrypt(JSON.stringify(doc), ENCRYPTIONKEY);
          await sql`UPDATE ${sql.table(spec.table)} SET iv = ${enc.iv}, data = ${enc.data} WHERE ctid = ${r.ctid}::tid`.execute(trx);
        }
      });
      return true;
    }

    const sets: RawBuilder<unknown>[] = [];
    const docPatch: LtiDocument = {};
    for (const [name, value] of mod) {
      const field = spec.fields[name];
      if (field) sets.push(sql`${sql.ref(field.column)} = ${checkValue(spec, name, field, value, true)}`);
      else if (spec.storage === 'doc') docPatch[name] = value;
      else throw unknownField(spec, name);
    }
    // Top-level keys replace the stored ones, as Mongo's $set does.
    if (Object.keys(docPatch).length > 0) sets.push(sql`doc = doc || ${JSON.stringify(docPatch)}::jsonb`);
    try {
      await sql`UPDATE ${sql.table(spec.table)} SET ${sql.join(sets)} WHERE ${where}`.execute(this.#db);
    } catch (err) {
      throw translateUnique(err, spec);
    }
    return true;
  }

  async Delete(collection: string, query: LtiDocument): Promise<true> {
    this.#assertDeployed();
    if (!collection || !query) throw new StoreError('missing_params', 'Delete needs a collection and a query');
    const spec = this.#spec(collection);
    // Mongo would delete everything for {}; ltijs never asks that, and a bug that did would wipe keys.
    if (Object.keys(query).length === 0) throw new StoreError('empty_query', `Refusing to delete every ${spec.name}`);
    // Expired rows go too (no TTL condition): deleting is what the sweeper would do anyway.
    await sql`DELETE FROM ${sql.table(spec.table)} WHERE ${this.#where(spec, query, false)}`.execute(this.#db);
    return true;
  }

  /** ltijs's scheme: aes-256-cbc, key = sha256(secret), random 16-byte iv, both hex. */
  async Encrypt(data: string, secret: string): Promise<{ iv: string; data: string }> {
    const key = crypto.createHash('sha256').update(secret).digest();
    const iv = crypto.randomBytes(16);
    const cipher = crypto.createCipheriv('aes-256-cbc', key, iv);
    const encrypted = Buffer.concat([cipher.update(data), cipher.final()]);
    return { iv: iv.toString('hex'), data: encrypted.toString('hex') };
  }

  async Decrypt(data: string, iv: string, secret: string): Promise<string> {
    const key = crypto.createHash('sha256').update(secret).digest();
    const decipher = crypto.createDecipheriv('aes-256-cbc', key, Buffer.from(iv, 'hex'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'hex')), decipher.final()]).toString();
  }

  /** Deletes the expired ltijs rows (and expired cache entries) now, with this plugin's TTLs. */
  sweepExpired(): Promise<SweepResult> {
    return sweepExpired(this.#db, { ttls: this.ttls, clock: this.#clock });
  }

  /** Sweeps every `intervalMs`; returns a function that stops the sweeper. */
  startSweeper(intervalMs: number, logger?: StoreLogger): () => Promise<void> {
    return startSweeper(this.#db, { intervalMs, ttls: this.ttls, clock: this.#clock, logger });
  }

  // -------------------------------------------------------------------------------------------

  #assertDeployed(): void {
    if (!this.#deployed) throw new StoreError('provider_not_deployed', 'The ltijs database plugin is used before setup() or after Close()');
  }

  #spec(collection: string): CollectionSpec {
    this.#assertDeployed();
    if (!collection) throw new StoreError('missing_collection', 'No collection given');
    if (!isLtiCollection(collection))
      throw new StoreError('unknown_collection', `ltijs has no collection named ${JSON.stringify(String(collection)).slice(0, 60)}`);
    return COLLECTIONS[collection];
  }

  #field(spec: CollectionSpec, name: string): FieldSpec {
    const field = Object.prototype.hasOwnProperty.call(spec.fields, name) ? spec.fields[name] : undefined;
    if (!field) throw unknownField(spec, name);
    return field;
  }

  #cutoff(spec: CollectionSpec): Date {
    return new Date(this.#clock() - this.ttls[spec.ttl!] * 1000);
  }

  /** Equality on real columns only; null/undefined match nothing stored (every key is NOT NULL). */
  #where(spec: CollectionSpec, query: LtiDocument, liveOnly = true): RawBuilder<unknown> {
    if (typeof query !== 'object' || Array.isArray(query)) throw new StoreError('unsupported_query_value', 'A query must be an object');
    const conditions: RawBuilder<unknown>[] = [sql`TRUE`];
    for (const [name, value] of Object.entries(query)) {
      const field = this.#field(spec, name);
      if (value === undefined || value === null) conditions.push(sql`${sql.ref(field.column)} IS NULL`);
      else conditions.push(sql`${sql.ref(field.column)} = ${checkValue(spec, name, field, value, false)}`);
    }
    if (liveOnly && spec.ttl) conditions.push(sql`created_at > ${this.#cutoff(spec)}`);
    return sql.join(conditions, sql` AND `);
  }

  /** The columns and values of one row, from what ltijs passes to Insert/Replace. */
  async #toRow(
    spec: CollectionSpec,
    ENCRYPTIONKEY: EncryptionKey,
    item: LtiDocument,
    index: LtiDocument | undefined,
    query: LtiDocument,
  ): Promise<{ columns: string[]; values: RawBuilder<unknown>[] }> {
    const keyValues: Record<string, unknown> = {};
    const doc: LtiDocument = {};
    let encrypted: { iv: string; data: string } | undefined;
    if (spec.storage === 'encrypted') {
      if (!ENCRYPTIONKEY) throw new StoreError('encryption_key_required', `ltijs stores ${spec.name} encrypted; no key was given`);
      for (const [k, v] of definedEntries(index ?? {})) {
        this.#field(spec, k);
        keyValues[k] = v;
      }
      encrypted = await this.Encrypt(JSON.stringify(item), ENCRYPTIONKEY);
    } else {
      if (ENCRYPTIONKEY) throw new StoreError('not_encrypted_collection', `ltijs does not encrypt the ${spec.name} collection`);
      for (const [k, v] of definedEntries(item)) {
        if (Object.prototype.hasOwnProperty.call(spec.fields, k)) keyValues[k] = v;
        else if (spec.storage === 'doc') doc[k] = v;
        else throw unknownField(spec, k);
      }
    }
    // Like Mongo's upsert, the query's equality fields fill what the item leaves out.
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null) continue;
      if (k in keyValues && keyValues[k] !== v)
        throw new StoreError('replace_key_mismatch', `Replace on ${spec.name}: the item's ${k} differs from the query's`);
      keyValues[k] = v;
    }
    const columns: string[] = [];
    const values: RawBuilder<unknown>[] = [];
    for (const [name, field] of Object.entries(spec.fields)) {
      let value = keyValues[name];
      if (value === undefined || value === null) {
        // Mongo's schema default for platformStatus.active; a replacement resets it too.
        if (field.type === 'boolean') value = false;
        else throw new StoreError('missing_field', `A ${spec.name} needs ${name}`);
      }
      columns.push(field.column);
      values.push(sql`${checkValue(spec, name, field, value, true)}`);
    }
    if (spec.storage === 'doc') {
      columns.push('doc');
      values.push(sql`${JSON.stringify(doc)}::jsonb`);
    }
    if (encrypted) {
      columns.push('iv', 'data');
      values.push(sql`${encrypted.iv}`, sql`${encrypted.data}`);
    }
    columns.push('created_at');
    values.push(sql`${new Date(this.#clock())}`);
    return { columns, values };
  }

  async #toDocument(spec: CollectionSpec, row: Row, ENCRYPTIONKEY: string | undefined): Promise<LtiDocument> {
    const createdAt = row.created_at as Date;
    if (spec.storage === 'encrypted' && ENCRYPTIONKEY) {
      const doc = JSON.parse(await this.Decrypt(String(row.data), String(row.iv), ENCRYPTIONKEY)) as LtiDocument;
      // As ltijs's plugin: milliseconds, which Platform.platformAccessToken subtracts from Date.now().
      if (spec.ttl) doc.createdAt = createdAt.getTime();
      return doc;
    }
    const doc: LtiDocument = spec.storage === 'doc' ? { ...(row.doc as LtiDocument) } : {};
    for (const [name, field] of Object.entries(spec.fields)) doc[name] = row[field.column];
    if (spec.storage === 'encrypted') {
      doc.iv = row.iv;
      doc.data = row.data;
    }
    if (spec.ttl) doc.createdAt = createdAt;
    return doc;
  }
}

function definedEntries(obj: LtiDocument): [string, unknown][] {
  return Object.entries(obj).filter(([, v]) => v !== undefined);
}

function unknownField(spec: CollectionSpec, name: string): StoreError {
  return new StoreError(
    'unknown_field',
    `The ${spec.name} collection has no field ${JSON.stringify(name).slice(0, 60)} that can be used here`,
  );
}

function checkValue(spec: CollectionSpec, name: string, field: FieldSpec, value: unknown, writing: boolean): string | boolean {
  if (field.type === 'boolean' && typeof value === 'boolean') return value;
  if (field.type === 'text' && typeof value === 'string') return value;
  throw new StoreError(
    'unsupported_query_value',
    `${spec.name}.${name} ${writing ? 'must be' : 'can only be compared with'} a ${field.type === 'text' ? 'string' : 'boolean'}`,
  );
}

function translateUnique(err: unknown, spec: CollectionSpec): unknown {
  if (pgErrorCode(err) === PG_UNIQUE_VIOLATION)
    return new StoreError('duplicate_key', `A ${spec.name} with this key already exists`, { cause: err });
  return err;
}

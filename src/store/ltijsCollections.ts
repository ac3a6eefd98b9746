/**
 * How each ltijs collection maps onto its table: the columns ltijs queries by, and where the rest of
 * a document is kept.
 *
 * The `fields` are the ones ltijs queries by (see every `Database.Get/Replace/Modify/Delete` call in
 * node_modules/ltijs/dist): each is a real column, and nothing else may appear in a query. The rest of
 * a document is kept in `doc` (jsonb), or, for the collections ltijs encrypts, as its hex `iv` and
 * `data`.
 */
import type { LtiTtls } from './expiry';
import type { Schema } from './schema';

export type LtiCollection =
  'idtoken' | 'contexttoken' | 'platform' | 'platformStatus' | 'privatekey' | 'publickey' | 'accesstoken' | 'nonce' | 'state';

export interface FieldSpec {
  column: string;
  type: 'text' | 'boolean';
}

export interface CollectionSpec {
  name: LtiCollection;
  table: keyof Schema;
  fields: Readonly<Record<string, FieldSpec>>;
  /** Unique indexes, as field names. Replace's query must be exactly one of them. */
  uniqueKeys: readonly (readonly string[])[];
  /** doc: fields + jsonb document; columns: fields only; encrypted: fields + iv/data. */
  storage: 'doc' | 'columns' | 'encrypted';
  /** Rows expire (ltijs's Mongo schema had a TTL and a `createdAt` it returns). */
  ttl?: keyof LtiTtls;
}

const text = (column: string): FieldSpec => ({ column, type: 'text' });

const keyFields = { kid: text('kid'), platformUrl: text('platform_url'), clientId: text('client_id') };

export const COLLECTIONS: Readonly<Record<LtiCollection, CollectionSpec>> = {
  idtoken: {
    name: 'idtoken',
    table: 'lti_idtoken',
    fields: { iss: text('iss'), clientId: text('client_id'), deploymentId: text('deployment_id'), user: text('user_id') },
    uniqueKeys: [['iss', 'clientId', 'deploymentId', 'user']],
    storage: 'doc',
    ttl: 'idtoken',
  },
  contexttoken: {
    name: 'contexttoken',
    table: 'lti_contexttoken',
    fields: { contextId: text('context_id'), user: text('user_id') },
    uniqueKeys: [['contextId', 'user']],
    storage: 'doc',
    ttl: 'contexttoken',
  },
  platform: {
    name: 'platform',
    table: 'lti_platform',
    fields: { platformUrl: text('platform_url'), clientId: text('client_id'), kid: text('kid') },
    uniqueKeys: [['platformUrl', 'clientId'], ['kid']],
    storage: 'doc',
  },
  platformStatus: {
    name: 'platformStatus',
    table: 'lti_platform_status',
    fields: { id: text('id'), active: { column: 'active', type: 'boolean' } },
    uniqueKeys: [['id']],
    storage: 'columns',
  },
  privatekey: {
    name: 'privatekey',
    table: 'lti_privatekey',
    fields: keyFields,
    uniqueKeys: [['kid'], ['platformUrl', 'clientId']],
    storage: 'encrypted',
  },
  publickey: {
    name: 'publickey',
    table: 'lti_publickey',
    fields: keyFields,
    uniqueKeys: [['kid'], ['platformUrl', 'clientId']],
    storage: 'encrypted',
  },
  accesstoken: {
    name: 'accesstoken',
    table: 'lti_accesstoken',
    fields: { platformUrl: text('platform_url'), clientId: text('client_id'), scopes: text('scopes') },
    uniqueKeys: [['platformUrl', 'clientId', 'scopes']],
    storage: 'encrypted',
    ttl: 'accesstoken',
  },
  nonce: {
    name: 'nonce',
    table: 'lti_nonce',
    fields: { nonce: text('nonce') },
    uniqueKeys: [['nonce']],
    storage: 'columns',
    ttl: 'nonce',
  },
  state: {
    name: 'state',
    table: 'lti_state',
    fields: { state: text('state') },
    uniqueKeys: [['state']],
    storage: 'doc',
    ttl: 'state',
  },
};

export function isLtiCollection(name: unknown): name is LtiCollection {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(COLLECTIONS, name);
}

/**
 * The isnotai API client (undici). One instance per platform/deployment key; cheap to create,
 * because connections live in a shared per-origin pool (pools.ts).
 *
 * Guarantees: every 2xx body is validated (schemas.ts) before it is returned; every failure is a
 * typed error (errors.ts); idempotent GETs are retried with jittered backoff on network errors,
 * timeouts, 429, 502, 503 and 504 only (retry.ts); path parameters cannot leave their segment;
 * the API key is sent only in the Authorization header and never logged.
 */
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import {
  IsnotaiAbortError,
  IsnotaiApiError,
  IsnotaiArgumentError,
  IsnotaiConfigError,
  IsnotaiNetworkError,
  IsnotaiResponseError,
  IsnotaiTimeoutError,
  isRetryable,
} from './errors';
import { collect, paginate, type PageCaps } from './pagination';
import { defaultDispatcherCache, type DispatcherCache } from './pools';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfter, sleep, type RetryPolicy } from './retry';
import { describeIssues, errorEnvelopeSchema, eventPageSchema, sessionDetailsResponseSchema, sessionPageSchema } from './schemas';
import type { IsnotaiEvent, IsnotaiSession, Page, SessionDetails } from './types';

/** pino-compatible subset. */
export interface IsnotaiLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface IsnotaiClientConfig {
  /** e.g. ISNOTAI_REGIONS.us, or the simulator's url. A path prefix is kept. */
  baseUrl: string;
  /** `aik_v1_…`, per platform or deployment. */
  apiKey: string;
  /** TCP/TLS connect timeout (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Whole request, headers and body, per attempt (default 10000 ms). */
  requestTimeoutMs?: number;
  /** Extra attempts after the first (default 3). */
  retries?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Longest Retry-After we are willing to sleep for (default 10000 ms); longer → the 429 surfaces. */
  maxRetryAfterMs?: number;
  logger?: IsnotaiLogger;
  /** Defaults to the process-wide cache; tests may pass their own. */
  dispatcherCache?: DispatcherCache;
  /** Sockets per origin (default 32). */
  maxConnections?: number;
  /** Source of jitter (tests may pin it). */
  random?: () => number;
}

export interface CallOptions {
  /** Cancels the call (and its retries); surfaces as IsnotaiAbortError. */
  signal?: AbortSignal;
}

export interface ListSessionsParams {
  pageSize?: number;
  cursor?: string;
  status?: string;
  botOnly?: boolean;
  /** Inclusive lower bound on createdAt. */
  startDate?: string | Date;
  /** Inclusive upper bound on createdAt. */
  endDate?: string | Date;
}

export interface ListUserSessionsParams {
  pageSize?: number;
  cursor?: string;
}

export interface ListEventsParams {
  pageSize?: number;
  cursor?: string;
  /** Decimal (1), hex ('0x01') or short name ('mouse_move'); passed through as given. */
  type?: string | number;
  /** Unix ms, inclusive. */
  startTime?: number;
  /** Unix ms, inclusive. */
  endTime?: number;
}

export interface IsnotaiClient {
  readonly baseUrl: string;
  listSessions(params?: ListSessionsParams, options?: CallOptions): Promise<Page<IsnotaiSession>>;
  listUserSessions(userId: string, params?: ListUserSessionsParams, options?: CallOptions): Promise<Page<IsnotaiSession>>;
  listEvents(sessionId: string, params?: ListEventsParams, options?: CallOptions): Promise<Page<IsnotaiEvent>>;
  getSessionDetails(sessionId: string, options?: CallOptions): Promise<SessionDetails>;
  iterateSessions(
    params?: Omit<ListSessionsParams, 'cursor'> & { cursor?: string },
    caps?: PageCaps & CallOptions,
  ): AsyncGenerator<IsnotaiSession, void, undefined>;
  iterateUserSessions(
    userId: string,
    params?: ListUserSessionsParams,
    caps?: PageCaps & CallOptions,
  ): AsyncGenerator<IsnotaiSession, void, undefined>;
  iterateEvents(sessionId: string, params?: ListEventsParams, caps?: PageCaps & CallOptions): AsyncGenerator<IsnotaiEvent, void, undefined>;
  /** Every session of one LMS user (following all pages, within caps). */
  allUserSessions(userId: string, caps?: PageCaps & CallOptions & { pageSize?: number }): Promise<IsnotaiSession[]>;
}

export const ENDPOINTS = {
  listSessions: 'GET /v1/sessions',
  listUserSessions: 'GET /v1/users/{userId}/sessions',
  listEvents: 'GET /v1/sessions/{sessionId}/events',
  sessionDetails: 'GET /v1/sessions/{sessionId}/details',
} as const;

/** A 2xx body larger than this is treated as an upstream fault rather than buffered forever. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

type Query = Record<string, string | undefined>;

interface Resolved {
  origin: string;
  prefix: string;
  apiKey: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  policy: RetryPolicy;
  logger: IsnotaiLogger | undefined;
  cache: DispatcherCache;
  maxConnections: number | undefined;
  random: () => number;
}

function positiveInt(option: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new IsnotaiConfigError(option, `must be an integer ≥ ${min}, got ${String(value)}`);
  return value;
}

function resolveConfig(config: IsnotaiClientConfig): Resolved {
  if (typeof config.baseUrl !== 'string' || config.baseUrl === '') throw new IsnotaiConfigError('baseUrl', 'is required');
  let url: URL;
  try {
    url = new URL(config.baseUrl);
  } catch {
    throw new IsnotaiConfigError('baseUrl', `is not a URL: ${JSON.stringify(config.baseUrl)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new IsnotaiConfigError('baseUrl', `must be http(s), got ${url.protocol}`);
  if (url.search || url.hash || url.username || url.password)
    throw new IsnotaiConfigError('baseUrl', 'must not carry a query, fragment or credentials');
  // The key is a header token: reject values that would break or smuggle headers.
  if (typeof config.apiKey !== 'string' || config.apiKey.trim() === '') throw new IsnotaiConfigError('apiKey', 'is required');
  if (!/^[\x21-\x7e]+$/.test(config.apiKey)) throw new IsnotaiConfigError('apiKey', 'must be printable ASCII without spaces');
  return {
    origin: url.origin,
    prefix: url.pathname.replace(/\/+$/, ''),
    apiKey: config.apiKey,
    connectTimeoutMs: positiveInt('connectTimeoutMs', config.connectTimeoutMs, 3000),
    requestTimeoutMs: positiveInt('requestTimeoutMs', config.requestTimeoutMs, 10_000),
    policy: {
      retries: positiveInt('retries', config.retries, DEFAULT_RETRY_POLICY.retries, 0),
      baseDelayMs: positiveInt('retryBaseDelayMs', config.retryBaseDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs, 0),
      maxDelayMs: positiveInt('retryMaxDelayMs', config.retryMaxDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, 0),
      maxRetryAfterMs: positiveInt('maxRetryAfterMs', config.maxRetryAfterMs, DEFAULT_RETRY_POLICY.maxRetryAfterMs, 0),
    },
    logger: config.logger,
    cache: config.dispatcherCache ?? defaultDispatcherCache,
    maxConnections: config.maxConnections,
    random: config.random ?? Math.random,
  };
}

/**
 * Encodes one path parameter. encodeURIComponent turns `/ ? #` into escapes, so the value stays
 * in its segment; the dot segments `.` and `..` are unchanged by it and would be resolved by
 * proxies, so they are refused outright, as is the empty string.
 */
export function pathSegment(name: string, value: string): string {
  if (typeof value !== 'string') throw new IsnotaiArgumentError(name, `must be a string, got ${typeof value}`);
  if (value === '') throw new IsnotaiArgumentError(name, 'must not be empty');
  if (value === '.' || value === '..') throw new IsnotaiArgumentError(name, `must not be "${value}"`);
  return encodeURIComponent(value);
}

function isoParam(name: string, value: string | Date | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new IsnotaiArgumentError(name, 'is an invalid Date');
    return value.toISOString();
  }
  return value;
}

function numParam(value: number | string | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function readText(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      throw Object.assign(new Error(`response body exceeds ${MAX_BODY_BYTES} bytes`), { code: 'body_too_large' });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createIsnotaiClient(config: IsnotaiClientConfig): IsnotaiClient {
  const cfg = resolveConfig(config);

  /** One attempt: transport only. Throws network/timeout/abort errors; returns any status. */
  async function attemptOnce(endpoint: string, path: string, signal: AbortSignal | undefined): Promise<RawResponse> {
    // An 'abort' listener never fires for a signal that is already aborted (a page past its deadline).
    if (signal?.aborted) throw new IsnotaiAbortError(endpoint, signal.reason);
    const pool = cfg.cache.get(cfg.origin, { connectTimeoutMs: cfg.connectTimeoutMs, connections: cfg.maxConnections });
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('request timeout'));
    }, cfg.requestTimeoutMs);
    const onCallerAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const res = await pool.request({
        method: 'GET',
        path,
        headers: { authorization: `Bearer ${cfg.apiKey}`, accept: 'application/json', 'user-agent': 'isnotai-lti' },
        signal: controller.signal,
        headersTimeout: cfg.requestTimeoutMs,
        bodyTimeout: cfg.requestTimeoutMs,
      });
      const text = await readText(res.body);
      return { status: res.statusCode, headers: res.headers, text };
    } catch (error) {
      if (signal?.aborted) throw new IsnotaiAbortError(endpoint, error);
      if (timedOut) throw new IsnotaiTimeoutError(endpoint, path, 'request', cfg.requestTimeoutMs, error);
      const code = (error as { code?: string } | null)?.code;
      if (code === 'UND_ERR_CONNECT_TIMEOUT') throw new IsnotaiTimeoutError(endpoint, path, 'connect', cfg.connectTimeoutMs, error);
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
        throw new IsnotaiTimeoutError(endpoint, path, 'request', cfg.requestTimeoutMs, error);
      throw new IsnotaiNetworkError(endpoint, path, error);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  function interpret<S extends z.ZodType>(endpoint: string, path: string, raw: RawResponse, schema: S): z.output<S> {
    let json: unknown;
    let parsed = true;
    try {
      json = raw.text === '' ? undefined : JSON.parse(raw.text);
    } catch {
      parsed = false;
    }
    if (raw.status >= 200 && raw.status < 300) {
      if (!parsed) throw new IsnotaiResponseError(endpoint, path, raw.status, ['(body): not valid JSON']);
      const result = schema.safeParse(json);
      if (!result.success) throw new IsnotaiResponseError(endpoint, path, raw.status, describeIssues(result.error));
      return result.data;
    }
    const retryAfterMs = parseRetryAfter(raw.headers['retry-after']);
    const envelope = parsed ? errorEnvelopeSchema.safeParse(json) : undefined;
    if (envelope?.success) {
      const e = envelope.data.error;
      throw new IsnotaiApiError({ status: raw.status, code: e.code, message: e.message, details: e.details, endpoint, path, retryAfterMs });
    }
    // Not the documented envelope (e.g. an HTML page from a proxy): keep the status, say so.
    throw new IsnotaiApiError({
      status: raw.status,
      code: `http_${raw.status}`,
      message: `HTTP ${raw.status} without the documented error envelope`,
      details: { bodyStart: raw.text.slice(0, 200) },
      endpoint,
      path,
      retryAfterMs,
    });
  }

  async function get<S extends z.ZodType>(
    endpoint: string,
    route: string,
    query: Query,
    schema: S,
    options: CallOptions = {},
  ): Promise<z.output<S>> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, v);
    const path = cfg.prefix + route + (qs.size ? `?${qs.toString()}` : '');
    const maxAttempts = cfg.policy.retries + 1;
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      try {
        const raw = await attemptOnce(endpoint, path, options.signal);
        cfg.logger?.debug({ endpoint, status: raw.status, durationMs: Date.now() - started, attempt }, 'isnotai response');
        return interpret(endpoint, path, raw, schema);
      } catch (error) {
        const status = error instanceof IsnotaiApiError ? error.status : undefined;
        const code = (error as { code?: string }).code;
        if (error instanceof IsnotaiApiError || error instanceof IsnotaiNetworkError || error instanceof IsnotaiTimeoutError)
          error.attempts = attempt;
        if (!isRetryable(error) || attempt >= maxAttempts || options.signal?.aborted) {
          cfg.logger?.warn({ endpoint, status, code, durationMs: Date.now() - started, attempt }, 'isnotai request failed');
          throw error;
        }
        let delayMs = backoffDelayMs(attempt, cfg.policy, cfg.random);
        const retryAfterMs = error instanceof IsnotaiApiError ? error.retryAfterMs : undefined;
        if (retryAfterMs !== undefined) {
          // The server said when; waiting less would only earn another 429.
          if (retryAfterMs > cfg.policy.maxRetryAfterMs) {
            cfg.logger?.warn({ endpoint, status, code, retryAfterMs, attempt }, 'isnotai Retry-After too long; not retrying');
            throw error;
          }
          delayMs = Math.max(delayMs, retryAfterMs);
        }
        cfg.logger?.info({ endpoint, status, code, durationMs: Date.now() - started, attempt, delayMs }, 'isnotai retrying');
        try {
          await sleep(delayMs, options.signal);
        } catch (abortReason) {
          throw new IsnotaiAbortError(endpoint, abortReason);
        }
      }
    }
  }

  const client: IsnotaiClient = {
    baseUrl: cfg.origin + cfg.prefix,

    async listSessions(params = {}, options) {
      const query: Query = {
        pageSize: numParam(params.pageSize),
        cursor: params.cursor,
        status: params.status,
        botOnly: params.botOnly === undefined ? undefined : String(params.botOnly),
        startDate: isoParam('startDate', params.startDate),
        endDate: isoParam('endDate', params.endDate),
      };
      return get(ENDPOINTS.listSessions, '/v1/sessions', query, sessionPageSchema, options);
    },

    async listUserSessions(userId, params = {}, options) {
      const route = `/v1/users/${pathSegment('userId', userId)}/sessions`;
      return get(
        ENDPOINTS.listUserSessions,
        route,
        { pageSize: numParam(params.pageSize), cursor: params.cursor },
        sessionPageSchema,
        options,
      );
    },

    async listEvents(sessionId, params = {}, options) {
      const route = `/v1/sessions/${pathSegment('sessionId', sessionId)}/events`;
      const query: Query = {
        pageSize: numParam(params.pageSize),
        cursor: params.cursor,
        type: numParam(params.type),
        startTime: numParam(params.startTime),
        endTime: numParam(params.endTime),
      };
      return get(ENDPOINTS.listEvents, route, query, eventPageSchema, options);
    },

    async getSessionDetails(sessionId, options) {
      const route = `/v1/sessions/${pathSegment('sessionId', sessionId)}/details`;
      const body = await get(ENDPOINTS.sessionDetails, route, {}, sessionDetailsResponseSchema, options);
      return body.data;
    },

    iterateSessions(params = {}, caps = {}) {
      const { cursor: start, ...rest } = params;
      return paginate(ENDPOINTS.listSessions, (cursor) => client.listSessions({ ...rest, cursor: cursor ?? start }, caps), caps);
    },

    iterateUserSessions(userId, params = {}, caps = {}) {
      pathSegment('userId', userId); // fail at the call, not at the first next()
      const { cursor: start, ...rest } = params;
      return paginate(
        ENDPOINTS.listUserSessions,
        (cursor) => client.listUserSessions(userId, { ...rest, cursor: cursor ?? start }, caps),
        caps,
      );
    },

    iterateEvents(sessionId, params = {}, caps = {}) {
      pathSegment('sessionId', sessionId);
      const { cursor: start, ...rest } = params;
      return paginate(ENDPOINTS.listEvents, (cursor) => client.listEvents(sessionId, { ...rest, cursor: cursor ?? start }, caps), caps);
    },

    allUserSessions(userId, caps = {}) {
      return collect(client.iterateUserSessions(userId, { pageSize: caps.pageSize }, caps));
    },
  };
  return client;
}

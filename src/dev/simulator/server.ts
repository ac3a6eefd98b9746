/**
 * The isnotai API simulator: a node:http server implementing the four documented endpoints
 * (docs/isnotai.md "The API") over the seeded dataset, with latency and fault knobs.
 * Order of checks per request: latency → route (404/405) → bearer key (401) → injected faults →
 * parameters (400) → resource (404) → 200.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { seededRng, type Rng } from '../random';
import type { DemoWorld } from '../people';
import type { IsnotaiSession } from '../../isnotai/types';
import { buildDataset, type DatasetOverrides, type SimDataset } from './dataset';
import { createCursorCodec } from './cursor';
import {
  checkRange,
  parseBotOnly,
  parseCursor,
  parseDate,
  parsePageSize,
  parseStatus,
  parseType,
  parseUnixMs,
  SimBadRequest,
  type Tier,
} from './params';

export interface SimulatorFaults {
  /** Share of details requests answered 503 `details_unavailable`. */
  detailsUnavailableRate?: number;
  /** Share of all requests answered 503 `service_unavailable`. */
  errorRate503?: number;
  /** Share of requests never answered (the client's timeout must fire). */
  timeoutRate?: number;
  /** Share of 200 bodies that break the schema (a string where a number belongs). */
  malformedRate?: number;
  /** Share of requests answered 429 `rate_limited` with Retry-After. */
  rate429?: number;
  /** Retry-After value sent with 429 (default 1 second). */
  retryAfterSeconds?: number;
}

/**
 * A fault forced on the next matching request, regardless of rates (deterministic tests). `none`
 * answers that request normally, so a queue can let the first requests through and fail the rest.
 */
export type ForcedFault = '503' | '502' | '429' | 'timeout' | 'malformed' | 'details503' | 'none';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  latencyMs?: number;
  jitterMs?: number;
  faults?: SimulatorFaults;
  seed?: number;
  /** Accepted keys and their plan tier. */
  keys?: Record<string, Tier>;
  world?: DemoWorld;
  extraUserIds?: string[];
  now?: Date;
  /** A prebuilt dataset (shared between several simulators, e.g. two regions). */
  dataset?: SimDataset;
  /** Rewrites of the generated data (ignored with `dataset`), e.g. `hostileOverrides([...])`. */
  overrides?: DatasetOverrides;
  /**
   * What GET /v1/users/{userId}/sessions lists instead of the user's own sessions, for tests of a
   * misbehaving upstream (e.g. `foreignSessionsIn({...})`, which mixes in another user's).
   */
  userSessions?: (userId: string, own: readonly IsnotaiSession[], dataset: SimDataset) => readonly IsnotaiSession[];
}

export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as received on the wire. */
  rawUrl: string;
  /** The raw (still percent-encoded) path segments after the leading slash. */
  rawSegments: string[];
  /** Decoded path parameters of the matched route. */
  params: { userId?: string; sessionId?: string };
  status: number;
  tier?: Tier;
  fault?: string;
  /** When it arrived, on this process's clock (`performance.now()`): the order of requests across servers. */
  at: number;
}

export interface RunningSimulator {
  url: string;
  port: number;
  dataset: SimDataset;
  keys: Readonly<Record<string, Tier>>;
  /** Requests received, oldest first (the last 10,000). Never contains the key. */
  requests: ReceivedRequest[];
  setFaults(faults: SimulatorFaults): void;
  queueFaults(...faults: ForcedFault[]): void;
  setLatency(latencyMs: number, jitterMs?: number): void;
  close(): Promise<void>;
}

export const DEFAULT_SIM_KEYS: Readonly<Record<string, Tier>> = { aik_v1_sim_free: 'free', aik_v1_sim_pro: 'pro' };

const MAX_LOGGED = 10_000;

type Route =
  | { kind: 'sessions' }
  | { kind: 'userSessions'; userId: string }
  | { kind: 'events'; sessionId: string }
  | { kind: 'details'; sessionId: string };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function matchRoute(rawSegments: string[]): Route | undefined {
  const seg = rawSegments.map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new HttpError(400, 'invalid_path', 'Path segment is not valid percent-encoding', { segment: s });
    }
  });
  if (seg[0] !== 'v1') return undefined;
  if (seg.length === 2 && seg[1] === 'sessions') return { kind: 'sessions' };
  if (seg.length === 4 && seg[1] === 'users' && seg[3] === 'sessions') return { kind: 'userSessions', userId: seg[2] as string };
  if (seg.length === 4 && seg[1] === 'sessions' && seg[3] === 'events') return { kind: 'events', sessionId: seg[2] as string };
  if (seg.length === 4 && seg[1] === 'sessions' && seg[3] === 'details') return { kind: 'details', sessionId: seg[2] as string };
  return undefined;
}

function corrupt(body: unknown): unknown {
  // Break the documented shape in the way a buggy upstream would: a number sent as a string.
  const b = structuredClone(body) as { data?: unknown };
  if (Array.isArray(b.data) && b.data.length > 0) {
    const first = b.data[0] as Record<string, unknown>;
    if ('botScore' in first) first.botScore = String(first.botScore);
    else if ('messageId' in first) first.messageId = String(first.messageId);
  } else if (b.data && typeof b.data === 'object' && 'eventCounts' in b.data) {
    const counts = (b.data as { eventCounts: Record<string, unknown> }).eventCounts;
    counts.total = String(counts.total);
  } else if (b && typeof b === 'object' && 'pagination' in b) {
    (b as { pagination: Record<string, unknown> }).pagination.limit = 'fifty';
  }
  return b;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const seed = options.seed ?? 20261120;
  const dataset =
    options.dataset ??
    buildDataset({ world: options.world, now: options.now, seed, extraUserIds: options.extraUserIds, overrides: options.overrides });
  const keys: Record<string, Tier> = { ...(options.keys ?? DEFAULT_SIM_KEYS) };
  const cursors = createCursorCodec(`isnotai-sim-${seed}`);
  const faultRng: Rng = seededRng(seed ^ 0x5eed);
  let faults: SimulatorFaults = { ...(options.faults ?? {}) };
  let latencyMs = options.latencyMs ?? 0;
  let jitterMs = options.jitterMs ?? 0;
  const forced: ForcedFault[] = [];
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();

  // Filtered lists by scope: a walk asks for the same filtered list once per page.
  const filteredCache = new Map<string, readonly IsnotaiSession[]>();
  function filtered(scope: string, make: () => readonly IsnotaiSession[]): readonly IsnotaiSession[] {
    let hit = filteredCache.get(scope);
    if (!hit) {
      hit = make();
      filteredCache.set(scope, hit);
      if (filteredCache.size > 100) filteredCache.delete(filteredCache.keys().next().value as string);
    }
    return hit;
  }

  function pageOf<T>(list: readonly T[], scope: string, q: URLSearchParams, size: number) {
    const cursor = parseCursor(q);
    let offset = 0;
    if (cursor !== undefined) {
      const decoded = cursors.decode(cursor, scope);
      if (!decoded.ok)
        throw new SimBadRequest('invalid_cursor', `Invalid cursor: ${decoded.reason}`, { parameter: 'cursor', reason: decoded.reason });
      offset = decoded.state.offset;
    }
    const data = list.slice(offset, offset + size);
    const hasMore = offset + size < list.length;
    return { data, pagination: { nextCursor: hasMore ? cursors.encode({ scope, offset: offset + size }) : null, hasMore, limit: size } };
  }

  function handle(route: Route, q: URLSearchParams, tier: Tier): unknown {
    switch (route.kind) {
      case 'sessions': {
        const size = parsePageSize(q, 50, tier);
        const status = parseStatus(q);
        const botOnly = parseBotOnly(q);
        const from = parseDate(q, 'startDate');
        const to = parseDate(q, 'endDate');
        checkRange(from, to, 'startDate', 'endDate');
        const scope = `sessions|${status ?? ''}|${botOnly ? 'bot' : ''}|${from ?? ''}|${to ?? ''}`;
        const list = filtered(scope, () =>
          dataset.allSessions().filter((s) => {
            if (status !== undefined && s.status !== status) return false;
            if (botOnly && s.botScore < 0.7) return false;
            const t = Date.parse(s.createdAt);
            if (from !== undefined && t < from) return false;
            if (to !== undefined && t > to) return false;
            return true;
          }),
        );
        return pageOf(list, scope, q, size);
      }
      case 'userSessions': {
        const size = parsePageSize(q, 50, tier);
        // An unknown user simply has no sessions: 200 with an empty page, never 404.
        const own = dataset.sessionsForUser(route.userId);
        return pageOf(options.userSessions ? options.userSessions(route.userId, own, dataset) : own, `user|${route.userId}`, q, size);
      }
      case 'events': {
        const size = parsePageSize(q, 100, tier);
        const type = parseType(q);
        const from = parseUnixMs(q, 'startTime');
        const to = parseUnixMs(q, 'endTime');
        checkRange(from, to, 'startTime', 'endTime');
        const all = dataset.events(route.sessionId);
        if (!all) throw new HttpError(404, 'not_found', 'Session not found', { sessionId: route.sessionId });
        const scope = `events|${route.sessionId}|${type?.id ?? ''}|${from ?? ''}|${to ?? ''}`;
        const list =
          type === undefined && from === undefined && to === undefined
            ? all
            : all.filter(
                (e) =>
                  (type === undefined || e.messageId === type.id) &&
                  (from === undefined || e.timestamp >= from) &&
                  (to === undefined || e.timestamp <= to),
              );
        return pageOf(list, scope, q, size);
      }
      case 'details': {
        const details = dataset.details(route.sessionId);
        if (!details) throw new HttpError(404, 'not_found', 'Session not found', { sessionId: route.sessionId });
        return { data: details };
      }
    }
  }

  function chance(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && faultRng() < rate;
  }

  function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const qIndex = rawUrl.indexOf('?');
    const rawPath = qIndex === -1 ? rawUrl : rawUrl.slice(0, qIndex);
    const q = new URLSearchParams(qIndex === -1 ? '' : rawUrl.slice(qIndex + 1));
    const rawSegments = rawPath.replace(/^\//, '').split('/');
    const entry: ReceivedRequest = { method: req.method ?? 'GET', rawUrl, rawSegments, params: {}, status: 0, at: performance.now() };
    requests.push(entry);
    if (requests.length > MAX_LOGGED) requests.shift();

    const delay = latencyMs + (jitterMs > 0 ? faultRng() * jitterMs : 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));

    try {
      const route = matchRoute(rawSegments);
      if (!route) throw new HttpError(404, 'not_found', `No such endpoint: ${rawPath}`);
      if ('userId' in route) entry.params.userId = route.userId;
      if ('sessionId' in route) entry.params.sessionId = route.sessionId;
      if (req.method !== 'GET') throw new HttpError(405, 'method_not_allowed', 'Only GET is supported', {}, { allow: 'GET' });

      const auth = req.headers.authorization;
      const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
      if (!m) throw new HttpError(401, 'unauthorized', 'Missing bearer API key (Authorization: Bearer aik_v1_…)');
      const tier = Object.prototype.hasOwnProperty.call(keys, m[1] as string) ? keys[m[1] as string] : undefined;
      if (!tier) throw new HttpError(401, 'unauthorized', 'Unknown or revoked API key');
      entry.tier = tier;

      // Forced faults apply to the next request that can show them; rates apply at random.
      let fault: ForcedFault | undefined;
      const nextForced = forced[0];
      if (nextForced && (nextForced !== 'details503' || route.kind === 'details')) fault = forced.shift();
      else if (chance(faults.timeoutRate)) fault = 'timeout';
      else if (chance(faults.errorRate503)) fault = '503';
      else if (chance(faults.rate429)) fault = '429';
      else if (route.kind === 'details' && chance(faults.detailsUnavailableRate)) fault = 'details503';
      else if (chance(faults.malformedRate)) fault = 'malformed';
      if (fault === 'none') fault = undefined;
      entry.fault = fault;

      if (fault === 'timeout') return; // never answered; close() or the client's abort ends it
      if (fault === '503') throw new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable');
      if (fault === '502') throw new HttpError(502, 'bad_gateway', 'Upstream gateway error');
      if (fault === '429') {
        const after = String(faults.retryAfterSeconds ?? 1);
        throw new HttpError(429, 'rate_limited', 'Too many requests', { retryAfterSeconds: Number(after) }, { 'retry-after': after });
      }
      if (fault === 'details503')
        throw new HttpError(503, 'details_unavailable', 'Session details are temporarily unavailable', {
          sessionId: (route as { sessionId?: string }).sessionId,
        });

      const body = handle(route, q, tier);
      entry.status = 200;
      send(res, 200, fault === 'malformed' ? corrupt(body) : body);
    } catch (error) {
      if (error instanceof HttpError) {
        entry.status = error.status;
        send(res, error.status, { error: { code: error.code, message: error.message, details: error.details } }, error.headers);
      } else if (error instanceof SimBadRequest) {
        entry.status = 400;
        send(res, 400, { error: { code: error.code, message: error.message, details: error.details } });
      } else {
        entry.status = 500;
        send(res, 500, { error: { code: 'internal', message: 'Simulator error', details: { reason: String(error) } } });
      }
    }
  }

  const server = http.createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { code: 'internal', message: String(error), details: {} } });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    dataset,
    keys,
    requests,
    setFaults(next) {
      faults = { ...next };
    },
    queueFaults(...next) {
      forced.push(...next);
    },
    setLatency(ms, jitter = 0) {
      latencyMs = ms;
      jitterMs = jitter;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hung (timeout-fault) and idle keep-alive sockets would otherwise hold close() open.
        for (const s of sockets) s.destroy();
      });
    },
  };
}

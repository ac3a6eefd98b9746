/**
 * Retry policy and fault tolerance, against the simulator's fault injection over real sockets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  closeAllPools,
  createDispatcherCache,
  createIsnotaiClient,
  IsnotaiAbortError,
  IsnotaiApiError,
  IsnotaiConfigError,
  IsnotaiNetworkError,
  IsnotaiPaginationError,
  IsnotaiTimeoutError,
  type IsnotaiLogger,
} from '../../src/isnotai';
import { startSimulator, type RunningSimulator } from '../../src/dev/simulator';
import { collectAll, ids, PRO_KEY } from './helpers';

let sim: RunningSimulator;
const fast = { retryBaseDelayMs: 5, retryMaxDelayMs: 20 };

beforeAll(async () => {
  sim = await startSimulator({ seed: 7 });
});
afterEach(() => {
  sim.setFaults({});
  sim.setLatency(0, 0);
});
afterAll(async () => {
  await closeAllPools();
  await sim.close();
});

function recordingLogger(): IsnotaiLogger & { lines: Array<{ level: string; obj: object; msg?: string }> } {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

test('with 30% injected 503s and jittered latency, a full walk still completes (bounded retries)', async () => {
  sim.setFaults({ errorRate503: 0.3 });
  sim.setLatency(2, 8);
  const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 5, ...fast });
  const before = sim.requests.length;
  const walked = await collectAll(client.iterateSessions({ pageSize: 100 }));
  expect(ids(walked)).toEqual(ids(sim.dataset.allSessions()));
  const seen = sim.requests.slice(before);
  const failed = seen.filter((r) => r.status === 503).length;
  expect(failed).toBeGreaterThan(3); // the faults really happened…
  expect(seen.length).toBe(Math.ceil(walked.length / 100) + failed); // …and each was retried once
});

test('502, 503 and a hung request are retried and the call succeeds', async () => {
  const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 3, requestTimeoutMs: 300, ...fast });
  sim.queueFaults('503', '502', 'timeout');
  const before = sim.requests.length;
  const page = await client.listUserSessions('6');
  expect(ids(page.data)).toEqual(ids(sim.dataset.sessionsForUser('6')));
  expect(sim.requests.slice(before).map((r) => r.fault ?? r.status)).toEqual(['503', '502', 'timeout', 200]);
});

test('details 503 surfaces as a typed error after the bounded retries', async () => {
  sim.setFaults({ detailsUnavailableRate: 1 });
  const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 2, ...fast });
  const before = sim.requests.length;
  const error = await client.getSessionDetails(sim.dataset.allSessions()[0]!.id).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(IsnotaiApiError);
  expect(error).toMatchObject({ status: 503, code: 'details_unavailable', attempts: 3, endpoint: 'GET /v1/sessions/{sessionId}/details' });
  expect(sim.requests.length - before).toBe(3);
});

test('a request that never answers times out with a typed error within its timeout', async () => {
  sim.setFaults({ timeoutRate: 1 });
  const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 1, requestTimeoutMs: 250, ...fast });
  const started = Date.now();
  const error = await client.listSessions().catch((e: unknown) => e);
  const elapsed = Date.now() - started;
  expect(error).toBeInstanceOf(IsnotaiTimeoutError);
  expect(error).toMatchObject({ code: 'timeout', phase: 'request', timeoutMs: 250, attempts: 2 });
  expect(elapsed).toBeGreaterThanOrEqual(500);
  expect(elapsed).toBeLessThan(1500);
});

test('a caller’s deadline ends a hung call and its retries at once; a call made after it sends nothing', async () => {
  sim.setFaults({ timeoutRate: 1 });
  const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, requestTimeoutMs: 5000, ...fast });
  const signal = AbortSignal.timeout(300);
  const started = Date.now();
  await expect(client.listUserSessions('4', {}, { signal })).rejects.toBeInstanceOf(IsnotaiAbortError);
  expect(Date.now() - started).toBeLessThan(1500);
  const before = sim.requests.length;
  const late = Date.now();
  await expect(client.listUserSessions('5', {}, { signal })).rejects.toBeInstanceOf(IsnotaiAbortError);
  expect(Date.now() - late).toBeLessThan(200);
  expect(sim.requests.length).toBe(before);
});

test('429 waits for Retry-After before retrying', async () => {
  const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 2, ...fast });
  sim.setFaults({ retryAfterSeconds: 1 });
  sim.queueFaults('429');
  const started = Date.now();
  const page = await client.listSessions({ pageSize: 2 });
  const elapsed = Date.now() - started;
  expect(page.data).toHaveLength(2);
  expect(elapsed).toBeGreaterThanOrEqual(950); // the backoff alone would be ≤ 20 ms
  expect(elapsed).toBeLessThan(3000);
});

test('a Retry-After longer than maxRetryAfterMs is not waited for: the 429 surfaces at once', async () => {
  const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 2, maxRetryAfterMs: 500, ...fast });
  sim.setFaults({ retryAfterSeconds: 30 });
  sim.queueFaults('429');
  const started = Date.now();
  const error = await client.listSessions().catch((e: unknown) => e);
  expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryAfterMs: 30_000, attempts: 1 });
  expect(Date.now() - started).toBeLessThan(500);
});

test('with the API down (closed port) the client fails fast with a typed network error', async () => {
  const down = http.createServer();
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  const port = (down.address() as AddressInfo).port;
  await new Promise<void>((r) => down.close(() => r()));
  const client = createIsnotaiClient({
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey: PRO_KEY,
    retries: 2,
    requestTimeoutMs: 2000,
    connectTimeoutMs: 500,
    ...fast,
  });
  const started = Date.now();
  const error = await client.listUserSessions('4').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(IsnotaiNetworkError);
  expect(error).toMatchObject({ code: 'network_error', attempts: 3, endpoint: 'GET /v1/users/{userId}/sessions' });
  expect((error as Error).message).toMatch(/ECONNREFUSED/);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('the API key is never logged nor put in an error; the log names endpoint, status, duration, attempt', async () => {
  const logger = recordingLogger();
  const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 1, logger, ...fast });
  sim.queueFaults('503');
  await client.listUserSessions('4');
  const badKey = createIsnotaiClient({ baseUrl: sim.url, apiKey: 'aik_v1_secret_do_not_log', logger, ...fast });
  const error = await badKey.listSessions().catch((e: unknown) => e);
  const everything = JSON.stringify(logger.lines) + String(error) + JSON.stringify(error) + String((error as Error).stack);
  expect(everything).not.toContain(PRO_KEY);
  expect(everything).not.toContain('aik_v1_secret_do_not_log');
  expect(logger.lines.find((l) => l.level === 'info')?.obj).toMatchObject({
    endpoint: 'GET /v1/users/{userId}/sessions',
    status: 503,
    attempt: 1,
  });
  expect(logger.lines.filter((l) => l.level === 'debug').map((l) => l.obj)).toContainEqual(
    expect.objectContaining({ endpoint: 'GET /v1/users/{userId}/sessions', status: 200, attempt: 2, durationMs: expect.any(Number) }),
  );
  expect(logger.lines.find((l) => l.level === 'warn')?.obj).toMatchObject({ status: 401, attempt: 1 });
});

test('clients of one base URL share one pool; other origins get their own', async () => {
  const cache = createDispatcherCache();
  const a = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, dispatcherCache: cache });
  const b = createIsnotaiClient({ baseUrl: `${sim.url}/`, apiKey: 'aik_v1_sim_free', dispatcherCache: cache });
  await Promise.all([a.listSessions({ pageSize: 1 }), b.listSessions({ pageSize: 1 })]);
  expect(cache.size).toBe(1);
  const other = await startSimulator({ dataset: sim.dataset });
  try {
    await createIsnotaiClient({ baseUrl: other.url, apiKey: PRO_KEY, dispatcherCache: cache }).listSessions({ pageSize: 1 });
    expect(cache.size).toBe(2);
  } finally {
    await cache.closeAll();
    await other.close();
  }
});

test('a base URL with a path prefix keeps it', async () => {
  const client = createIsnotaiClient({ baseUrl: `${sim.url}/prefix/`, apiKey: PRO_KEY, retries: 0 });
  const before = sim.requests.length;
  await expect(client.listSessions()).rejects.toMatchObject({ status: 404 });
  expect(sim.requests[before]!.rawUrl).toBe('/prefix/v1/sessions');
});

test('bad configuration is refused up front, naming the option', () => {
  expect(() => createIsnotaiClient({ baseUrl: 'api.isnotai.com', apiKey: PRO_KEY })).toThrow(IsnotaiConfigError);
  expect(() => createIsnotaiClient({ baseUrl: 'ftp://x', apiKey: PRO_KEY })).toThrow(/baseUrl/);
  expect(() => createIsnotaiClient({ baseUrl: sim.url, apiKey: '' })).toThrow(/apiKey/);
  expect(() => createIsnotaiClient({ baseUrl: sim.url, apiKey: 'aik_v1_x\r\nX-Evil: 1' })).toThrow(/apiKey/);
  expect(() => createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs/);
  expect(() => createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: -1 })).toThrow(/retries/);
});

describe('an upstream whose pagination misbehaves', () => {
  let server: http.Server;
  let url: string;
  let mode: 'repeat' | 'missing' = 'repeat';
  beforeAll(async () => {
    // A deliberately broken upstream (not the simulator, which is correct): the client's own
    // defences are what is under test.
    server = http.createServer((req, res) => {
      const cursor = new URL(req.url ?? '/', 'http://x').searchParams.get('cursor');
      const body = {
        data: [sim.dataset.allSessions()[0]],
        pagination: { hasMore: true, limit: 1, nextCursor: mode === 'missing' ? null : cursor === 'B' ? 'A' : cursor === 'A' ? 'B' : 'A' },
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await closeAllPools();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('a repeated cursor stops the walk with a typed error instead of looping', async () => {
    mode = 'repeat';
    const client = createIsnotaiClient({ baseUrl: url, apiKey: PRO_KEY });
    const error = await collectAll(client.iterateSessions()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IsnotaiPaginationError);
    expect(error).toMatchObject({ code: 'pagination_repeated_cursor', pages: 3 });
  });

  test('hasMore without a cursor is a typed error', async () => {
    mode = 'missing';
    const client = createIsnotaiClient({ baseUrl: url, apiKey: PRO_KEY });
    await expect(collectAll(client.iterateUserSessions('4'))).rejects.toMatchObject({ code: 'pagination_missing_cursor' });
  });
});

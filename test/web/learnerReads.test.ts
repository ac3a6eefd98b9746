/**
 * The roster's queue of learner reads (src/web/upstream.ts), against the isnotai simulator over a real socket: each answer
 * is handed on as it arrives, once the read it freed has been sent, and when handing one on fails, the reads fail with it
 * (the roster's build then fails and its page says so) instead of the failure escaping as an unhandled rejection.
 */
import diagnostics from 'node:diagnostics_channel';
import { startSimulator, type RunningSimulator } from '../../src/dev/simulator';
import { allUserIds, buildWorld } from '../../src/dev/people';
import { closeAllPools, createIsnotaiClient } from '../../src/isnotai';
import type { PlatformView, UpstreamCache } from '../../src/web/ports';
import { boundUpstream } from '../../src/web/upstream';
import { PRO_KEY } from '../isnotai/helpers';

let sim: RunningSimulator;
const world = buildWorld();
const userIds = [...new Set(allUserIds(world).map((u) => u.userId))].slice(0, 12);
// A platform that caches nothing: the reads never touch the cache.
const platform = { id: 'p', issuer: 'https://lms.example', clientId: 'c', cacheTtlSeconds: 0 } as PlatformView;
const noCache: UpstreamCache = {
  get: () => Promise.reject(new Error('not read without a TTL')),
  getMany: () => Promise.reject(new Error('not read without a TTL')),
  getManyExpiring: () => Promise.reject(new Error('not read without a TTL')),
  set: () => Promise.reject(new Error('not written without a TTL')),
  setMany: () => Promise.reject(new Error('not written without a TTL')),
};

beforeAll(async () => {
  sim = await startSimulator({ world, port: 0 });
});
afterAll(async () => {
  await closeAllPools();
  await sim.close();
});

const WIDTH = 4;

function readAll(onRead: (userId: string) => void) {
  const upstream = boundUpstream(createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY }), noCache, platform);
  const reads = upstream.learnerReads(WIDTH, (userId) => onRead(userId));
  reads.add(userIds);
  reads.widen(WIDTH);
  reads.close();
  return reads;
}

test('every learner is read once and handed on as their answer arrives', async () => {
  const handed: string[] = [];
  const reads = readAll((id) => handed.push(id));
  await reads.settled();
  expect([...handed].sort()).toEqual([...userIds].sort());
});

test('each answer is handed on only once the read it freed has been sent', async () => {
  // undici publishes each request's headers on this channel as it writes them to the socket.
  let sent = 0;
  const onSent = (message: unknown) => {
    const { request } = message as { request: { path: string } };
    if (request.path.startsWith('/v1/users/')) sent++;
  };
  diagnostics.subscribe('undici:client:sendHeaders', onSent);
  try {
    sim.setLatency(20);
    const sentWhenHanded: number[] = [];
    const reads = readAll(() => sentWhenHanded.push(sent));
    await reads.settled();
    // When the n-th answer is handed on, the reads it and the answers before it freed are already on the wire: the
    // WIDTH first, and one more per answer, until every learner's has gone out. (Handed on in the poll phase it arrived
    // in, the n-th found at most WIDTH + n - 1 sent: undici writes the read it freed only in the check phase after.)
    expect(sentWhenHanded).toHaveLength(userIds.length);
    sentWhenHanded.forEach((s, i) => expect(s).toBeGreaterThanOrEqual(Math.min(userIds.length, WIDTH + i + 1)));
  } finally {
    sim.setLatency(0);
    diagnostics.unsubscribe('undici:client:sendHeaders', onSent);
  }
});

test('an answer that cannot be handed on fails the reads, and nothing is left unhandled', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const handed: string[] = [];
    const reads = readAll((id) => {
      if (id === userIds[3]) throw new Error('this learner’s line could not be made');
      handed.push(id);
    });
    await expect(reads.settled()).rejects.toThrow('could not be made');
    // The other learners were still read and handed on.
    expect(handed).toHaveLength(userIds.length - 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

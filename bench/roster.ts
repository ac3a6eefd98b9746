/**
 * The instructor's roster of a 1,000-learner Canvas course ("BIG 1000", id 900), read from the
 * isnotai simulator at 80 ms per upstream request on the Pro tier (pages of 100), over real HTTP:
 * time to a complete `GET /course` page with cold and warm caches (warm: BENCH_WARM_RUNS requests,
 * default 100), the warm CSV export of the whole roster (`GET /course.csv`, BENCH_CSV_RUNS times,
 * default 5: time and size), upstream requests made, peak RSS; once per upstream concurrency
 * (UPSTREAM_CONCURRENCY 8, 16, 32, 64, 128).
 *
 *   npm run build && node dist/bench/roster.js
 *   BENCH_CONCURRENCY=16,32 BENCH_LATENCY_MS=80 node dist/bench/roster.js
 *   BENCH_REVIEWED=500 BENCH_CONCURRENCY=64 BENCH_LABEL=review500 node dist/bench/roster.js
 *
 * BENCH_REVIEWED learners (default 0) get a review record before the first launch, written through the store as the tool
 * writes them (a status, and a note on every other one), so the roster's review column, triage line and queue order have
 * real rows to read. BENCH_STUDENT_SIDE learners (default 0) get a student response each, and every other one of them an
 * accommodation (dictation) recorded by the instructor, so the roster's "new responses" counts and counted levels read
 * real rows too.
 *
 * Each concurrency runs in a child process of its own (fresh tool, fresh database, fresh RSS
 * peak); the parent starts PostgreSQL once, collects the children's JSON and writes
 * bench/results/roster-<date>.json. The LMS emulator and the simulator share the child's process
 * with the tool, so its RSS is an upper bound for the tool alone, and the simulator's CPU is
 * spent on the tool's event loop: "reads alone" is every learner's sessions read by the isnotai
 * client alone, at the same concurrency, in the same process (no tool, LMS or database), the
 * fastest a cold roster can be here.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { LtiBrowser } from '../src/dev/lms';
import { buildWorld } from '../src/dev/people';
import { buildDataset } from '../src/dev/simulator';
import { startStack, type Stack } from '../src/dev/stack';
import { createIsnotaiClient, createDispatcherCache, mapWithConcurrency } from '../src/isnotai';
import { createLogger } from '../src/log';
import { createAccommodationStore, createResponseStore, createReviewStore } from '../src/store';
import {
  createDatabase,
  dropDatabase,
  machine,
  MiB,
  percentile,
  perUserReads,
  printTable,
  round,
  rssSampler,
  startBenchDatabase,
  writeResults,
} from './support';

const LEARNERS = Number(process.env.BENCH_LEARNERS ?? 1000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 80);
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? '8,16,32,64,128').split(',').map(Number);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 100);
const CSV_RUNS = Number(process.env.BENCH_CSV_RUNS ?? 5);
const REVIEWED = Number(process.env.BENCH_REVIEWED ?? 0);
const STUDENT_SIDE = Number(process.env.BENCH_STUDENT_SIDE ?? 0);
const PAGE = 100; // Pro tier page size
const COURSE = '900';
const INSTRUCTOR = '20001';

interface Timed {
  ms: number[];
  p50: number;
  min: number;
  max: number;
  upstreamRequests: number[];
}

interface ChildResult {
  concurrency: number;
  launchToRosterMs: number;
  launchUpstreamRequests: number;
  coldAll: Timed;
  coldSessions: Timed;
  warm: { ms: number[]; p50: number; p95: number; min: number; max: number; upstreamRequests: number };
  /** The warm CSV export of the whole roster: each run's time, and the file's size in bytes (decoded, if it came compressed). */
  csvWarm: { ms: number[]; p50: number; max: number; bytes: number; upstreamRequests: number };
  /** Every learner's sessions read by the isnotai client alone (same simulator, concurrency and process). */
  readsAlone: { ms: number[]; p50: number };
  rowsChecked: { total: number; unavailable: number };
  peakRssMiB: number;
  maxRssMiB: number;
}

// ------------------------------------------------------------------------------------------------
// Child: one concurrency

async function child(concurrency: number, adminUrl: string): Promise<ChildResult> {
  const databaseUrl = await createDatabase(adminUrl, `roster${concurrency}`);
  const rss = rssSampler(20);
  let stack: Stack | undefined;
  const pg = new Client({ connectionString: databaseUrl });
  try {
    stack = await startStack({
      databaseUrl,
      logger: createLogger('silent'),
      encryptionKey: crypto.randomBytes(32).toString('base64url'),
      worldOptions: { bigCourseLearners: LEARNERS },
      simulator: { latencyMs: LATENCY_MS },
      env: { UPSTREAM_CONCURRENCY: String(concurrency) },
    });
    await pg.connect();
    await seedReviews(stack, REVIEWED);
    await seedStudentSide(stack, STUDENT_SIDE);
    const sim = stack.simulator;
    const clearRequests = () => sim.requests.splice(0, sim.requests.length);
    const browser = new LtiBrowser({ lmsUrl: stack.lms.url });

    // The launch itself lands on the roster (cold: nothing cached yet).
    clearRequests();
    const t0 = performance.now();
    const launch = await browser.launch({ platform: 'canvas', courseId: COURSE, userId: INSTRUCTOR });
    const launchToRosterMs = performance.now() - t0;
    const launchUpstreamRequests = sim.requests.length;
    checkComplete(launch.status, launch.url, launch.html);
    const ltik = launch.ltik;
    if (!ltik) throw new Error('the instructor launch gave no ltik');
    const rosterUrl = `${stack.tool.url}/course?ltik=${encodeURIComponent(ltik)}`;

    async function timedGet(): Promise<{ ms: number; requests: number; html: string }> {
      clearRequests();
      const start = performance.now();
      const res = await browser.get(rosterUrl);
      const ms = performance.now() - start;
      checkComplete(res.status, res.url, res.html);
      return { ms, requests: sim.requests.length, html: res.html };
    }
    async function coldRuns(where: string): Promise<Timed> {
      const ms: number[] = [];
      const upstreamRequests: number[] = [];
      for (let i = 0; i < COLD_RUNS; i++) {
        // The rosters built from those answers go too (src/store/roster.ts): the roster is read anew.
        await pg.query(`DELETE FROM upstream_cache ${where}`);
        await pg.query('DELETE FROM roster_build');
        const r = await timedGet();
        ms.push(round(r.ms));
        upstreamRequests.push(r.requests);
      }
      return { ms, p50: round(percentile(ms, 50)), min: Math.min(...ms), max: Math.max(...ms), upstreamRequests };
    }

    // Cold, everything: the roster (Names and Roles) and every learner's sessions are fetched.
    const coldAll = await coldRuns('');
    // Cold sessions only: the roster is cached, every learner's sessions are fetched.
    const coldSessions = await coldRuns(`WHERE key LIKE '%:user-sessions:%'`);
    // Warm: within the cache TTL (60 s), nothing goes upstream.
    const warmMs: number[] = [];
    let warmRequests = 0;
    for (let i = 0; i < WARM_RUNS; i++) {
      const r = await timedGet();
      warmMs.push(round(r.ms));
      warmRequests += r.requests;
    }
    // The CSV export of the whole roster (no limit), warm: what "Download CSV" under the roster answers.
    const csvUrl = `${stack.tool.url}/course.csv?ltik=${encodeURIComponent(ltik)}`;
    const csvMs: number[] = [];
    let csvBytes = 0;
    let csvRequests = 0;
    for (let i = 0; i < CSV_RUNS; i++) {
      clearRequests();
      const start = performance.now();
      const res = await browser.get(csvUrl);
      csvMs.push(round(performance.now() - start));
      csvRequests += sim.requests.length;
      checkCsvComplete(res.status, res.html);
      csvBytes = Buffer.byteLength(res.html);
    }
    const readsAlone = await readAlone(stack, concurrency);
    // Completeness, checked through the JSON form of the same roster (warm).
    const json = await browser.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(ltik)}`);
    const body = JSON.parse(json.html) as { total: number; items: Array<{ risk: string }> };
    const allItems = [...body.items];
    for (let offset = 500; offset < body.total; offset += 500) {
      const more = await browser.get(`${stack.tool.url}/course.json?limit=500&offset=${offset}&ltik=${encodeURIComponent(ltik)}`);
      allItems.push(...(JSON.parse(more.html) as { items: Array<{ risk: string }> }).items);
    }
    const rowsChecked = { total: body.total, unavailable: allItems.filter((i) => i.risk === 'unavailable').length };
    if (body.total !== LEARNERS || allItems.length !== LEARNERS || rowsChecked.unavailable > 0)
      throw new Error(`incomplete roster: ${JSON.stringify(rowsChecked)}`);

    const peak = rss.stop();
    return {
      concurrency,
      launchToRosterMs: round(launchToRosterMs),
      launchUpstreamRequests,
      coldAll,
      coldSessions,
      warm: {
        ms: warmMs,
        p50: round(percentile(warmMs, 50)),
        p95: round(percentile(warmMs, 95)),
        min: Math.min(...warmMs),
        max: Math.max(...warmMs),
        upstreamRequests: warmRequests,
      },
      readsAlone,
      csvWarm: { ms: csvMs, p50: round(percentile(csvMs, 50)), max: Math.max(...csvMs), bytes: csvBytes, upstreamRequests: csvRequests },
      rowsChecked,
      peakRssMiB: round(peak / MiB, 1),
      maxRssMiB: round(process.resourceUsage().maxRSS / 1024, 1),
    };
  } finally {
    await pg.end().catch(() => undefined);
    await stack?.stop();
    await dropDatabase(adminUrl, databaseUrl).catch(() => undefined);
  }
}

/**
 * The course's learners' sessions read as the roster reads them (the client's allUserSessions, `concurrency` at a time,
 * pages of 100), by the client alone: no tool, LMS or database. Run COLD_RUNS times; its own keep-alive pool.
 */
async function readAlone(stack: Stack, concurrency: number): Promise<{ ms: number[]; p50: number }> {
  const big = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === COURSE)!;
  const ids = big.members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
  const dispatcherCache = createDispatcherCache();
  const client = createIsnotaiClient({
    baseUrl: stack.simulator.url,
    apiKey: 'aik_v1_sim_pro',
    maxConnections: Math.max(8, concurrency),
    dispatcherCache,
  });
  const ms: number[] = [];
  try {
    for (let i = 0; i < COLD_RUNS; i++) {
      const start = performance.now();
      const read = await mapWithConcurrency(ids, concurrency, (id) => client.allUserSessions(id, { pageSize: 100, maxItems: 2001 }));
      ms.push(round(performance.now() - start));
      if (read.some((r) => !r.ok)) throw new Error('a learner’s sessions could not be read by the client alone');
    }
  } finally {
    await dispatcherCache.closeAll();
  }
  return { ms, p50: round(percentile(ms, 50)) };
}

/** Review records for the first `count` learners of the big course, as instructor 20001 writes them. */
/** `count` learners of the big course answer one of their sessions; every other one has an accommodation on record. */
async function seedStudentSide(stack: Stack, count: number): Promise<void> {
  if (count <= 0) return;
  const canvas = stack.lms.platforms.canvas;
  const big = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === COURSE)!;
  const learners = big.members.filter((m) => m.role === 'learner').slice(0, count);
  const responses = createResponseStore(stack.tool.store.db);
  const accommodations = createAccommodationStore(stack.tool.store.db);
  const registration = { platformIss: canvas.issuer, platformClientId: canvas.clientId };
  const audit = (action: string, actorUserId: string, subjectUserId: string) => ({
    ...registration,
    actorUserId,
    actorRole: actorUserId === INSTRUCTOR ? 'instructor' : 'student',
    action,
    contextId: COURSE,
    subjectUserId,
  });
  for (const [i, m] of learners.entries()) {
    const userId = m.person.lmsUserId;
    const session = stack.simulator.dataset.sessionsForUser(userId)[0];
    if (session) {
      await responses.write({
        key: { ...registration, userId },
        sessionId: session.id,
        body: `Benchmark response ${i}.`,
        author: { lmsUserId: userId, name: m.person.name },
        deploymentId: canvas.deploymentId,
        contextId: COURSE,
        audit: audit('response.write', userId, userId),
      });
    }
    if (i % 2 === 0) {
      const result = await accommodations.change({
        scope: { ...registration, userId, course: { deploymentId: canvas.deploymentId, contextId: COURSE } },
        author: {
          lmsUserId: INSTRUCTOR,
          name: 'Bench Instructor',
          roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor'],
          audience: 'instructor',
        },
        expectedVersion: 0,
        add: { kind: 'dictation', detail: null },
        audit: audit('accommodation.add', INSTRUCTOR, userId),
      });
      if (result.outcome !== 'written') throw new Error(`seeding accommodation ${i}: ${result.outcome}`);
    }
  }
}

async function seedReviews(stack: Stack, count: number): Promise<void> {
  if (count <= 0) return;
  const canvas = stack.lms.platforms.canvas;
  const big = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === COURSE)!;
  const learners = big.members.filter((m) => m.role === 'learner').slice(0, count);
  const reviews = createReviewStore(stack.tool.store.db);
  const statuses = ['in_review', 'no_concern', 'concern', 'referred'] as const;
  const author = {
    lmsUserId: INSTRUCTOR,
    name: 'Bench Instructor',
    roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor'],
    audience: 'instructor' as const,
  };
  for (const [i, m] of learners.entries()) {
    const userId = m.person.lmsUserId;
    const key = {
      platformIss: canvas.issuer,
      platformClientId: canvas.clientId,
      deploymentId: canvas.deploymentId,
      contextId: COURSE,
      userId,
    };
    const to = statuses[i % statuses.length]!;
    const result = await reviews.write({
      key,
      author,
      expectedVersion: 0,
      status: { to, reason: to === 'concern' || to === 'referred' ? 'Seeded by the benchmark.' : null },
      ...(i % 2 === 0 ? { note: { body: `Benchmark note ${i}.`, correctsId: null } } : {}),
      audit: {
        platformIss: canvas.issuer,
        platformClientId: canvas.clientId,
        actorUserId: INSTRUCTOR,
        actorRole: 'instructor',
        action: i % 2 === 0 ? 'review.status_and_note' : 'review.status',
        contextId: COURSE,
        subjectUserId: userId,
      },
    });
    if (result.outcome !== 'written') throw new Error(`seeding review ${i}: ${result.outcome}`);
  }
}

/** A roster page is complete when it loaded, counts every learner, and none is "Unavailable". */
function checkComplete(status: number, url: string, html: string): void {
  if (status !== 200 || !url.includes('/course')) throw new Error(`roster page failed: ${status} at ${url}`);
  const count = /data-testid="roster-count">([^<]*)</.exec(html)?.[1] ?? '';
  if (!count.includes(`(${LEARNERS} in the course)`)) throw new Error(`roster page does not count ${LEARNERS} learners: “${count}”`);
  if (/>Unavailable</.test(html)) throw new Error('roster page has learners whose sessions could not be read');
}

/** A CSV export is complete when it answered 200 with a header and one line per learner, none "unavailable". */
function checkCsvComplete(status: number, csv: string): void {
  if (status !== 200) throw new Error(`roster CSV failed: ${status}`);
  const lines = csv
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r\n/);
  if (!lines[0]?.startsWith('name,') || lines.length !== LEARNERS + 1)
    throw new Error(`roster CSV has ${lines.length - 1} lines for ${LEARNERS} learners`);
  // `unavailable` is a whole field only in the risk columns.
  if (lines.some((l) => l.includes(',unavailable,'))) throw new Error('roster CSV has learners whose sessions could not be read');
}

// ------------------------------------------------------------------------------------------------
// The floor: fewest sequential upstream round trips the data allows

function theoreticalFloor() {
  const world = buildWorld({ bigCourseLearners: LEARNERS });
  const dataset = buildDataset({ world });
  const { learnerIds, perLearnerPages, perUserRequests, maxPagesOneLearner, rounds: roundsAt } = perUserReads(world, dataset, COURSE, PAGE);
  const courseSessions = learnerIds.reduce((n, id) => n + dataset.sessionsForUser(id).length, 0);
  const integrationSessions = dataset.allSessions().length;
  const walkRoundTrips = Math.ceil(integrationSessions / PAGE);
  const perUser = CONCURRENCIES.map((c) => {
    const rounds = roundsAt(c);
    return { concurrency: c, sequentialRoundTrips: rounds, floorMs: rounds * LATENCY_MS };
  });
  return {
    learners: learnerIds.length,
    courseSessions,
    learnersWithMoreThanOnePage: perLearnerPages.filter((p) => p > 1).length,
    maxPagesOneLearner,
    perUserRequests,
    perUser,
    integrationSessions,
    integrationUsers: dataset.userIds().length,
    walk: { requests: walkRoundTrips, sequentialRoundTrips: walkRoundTrips, floorMs: walkRoundTrips * LATENCY_MS },
    // The walk's cursors chain, but startDate/endDate split it into independent walks: c equal
    // time windows walked side by side need as many rounds as the busiest window has pages.
    walkInTimeWindows: CONCURRENCIES.map((c) => {
      const pages = windowPages(
        dataset.allSessions().map((x) => Date.parse(x.createdAt)),
        c,
      );
      const rounds = Math.max(...pages);
      return {
        concurrency: c,
        windows: c,
        requests: pages.reduce((a, b) => a + b, 0),
        sequentialRoundTrips: rounds,
        floorMs: rounds * LATENCY_MS,
      };
    }),
    // The walk wins when ceil(S_all / 100) < max(maxPages, ceil(R_user / c)), i.e. when the
    // integration holds fewer than ~100 × R_user / c sessions.
    walkBreakEvenSessions: CONCURRENCIES.map((c) => ({
      concurrency: c,
      integrationSessionsBelow: PAGE * roundsAt(c),
    })),
  };
}

/** Pages (of PAGE, at least 1) in each of `k` equal time windows spanning the timestamps. */
function windowPages(times: number[], k: number): number[] {
  const min = Math.min(...times);
  const span = Math.max(...times) - min + 1;
  const counts = new Array<number>(k).fill(0);
  for (const t of times) counts[Math.min(k - 1, Math.floor(((t - min) / span) * k))]! += 1;
  return counts.map((n) => Math.max(1, Math.ceil(n / PAGE)));
}

// ------------------------------------------------------------------------------------------------
// Parent

function runChild(concurrency: number, adminUrl: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, `--child=${concurrency}`], {
      env: { ...process.env, BENCH_ADMIN_DATABASE_URL: adminUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`concurrency ${concurrency}: child exited ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as ChildResult);
      } catch (err) {
        reject(err as SyntaxError); // all JSON.parse throws
      }
    });
  });
}

async function parent(): Promise<void> {
  const db = await startBenchDatabase();
  try {
    const floor = theoreticalFloor();
    process.stdout.write(
      `roster benchmark: ${LEARNERS} learners, ${LATENCY_MS} ms per upstream request, pages of ${PAGE}; PostgreSQL ${db.serverVersion} (${db.kind}), Node ${process.version}, ${os.cpus().length} cores\n` +
        `dataset: ${floor.courseSessions} sessions in the course, ${floor.perUserRequests} per-user requests at least (max ${floor.maxPagesOneLearner} pages for one learner); ` +
        `integration-wide ${floor.integrationSessions} sessions → ${floor.walk.requests} chained /v1/sessions pages (${floor.walk.floorMs} ms)\n\n`,
    );
    const results: ChildResult[] = [];
    for (const c of CONCURRENCIES) {
      process.stdout.write(`concurrency ${c}…\n`);
      results.push(await runChild(c, db.adminUrl));
    }
    process.stdout.write('\n');
    printTable(
      results.map((r) => {
        const floorMs = floor.perUser.find((f) => f.concurrency === r.concurrency)?.floorMs;
        return {
          concurrency: r.concurrency,
          'floor ms': floorMs ?? '',
          'launch→roster ms': r.launchToRosterMs,
          'cold ms (p50)': r.coldAll.p50,
          'cold ÷ floor': floorMs ? round(r.coldAll.p50 / floorMs, 2) : '',
          'reads alone ms': r.readsAlone.p50,
          'cold, roster cached ms': r.coldSessions.p50,
          'warm p50 ms': r.warm.p50,
          'warm p95 ms': r.warm.p95,
          'CSV warm ms (p50)': r.csvWarm.p50,
          'CSV KiB': round(r.csvWarm.bytes / 1024, 1),
          'upstream req (cold)': r.coldAll.upstreamRequests[0] ?? '',
          'upstream req (warm)': r.warm.upstreamRequests + r.csvWarm.upstreamRequests,
          'peak RSS MiB': r.peakRssMiB,
          'maxRSS MiB': r.maxRssMiB,
        };
      }),
    );
    const file = writeResults('roster', {
      date: new Date().toISOString(),
      machine: machine(`${db.serverVersion} (${db.kind})`),
      setup: {
        learners: LEARNERS,
        upstreamLatencyMs: LATENCY_MS,
        tier: 'pro',
        pageSize: PAGE,
        course: COURSE,
        instructor: INSTRUCTOR,
        reviewedLearners: REVIEWED,
        coldRuns: COLD_RUNS,
        warmRuns: WARM_RUNS,
        csvRuns: CSV_RUNS,
        cacheTtlSeconds: 60,
      },
      floor,
      results,
    });
    process.stdout.write(`\nresults in ${file}\n`);
  } finally {
    await db.stop();
  }
}

const childArg = process.argv.find((a) => a.startsWith('--child='));
if (childArg) {
  const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL;
  if (!adminUrl) throw new Error('child needs BENCH_ADMIN_DATABASE_URL');
  child(Number(childArg.slice('--child='.length)), adminUrl)
    .then((r) => {
      // Exit once written: a lingering keep-alive socket must not hold the parent up.
      process.stdout.write(JSON.stringify(r) + '\n', () => process.exit(0));
    })
    .catch((err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    });
} else {
  parent().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}

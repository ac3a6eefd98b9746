/**
 * Large courses (docs/performance.md "Large courses"): the roster kept in PostgreSQL, built once, read a page at a time.
 * The tool runs as it is deployed (production settings, bench/launchTargetTool.ts), each instance in a process of its
 * own, so its RSS is its own; this process runs PostgreSQL, the isnotai simulator (BENCH_LATENCY_MS per request, default
 * 80, Pro tier), the LMS emulator and the agents, over real HTTP.
 *
 *   npm run build && node dist/bench/rosterScale.js
 *   BENCH_LEARNERS=4000 BENCH_SHARED_LEARNERS=1000 BENCH_CONCURRENCY=64 node dist/bench/rosterScale.js
 *
 * One instance, BENCH_LEARNERS learners (default 4,000), UPSTREAM_CONCURRENCY BENCH_CONCURRENCY (default 64):
 *   - cold: the roster and every cached answer emptied (rosters, learners' sessions, the LMS's list), then `GET /course`,
 *     BENCH_COLD_RUNS times (default 3): time, ÷ the floor (the fewest sequential upstream rounds the data allows ×
 *     latency), upstream requests, the tool's peak RSS, CPU time and event-loop delay during the build, and when its first and last isnotai requests came (ms from the request);
 *     how long each read's place in the window took (p10/p50/p90; LATENCY_MS at the least), and this process's CPU time
 *     and event-loop delay (the simulator's side);
 *   - warm: BENCH_WARM_RUNS (default 100) `GET /course` (the first page in queue order) and as many of a searched,
 *     filtered page sorted by name at offset 1,000: p50 and p95, and the tool's peak RSS over them (and over its start and
 *     the instructor's launch, before the first cold build);
 *   - the CSV of the whole course (`GET /course.csv`), warm: time, size, and the tool's RSS growth while it streams.
 * Two instances on one database, BENCH_SHARED_LEARNERS learners (default 1,000):
 *   - one instructor's cold roster, BENCH_COLD_RUNS times: the single-build time;
 *   - four instructors open the same cold roster at the same moment, two on each instance: learner requests at the
 *     simulator (one walk is about one per learner), each one's time ÷ the single build's, and whether each saw the
 *     progress line before the roster. BENCH_SHARED_RUNS times (default 3).
 * Results: bench/results/roster-scale-<date>.json (BENCH_LABEL adds a label).
 */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { LtiBrowser, startLmsEmulator, type LmsEmulator } from '../src/dev/lms';
import { buildWorld } from '../src/dev/people';
import { buildDataset, startSimulator, type RunningSimulator } from '../src/dev/simulator';
import { platformEntry } from '../src/dev/stack';
import { late, LOOP_SAMPLE_MS, type TargetMark, type TargetSetup } from './launchTarget';
import { markTarget, spawnTarget, stopTarget } from './targets';
import {
  createDatabase,
  dropDatabase,
  machine,
  percentile,
  perUserReads,
  printTable,
  round,
  startBenchDatabase,
  writeResults,
} from './support';

const LEARNERS = Number(process.env.BENCH_LEARNERS ?? 4000);
const SHARED_LEARNERS = Number(process.env.BENCH_SHARED_LEARNERS ?? 1000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 80);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 100);
const SHARED_RUNS = Number(process.env.BENCH_SHARED_RUNS ?? 3);
const PAGE = 100;
const COURSE = '900';
const INSTRUCTOR = '20001';

const stats = (ms: number[]) => ({
  ms: ms.map((x) => round(x)),
  p50: round(percentile(ms, 50)),
  p95: round(percentile(ms, 95)),
  min: round(Math.min(...ms)),
  max: round(Math.max(...ms)),
});

/** The fewest sequential upstream rounds the course's learners' reads allow at CONCURRENCY, × the latency. */
function floorMs(learners: number): { floorMs: number; perUserRequests: number } {
  const world = buildWorld({ bigCourseLearners: learners });
  const reads = perUserReads(world, buildDataset({ world }), COURSE, PAGE);
  return { floorMs: reads.rounds(CONCURRENCY) * LATENCY_MS, perUserRequests: reads.perUserRequests };
}

interface World {
  lms: LmsEmulator;
  simulator: RunningSimulator;
  platformsJson: string;
  moodle: TargetSetup['moodle'];
  stop(): Promise<void>;
}

async function startWorld(learners: number): Promise<World> {
  const world = buildWorld({ bigCourseLearners: learners });
  const simulator = await startSimulator({ world, port: 0, latencyMs: LATENCY_MS });
  const lms = await startLmsEmulator({ world, toolUrl: 'http://127.0.0.1:1', port: 0 });
  const isnotai = { apiKey: 'aik_v1_sim_pro', baseUrl: simulator.url };
  return {
    lms,
    simulator,
    moodle: lms.platforms.moodle,
    platformsJson: JSON.stringify([platformEntry(lms.platforms.moodle, isnotai), platformEntry(lms.platforms.canvas, isnotai)]),
    async stop() {
      await lms.close();
      await simulator.close();
    },
  };
}

type Instance = Awaited<ReturnType<typeof spawnTarget>>;

async function startInstance(w: World, databaseUrl: string, encryptionKey: string): Promise<Instance> {
  return spawnTarget('tool', 'launchTargetTool.js', {
    name: 'tool',
    databaseUrl,
    moodle: w.moodle,
    encryptionKey,
    platformsJson: w.platformsJson,
    simulatorUrl: w.simulator.url,
    distDir: path.join(__dirname, '..'),
    env: { UPSTREAM_CONCURRENCY: String(CONCURRENCY) },
  });
}

/** An instructor's launch (it lands on the roster: built, or read, there). */
async function instructor(w: World, learners: number): Promise<{ browser: LtiBrowser; ltik: string }> {
  const browser = new LtiBrowser({ lmsUrl: w.lms.url });
  const res = await browser.launch({ platform: 'canvas', courseId: COURSE, userId: INSTRUCTOR });
  checkRoster(res.status, res.html, learners);
  return { browser, ltik: res.ltik! };
}

/** A roster page is whole when it answered 200, counts every learner, and none is "Unavailable". */
function checkRoster(status: number, html: string, learners: number): void {
  if (status !== 200) throw new Error(`roster page failed: ${status}`);
  const count = /data-testid="roster-count">([^<]*)</.exec(html)?.[1] ?? '';
  if (!count.includes(`(${learners} in the course)`)) throw new Error(`roster page does not count ${learners} learners: “${count}”`);
  if (/>Unavailable</.test(html)) throw new Error('roster page has learners whose sessions could not be read');
}

/** Everything the roster is built from, and the roster, emptied: the next one is cold. */
async function cold(pg: Client): Promise<void> {
  await pg.query('DELETE FROM roster_build');
  await pg.query('DELETE FROM upstream_cache');
}

/**
 * The requests isnotai received since `since` (performance.now() of this process, the simulator's clock). By time, not
 * by place in its log: the log keeps the last 10,000 only.
 */
const requestsSince = (sim: RunningSimulator, since: number) => sim.requests.filter((r) => r.at >= since);
const isLearnerRequest = (r: { rawUrl: string }) => r.rawUrl.startsWith('/v1/users/');

/**
 * How long a read's place in the window took: for each learner request after the first CONCURRENCY, the time since the
 * request CONCURRENCY before it arrived at the simulator (a request goes out when one ends). LATENCY_MS at the least.
 */
function roundLengths(learnerRequests: ReadonlyArray<{ at: number }>) {
  const at = learnerRequests.map((r) => r.at).sort((a, b) => a - b);
  const rounds = at.slice(CONCURRENCY).map((t, i) => t - (at[i] as number));
  return { p10: round(percentile(rounds, 10)), p50: round(percentile(rounds, 50)), p90: round(percentile(rounds, 90)) };
}

async function oneInstance(adminUrl: string) {
  const floor = floorMs(LEARNERS);
  const w = await startWorld(LEARNERS);
  const databaseUrl = await createDatabase(adminUrl, 'rosterscale');
  const pg = new Client({ connectionString: databaseUrl });
  let tool: Instance | undefined;
  try {
    tool = await startInstance(w, databaseUrl, crypto.randomBytes(32).toString('base64url'));
    w.lms.setToolUrl(tool.readyUrl);
    await pg.connect();
    const { browser, ltik } = await instructor(w, LEARNERS);
    const at = (p: string) => `${tool!.readyUrl}${p}${p.includes('?') ? '&' : '?'}ltik=${encodeURIComponent(ltik)}`;

    /** The tool's peak RSS from its start through the instructor's launch. */
    const startPeakMiB = (await markTarget(tool)).peakMiB;
    const coldMs: number[] = [];
    const coldRss: number[] = [];
    const coldCpu: number[] = [];
    const coldLoop: Array<TargetMark['loopDelay']> = [];
    /** When the build's first and last isnotai requests arrived, from the page's request. */
    const coldSpans: Array<{ firstMs: number; lastMs: number }> = [];
    const coldRequests: number[] = [];
    const coldRounds: Array<ReturnType<typeof roundLengths>> = [];
    /** This process (the simulator, the LMS emulator, the agent) during each cold build: CPU time and event-loop delay. */
    const coldHarness: Array<{ cpuMs: number; loopDelay: TargetMark['loopDelay'] }> = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      await cold(pg);
      await markTarget(tool);
      const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
      loop.enable();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const res = await browser.get(at('/course'));
      coldMs.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      loop.disable();
      coldHarness.push({
        cpuMs: round((cpu.user + cpu.system) / 1000),
        loopDelay: { mean: late(loop.mean), p99: late(loop.percentile(99)), max: late(loop.max) },
      });
      const sent = requestsSince(w.simulator, t0);
      checkRoster(res.status, res.html, LEARNERS);
      const mark = await markTarget(tool);
      coldRss.push(mark.peakMiB);
      coldCpu.push(mark.cpuMs);
      coldLoop.push(mark.loopDelay);
      coldRequests.push(sent.length);
      coldRounds.push(roundLengths(sent.filter(isLearnerRequest)));
      coldSpans.push({ firstMs: round((sent[0]?.at ?? t0) - t0), lastMs: round((sent.at(-1)?.at ?? t0) - t0) });
    }

    const warm: number[] = [];
    const deep: number[] = [];
    const warmFrom = performance.now();
    for (let i = 0; i < WARM_RUNS; i++) {
      let t0 = performance.now();
      const res = await browser.get(at('/course'));
      warm.push(performance.now() - t0);
      checkRoster(res.status, res.html, LEARNERS);
      t0 = performance.now();
      const page = await browser.get(at('/course?query=a&risk=low&risk=elevated&risk=none&sort_by=name&offset=1000'));
      deep.push(performance.now() - t0);
      if (page.status !== 200) throw new Error(`filtered page failed: ${page.status}`);
    }
    const warmRequests = requestsSince(w.simulator, warmFrom).length;

    const before = await markTarget(tool);
    const t0 = performance.now();
    const csv = await browser.get(at('/course.csv'));
    const csvMs = performance.now() - t0;
    const during = await markTarget(tool);
    const lines = csv.html
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r\n/);
    if (csv.status !== 200 || lines.length !== LEARNERS + 1)
      throw new Error(`CSV has ${lines.length - 1} lines for ${LEARNERS} learners (${csv.status})`);
    const end = await stopTarget({ child: tool });
    tool = undefined;
    return {
      learners: LEARNERS,
      concurrency: CONCURRENCY,
      floorMs: floor.floorMs,
      perUserRequests: floor.perUserRequests,
      cold: {
        ...stats(coldMs),
        perFloor: round(percentile(coldMs, 50) / floor.floorMs, 2),
        peakRssMiB: coldRss,
        toolCpuMs: coldCpu,
        toolLoopDelayMs: coldLoop,
        isnotaiRequestsFromTo: coldSpans,
        upstreamRequests: coldRequests,
        learnerRoundMs: coldRounds,
        harness: coldHarness,
      },
      warm: { ...stats(warm), upstreamRequests: warmRequests, peakRssMiB: before.peakMiB },
      warmFilteredDeepPage: stats(deep),
      csv: {
        ms: round(csvMs),
        bytes: Buffer.byteLength(csv.html),
        rssBeforeMiB: before.rssMiB,
        peakMiB: during.peakMiB,
        growthMiB: round(during.peakMiB - before.rssMiB),
      },
      toolStartPeakRssMiB: startPeakMiB,
      toolPeakRssMiB: end?.peakRssMiB,
    };
  } finally {
    if (tool) await stopTarget({ child: tool });
    await pg.end().catch(() => undefined);
    await w.stop();
    await dropDatabase(adminUrl, databaseUrl).catch(() => undefined);
  }
}

async function twoInstances(adminUrl: string) {
  const w = await startWorld(SHARED_LEARNERS);
  const databaseUrl = await createDatabase(adminUrl, 'rostershared');
  const pg = new Client({ connectionString: databaseUrl });
  const encryptionKey = crypto.randomBytes(32).toString('base64url');
  const instances: Instance[] = [];
  try {
    instances.push(await startInstance(w, databaseUrl, encryptionKey), await startInstance(w, databaseUrl, encryptionKey));
    const [a, b] = instances as [Instance, Instance];
    w.lms.setToolUrl(a.readyUrl);
    await pg.connect();
    const staff = [];
    for (let i = 0; i < 4; i++) staff.push(await instructor(w, SHARED_LEARNERS));
    const get = (who: { browser: LtiBrowser; ltik: string }, on: Instance) => async () => {
      const t0 = performance.now();
      const res = await who.browser.get(`${on.readyUrl}/course?ltik=${encodeURIComponent(who.ltik)}`);
      const ms = performance.now() - t0;
      checkRoster(res.status, res.html, SHARED_LEARNERS);
      const progress = res.html.indexOf('class="progress"');
      return {
        ms,
        sawProgress: progress >= 0 && progress < res.html.indexOf('data-testid="roster"'),
        shared: res.html.includes('being read once'),
      };
    };

    const single: number[] = [];
    const singleRequests: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      await cold(pg);
      const from = performance.now();
      single.push((await get(staff[0]!, a)()).ms);
      singleRequests.push(requestsSince(w.simulator, from).filter(isLearnerRequest).length);
    }
    const singleP50 = percentile(single, 50);

    const runs = [];
    for (let i = 0; i < SHARED_RUNS; i++) {
      await cold(pg);
      const from = performance.now();
      const opened = await Promise.all([get(staff[0]!, a)(), get(staff[1]!, a)(), get(staff[2]!, b)(), get(staff[3]!, b)()]);
      const builds = await pg.query<{ n: string }>('SELECT count(*) AS n FROM roster_build');
      runs.push({
        learnerRequests: requestsSince(w.simulator, from).filter(isLearnerRequest).length,
        isnotaiRequests: requestsSince(w.simulator, from).length,
        builds: Number(builds.rows[0]!.n),
        ms: opened.map((o) => round(o.ms)),
        perSingle: opened.map((o) => round(o.ms / singleP50, 2)),
        sawProgress: opened.map((o) => o.sawProgress),
        waitedOnAnother: opened.map((o) => o.shared),
      });
    }
    return {
      learners: SHARED_LEARNERS,
      concurrency: CONCURRENCY,
      single: { ...stats(single), learnerRequests: singleRequests },
      fourAtOnce: runs,
      worstPerSingle: Math.max(...runs.flatMap((r) => r.perSingle)),
    };
  } finally {
    for (const t of instances) await stopTarget({ child: t });
    await pg.end().catch(() => undefined);
    await w.stop();
    await dropDatabase(adminUrl, databaseUrl).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const db = await startBenchDatabase();
  const loadAtStart = os.loadavg().map((x) => round(x, 2));
  try {
    process.stdout.write(
      `roster at scale: ${LEARNERS} learners, then ${SHARED_LEARNERS} on two instances; ${LATENCY_MS} ms per upstream request, UPSTREAM_CONCURRENCY ${CONCURRENCY}; PostgreSQL ${db.serverVersion} (${db.kind}), Node ${process.version}, ${os.cpus().length} cores\n`,
    );
    const one = await oneInstance(db.adminUrl);
    printTable([
      {
        learners: one.learners,
        'floor ms': one.floorMs,
        'cold p50 ms': one.cold.p50,
        'cold ÷ floor': one.cold.perFloor,
        'cold peak RSS MiB': Math.max(...one.cold.peakRssMiB),
        'cold tool CPU ms': one.cold.toolCpuMs.join(' / '),
        'warm p50 ms': one.warm.p50,
        'warm p95 ms': one.warm.p95,
        'filtered p50/p95 ms': `${one.warmFilteredDeepPage.p50} / ${one.warmFilteredDeepPage.p95}`,
        'CSV ms': one.csv.ms,
        'CSV RSS growth MiB': one.csv.growthMiB,
      },
    ]);
    const shared = await twoInstances(db.adminUrl);
    printTable(
      shared.fourAtOnce.map((r, i) => ({
        run: i + 1,
        'single cold p50 ms': shared.single.p50,
        'learner requests': r.learnerRequests,
        builds: r.builds,
        'each ms': r.ms.join(' / '),
        '÷ single': r.perSingle.join(' / '),
        'progress seen': r.sawProgress.filter(Boolean).length,
      })),
    );
    const file = writeResults('roster-scale', {
      date: new Date().toISOString(),
      machine: machine(`${db.serverVersion} (${db.kind})`),
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: os.loadavg().map((x) => round(x, 2)),
      setup: {
        latencyMs: LATENCY_MS,
        concurrency: CONCURRENCY,
        tier: 'pro',
        pageSize: PAGE,
        coldRuns: COLD_RUNS,
        warmRuns: WARM_RUNS,
        sharedRuns: SHARED_RUNS,
      },
      oneInstance: one,
      twoInstances: shared,
    });
    process.stdout.write(`\nresults in ${file}\n`);
  } finally {
    await db.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});

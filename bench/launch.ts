/**
 * Launch throughput and latency over real HTTP: the whole LTI 1.3 flow (LMS launch page → tool
 * /login → LMS OIDC auth → id_token form_post → ltijs validation in PostgreSQL → redirect with the
 * ltik → the student's sessions page, read from the isnotai simulator), each launch in its own
 * browser (cookie jar), sequentially and 8 at a time.
 *
 *   npm run build && node dist/bench/launch.js            (embedded PostgreSQL 18)
 *   DATABASE_URL=postgres://… node dist/bench/launch.js   (that server; a database is created)
 *   BENCH_LAUNCHES=500 BENCH_WIDTH=16 node dist/bench/launch.js
 *
 * Everything but PostgreSQL (LMS emulator, simulator, tool, and the agents) runs in this one Node
 * process, so the figures are a lower bound for the tool alone on the same cores.
 */
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LtiBrowser } from '../src/dev/lms';
import { startStack, type Stack } from '../src/dev/stack';
import { createLogger } from '../src/log';
import {
  createDatabase,
  dropDatabase,
  machine,
  MiB,
  percentile,
  printTable,
  round,
  rssSampler,
  startBenchDatabase,
  writeResults,
} from './support';

const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 200);
const WIDTH = Number(process.env.BENCH_WIDTH ?? 8);
const WARMUP = 20;

interface RunResult {
  mode: string;
  concurrency: number;
  launches: number;
  failures: number;
  failureSamples: string[];
  wallMs: number;
  launchesPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
}

async function oneLaunch(stack: Stack, userId: string): Promise<{ ms: number; failure?: string }> {
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  const t0 = performance.now();
  try {
    const res = await browser.launch({ platform: 'moodle', courseId: '2', userId });
    const ms = performance.now() - t0;
    // A launch counts only if it reached the student's own page with their sessions on it.
    if (res.status !== 200 || !res.url.includes('/me?')) return { ms, failure: `${res.status} at ${new URL(res.url).pathname}` };
    if (!res.html.includes('data-session-id') && stack.simulator.dataset.sessionsForUser(userId).length > 0)
      return { ms, failure: 'no sessions on the page' };
    return { ms };
  } catch (err) {
    return { ms: performance.now() - t0, failure: String(err) };
  }
}

async function run(stack: Stack, mode: string, users: string[], count: number, width: number): Promise<RunResult> {
  const latencies = new Array<number>(count);
  const failures: string[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        const r = await oneLaunch(stack, users[i % users.length] as string);
        latencies[i] = r.ms;
        if (r.failure) failures.push(r.failure);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return {
    mode,
    concurrency: width,
    launches: count,
    failures: failures.length,
    failureSamples: [...new Set(failures)].slice(0, 5),
    wallMs: round(wallMs, 0),
    launchesPerSecond: round((count * 1000) / wallMs, 1),
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p95: round(percentile(latencies, 95)),
      p99: round(percentile(latencies, 99)),
      max: round(Math.max(...latencies)),
      mean: round(mean),
    },
  };
}

async function main(): Promise<void> {
  const db = await startBenchDatabase();
  const databaseUrl = await createDatabase(db.adminUrl, 'launch');
  const rss = rssSampler(20);
  let stack: Stack | undefined;
  try {
    stack = await startStack({ databaseUrl, logger: createLogger('silent'), encryptionKey: crypto.randomBytes(32).toString('base64url') });
    const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === '2')!;
    const learners = course.members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
    process.stdout.write(
      `launch benchmark: ${LAUNCHES} launches per run, PostgreSQL ${db.serverVersion} (${db.kind}), Node ${process.version}\n\n`,
    );
    await run(stack, 'warm-up', learners, WARMUP, 2);

    const results: RunResult[] = [];
    results.push(await run(stack, 'distinct students, sequential', learners, LAUNCHES, 1));
    results.push(await run(stack, `distinct students, ${WIDTH} at a time`, learners, LAUNCHES, WIDTH));
    results.push(await run(stack, 'same student, sequential', ['4'], LAUNCHES, 1));
    results.push(await run(stack, `same student, ${WIDTH} at a time`, ['4'], LAUNCHES, WIDTH));

    printTable(
      results.map((r) => ({
        run: r.mode,
        launches: r.launches,
        failures: r.failures,
        'launches/s': r.launchesPerSecond,
        'p50 ms': r.latencyMs.p50,
        'p95 ms': r.latencyMs.p95,
        'p99 ms': r.latencyMs.p99,
        'max ms': r.latencyMs.max,
      })),
    );
    for (const r of results) if (r.failureSamples.length) process.stdout.write(`  ${r.mode}: ${r.failureSamples.join('; ')}\n`);
    const peakRss = rss.stop();
    const file = writeResults('launch', {
      date: new Date().toISOString(),
      machine: machine(`${db.serverVersion} (${db.kind})`),
      setup: {
        launchesPerRun: LAUNCHES,
        warmup: WARMUP,
        flow: 'LMS emulator launch → /login → OIDC auth → form_post id_token → /me (Moodle student, course 2)',
        simulatorLatencyMs: 0,
        sameProcess: 'LMS emulator, simulator, tool and agents share one Node process',
      },
      results,
      peakRssMiB: round(peakRss / MiB, 1),
      maxRssMiB: round(process.resourceUsage().maxRSS / 1024, 1),
    });
    process.stdout.write(`\npeak RSS ${round(peakRss / MiB, 1)} MiB; results in ${file}\n`);
  } finally {
    await stack?.stop();
    await dropDatabase(db.adminUrl, databaseUrl).catch(() => undefined);
    await db.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});

/**
 * Launch throughput and latency over real HTTP, the tool against an anchor, in one run: the whole
 * LTI 1.3 flow (the emulated Moodle's launch page → the target's /login → the LMS's OIDC auth →
 * id_token form_post → ltijs validation in PostgreSQL → redirect with the ltik → the target's
 * page), each launch in its own browser (cookie jar), as a Moodle student of course 2.
 *
 *   npm run bench:launch                                              (embedded PostgreSQL 18)
 *   DATABASE_URL=postgres://… npm run bench:launch                    (that server; databases are created)
 *   BENCH_LAUNCHES=100 BENCH_ROUNDS=5 BENCH_WIDTH=16 node dist/bench/launch.js
 *   BENCH_BEFORE_DIST=/path/to/other/checkout/dist node dist/bench/launch.js
 *   BENCH_CPU_PROFILE_DIR=/tmp/prof node dist/bench/launch.js      (a CPU profile of each target)
 *
 * The targets, each in a child process of its own, kept for the whole benchmark, each with a
 * database of its own, on the same PostgreSQL:
 *   anchor  bare ltijs 5.9.9 with the project's Database plugin and a one-line page on launch
 *           (bench/launchTargetAnchor.ts): what a launch costs in any ltijs tool, at the least.
 *   tool    the tool through startTool (src/bootstrap.ts), production settings (bench/launchTargetTool.ts);
 *           a launch counts when it ends on the student's own page with their sessions.
 *   before  only with BENCH_BEFORE_DIST: the same, from another build of this repo (that `dist`
 *           directory's src/bootstrap.js), for a before/after table. Build it in a checkout of its own:
 *             mkdir -p /tmp/base && git archive <commit> | tar -x -C /tmp/base && cp -a node_modules /tmp/base/
 *             (cd /tmp/base && npx tsc -p tsconfig.json)   then BENCH_BEFORE_DIST=/tmp/base/dist
 *
 * This process runs PostgreSQL (embedded, or DATABASE_URL's server), the isnotai simulator, the
 * LMS emulator and the agents. The emulator knows one tool URL: it is set to the target's before
 * each run (the login initiation, the redirect_uri it accepts and the target_link_uri it signs
 * all follow it).
 *
 * For each of BENCH_ROUNDS rounds (default 3), each target in turn (anchor, tool, before), four
 * runs of BENCH_LAUNCHES launches (default 200): distinct students one at a time, distinct students
 * BENCH_WIDTH at a time (default 8), one student one at a time, one student BENCH_WIDTH at a time;
 * BENCH_WARMUP launches (default 20) warm each target first. Alternating rounds spread drift (the
 * machine, the database growing) over every target alike; the table gives each round and the
 * medians, and the ratio tool ÷ anchor of the medians. Each target reports its peak RSS at the
 * end. Results: bench/results/launch-<date>.json (BENCH_LABEL adds a label).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { projectRoot } from '../src/app';
import { LtiBrowser, startLmsEmulator, type BrowserResponse, type LmsEmulator } from '../src/dev/lms';
import { buildWorld, type DemoWorld } from '../src/dev/people';
import { startSimulator, type RunningSimulator } from '../src/dev/simulator';
import { platformEntry } from '../src/dev/stack';
import { anchorPage, type TargetName, type TargetSetup, type TargetStats } from './launchTarget';
import { spawnTarget, stopTarget } from './targets';
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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);
const BEFORE_DIST = process.env.BENCH_BEFORE_DIST ? path.resolve(process.env.BENCH_BEFORE_DIST) : undefined;
const COURSE = '2';
const ONE_STUDENT = '4';

interface Target {
  name: TargetName;
  description: string;
  url: string;
  databaseUrl: string;
  child: ChildProcess;
  /** Set when the child ended before it was told to stop. */
  exited?: string;
  /** Why a launch's final page is not what it should be (undefined: it is). */
  check(res: BrowserResponse, userId: string): string | undefined;
}

interface Mode {
  key: string;
  label: string;
  users: string[];
  width: number;
}

interface RunResult {
  target: TargetName;
  round: number;
  mode: string;
  concurrency: number;
  launches: number;
  failures: number;
  failureSamples: string[];
  wallMs: number;
  launchesPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Requests per launch (the agent's history: LMS pages, redirects and form posts), of the launches that counted. */
  hops: { min: number; max: number; median: number };
}

// ------------------------------------------------------------------------------------------------
// Targets

function titleOf(html: string): string {
  const m = /<title>([^<]*)<\/title>|<h1[^>]*>([^<]*)<\/h1>/i.exec(html);
  return (m?.[1] ?? m?.[2] ?? html.slice(0, 60)).trim();
}

function pageOf(res: BrowserResponse): string {
  return `${res.status} at ${new URL(res.url).pathname} (${titleOf(res.html)})`;
}

// ------------------------------------------------------------------------------------------------
// Runs

/** Each target's first launch that counted, hop by hop (method, path without the query, status). */
const sampleHops = new Map<TargetName, string[]>();

async function oneLaunch(lms: LmsEmulator, target: Target, userId: string): Promise<{ ms: number; hops: number; failure?: string }> {
  const browser = new LtiBrowser({ lmsUrl: lms.url });
  const t0 = performance.now();
  try {
    const res = await browser.launch({ platform: 'moodle', courseId: COURSE, userId });
    const ms = performance.now() - t0;
    const failure = target.check(res, userId);
    if (!failure && !sampleHops.has(target.name))
      sampleHops.set(
        target.name,
        res.history.map((h) => `${h.method} ${new URL(h.url).origin === lms.url ? 'LMS ' : ''}${new URL(h.url).pathname} ${h.status}`),
      );
    return { ms, hops: res.history.length, ...(failure ? { failure } : {}) };
  } catch (err) {
    return { ms: performance.now() - t0, hops: 0, failure: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

async function run(lms: LmsEmulator, target: Target, mode: Mode, count: number, roundNo: number): Promise<RunResult> {
  if (target.exited) throw new Error(`${target.name} ${target.exited}`);
  lms.setToolUrl(target.url);
  const latencies = new Array<number>(count);
  const hops: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: mode.width }, async () => {
      while (next < count) {
        const i = next++;
        const r = await oneLaunch(lms, target, mode.users[i % mode.users.length] as string);
        latencies[i] = r.ms;
        if (r.failure) failures.push(r.failure);
        else hops.push(r.hops);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  return {
    target: target.name,
    round: roundNo,
    mode: mode.key,
    concurrency: mode.width,
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
      mean: round(latencies.reduce((a, b) => a + b, 0) / count),
    },
    hops: hops.length ? { min: Math.min(...hops), max: Math.max(...hops), median: median(hops) } : { min: NaN, max: NaN, median: NaN },
  };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

// ------------------------------------------------------------------------------------------------
// Main

function revision(): string {
  try {
    const root = projectRoot();
    const head = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'views'], { encoding: 'utf8' }).trim();
    return changed ? `${head} + uncommitted changes in src/ or views/` : head;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  if (BEFORE_DIST && !fs.existsSync(path.join(BEFORE_DIST, 'src', 'bootstrap.js')))
    throw new Error(`BENCH_BEFORE_DIST: no src/bootstrap.js in ${BEFORE_DIST}`);
  const db = await startBenchDatabase();
  const loadAtStart = os.loadavg().map((x) => round(x, 2));
  const parentRss = rssSampler(20);
  const world: DemoWorld = buildWorld();
  let simulator: RunningSimulator | undefined;
  let lms: LmsEmulator | undefined;
  const targets: Target[] = [];
  const databases: string[] = [];
  try {
    simulator = await startSimulator({ world, port: 0 });
    // No tool yet: each run points the emulator at its target.
    lms = await startLmsEmulator({ world, toolUrl: 'http://127.0.0.1:1', port: 0 });
    const sim = simulator;
    const moodle = world.platforms.find((p) => p.kind === 'moodle')!;
    const members = moodle.courses.find((c) => c.id === COURSE)!.members;
    const learners = members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
    const subOf = new Map(members.map((m) => [m.person.lmsUserId, m.person.sub]));
    if (!learners.includes(ONE_STUDENT)) throw new Error(`student ${ONE_STUDENT} is not a learner of course ${COURSE}`);

    const encryptionKey = crypto.randomBytes(32).toString('base64url');
    const isnotai = { apiKey: 'aik_v1_sim_pro', baseUrl: simulator.url };
    const platformsJson = JSON.stringify([platformEntry(lms.platforms.moodle, isnotai), platformEntry(lms.platforms.canvas, isnotai)]);
    const ownDist = path.join(__dirname, '..');

    const checkAnchor = (res: BrowserResponse, userId: string): string | undefined =>
      res.status === 200 && res.html === anchorPage(subOf.get(userId) ?? '') ? undefined : pageOf(res);
    const checkTool = (res: BrowserResponse, userId: string): string | undefined => {
      // The student's own page (src/web, views/pages/student.hbs), wherever the launch ends up serving it.
      if (res.status !== 200 || !res.html.includes('data-testid="own-level"')) return pageOf(res);
      if (sim.dataset.sessionsForUser(userId).length > 0 && !res.html.includes('data-session-id'))
        return `${pageOf(res)}: no sessions on the page`;
      return undefined;
    };
    const plan: Array<{ name: TargetName; file: string; description: string; distDir?: string; check: Target['check'] }> = [
      {
        name: 'anchor',
        file: 'launchTargetAnchor.js',
        description: 'bare ltijs 5.9.9, the project Database plugin on pg, one-line page on launch',
        check: checkAnchor,
      },
      {
        name: 'tool',
        file: 'launchTargetTool.js',
        description: `the tool (${revision()}) through startTool`,
        distDir: ownDist,
        check: checkTool,
      },
    ];
    if (BEFORE_DIST)
      plan.push({
        name: 'before',
        file: 'launchTargetTool.js',
        description: `the tool from ${BEFORE_DIST} through its startTool`,
        distDir: BEFORE_DIST,
        check: checkTool,
      });

    for (const p of plan) {
      const databaseUrl = await createDatabase(db.adminUrl, `launch${p.name}`);
      databases.push(databaseUrl);
      const setup: TargetSetup = {
        name: p.name,
        databaseUrl,
        moodle: lms.platforms.moodle,
        encryptionKey,
        ...(p.distDir ? { distDir: p.distDir, platformsJson, simulatorUrl: simulator.url } : {}),
      };
      const child = await spawnTarget(p.name, p.file, setup);
      const target: Target = { name: p.name, description: p.description, url: child.readyUrl, databaseUrl, child, check: p.check };
      child.once('exit', (code, signal) => {
        target.exited = `exited (${code ?? signal})`;
      });
      targets.push(target);
    }

    const modes: Mode[] = [
      { key: 'distinct-sequential', label: 'distinct students, one at a time', users: learners, width: 1 },
      { key: `distinct-${WIDTH}`, label: `distinct students, ${WIDTH} at a time`, users: learners, width: WIDTH },
      { key: 'one-sequential', label: 'one student, one at a time', users: [ONE_STUDENT], width: 1 },
      { key: `one-${WIDTH}`, label: `one student, ${WIDTH} at a time`, users: [ONE_STUDENT], width: WIDTH },
    ];
    process.stdout.write(
      `launch benchmark: ${targets.map((t) => t.name).join(', ')}; ${ROUNDS} rounds of ${LAUNCHES} launches per run, ` +
        `PostgreSQL ${db.serverVersion} (${db.kind}), Node ${process.version}, ${machine('').cpus} CPUs\n`,
    );
    for (const t of targets) process.stdout.write(`  ${t.name.padEnd(6)} ${t.url}  ${t.description}\n`);

    const warmups: RunResult[] = [];
    for (const t of targets) warmups.push(await run(lms, t, { key: 'warm-up', label: 'warm-up', users: learners, width: 2 }, WARMUP, 0));
    const results: RunResult[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      for (const t of targets) for (const m of modes) results.push(await run(lms, t, m, LAUNCHES, r));
      process.stdout.write(`  round ${r} of ${ROUNDS} done\n`);
    }

    const stats = new Map<TargetName, TargetStats | undefined>();
    for (const t of targets) stats.set(t.name, await stopTarget(t));
    const loadAverage = { start: loadAtStart, end: os.loadavg().map((x) => round(x, 2)) };
    report({ db, targets, modes, warmups, results, stats, parentPeakRss: parentRss.stop(), loadAverage });
  } finally {
    for (const t of targets) if (t.child.exitCode === null && !t.exited) await stopTarget(t);
    await lms?.close();
    await simulator?.close();
    for (const url of databases) await dropDatabase(db.adminUrl, url).catch(() => undefined);
    await db.stop();
  }
}

function report(r: {
  db: { serverVersion: string; kind: string };
  targets: Target[];
  modes: Mode[];
  warmups: RunResult[];
  results: RunResult[];
  stats: Map<TargetName, TargetStats | undefined>;
  parentPeakRss: number;
  loadAverage: { start: number[]; end: number[] };
}): void {
  const names = r.targets.map((t) => t.name);
  const of = (name: TargetName, mode: string) => r.results.filter((x) => x.target === name && x.mode === mode);
  const ratio = (a: number, b: number) => round(a / b, 2);

  const summary = r.modes.map((m) => {
    const perTarget = Object.fromEntries(
      names.map((n) => {
        const runs = of(n, m.key);
        return [
          n,
          {
            launchesPerSecond: runs.map((x) => x.launchesPerSecond),
            launchesPerSecondMedian: round(median(runs.map((x) => x.launchesPerSecond))),
            p50MsMedian: round(median(runs.map((x) => x.latencyMs.p50))),
            p95MsMedian: round(median(runs.map((x) => x.latencyMs.p95))),
            failures: runs.reduce((a, x) => a + x.failures, 0),
          },
        ];
      }),
    ) as Record<
      TargetName,
      { launchesPerSecond: number[]; launchesPerSecondMedian: number; p50MsMedian: number; p95MsMedian: number; failures: number }
    >;
    const lps = (n: TargetName) => perTarget[n].launchesPerSecondMedian;
    const ratios: Record<string, number> = { 'tool/anchor': ratio(lps('tool'), lps('anchor')) };
    if (names.includes('before')) {
      ratios['before/anchor'] = ratio(lps('before'), lps('anchor'));
      ratios['tool/before'] = ratio(lps('tool'), lps('before'));
    }
    return { mode: m.key, label: m.label, concurrency: m.width, targets: perTarget, ratios };
  });

  // One table per mode: each round's launches/s per target, then the medians and the ratios.
  for (const s of summary) {
    process.stdout.write(`\n${s.label} (launches/s)\n`);
    const rows: Array<Record<string, string | number>> = [];
    for (let i = 0; i < ROUNDS; i++)
      rows.push({ round: String(i + 1), ...Object.fromEntries(names.map((n) => [n, s.targets[n].launchesPerSecond[i] ?? '-'])) });
    rows.push({ round: 'median', ...Object.fromEntries(names.map((n) => [n, s.targets[n].launchesPerSecondMedian])) });
    printTable(rows);
    process.stdout.write(
      `  ${Object.entries(s.ratios)
        .map(([k, v]) => `${k.replace('/', ' ÷ ')} ${v}`)
        .join('   ')}\n`,
    );
  }

  process.stdout.write('\nmedians of the rounds\n');
  printTable(
    summary.map((s) => ({
      run: s.label,
      ...Object.fromEntries(names.map((n) => [`${n} l/s`, s.targets[n].launchesPerSecondMedian])),
      'tool÷anchor': s.ratios['tool/anchor'] as number,
      ...(names.includes('before') ? { 'tool÷before': s.ratios['tool/before'] as number } : {}),
      ...Object.fromEntries(names.map((n) => [`${n} p50/p95 ms`, `${s.targets[n].p50MsMedian} / ${s.targets[n].p95MsMedian}`])),
    })),
  );

  const targetRows = r.targets.map((t) => {
    const runs = r.results.filter((x) => x.target === t.name);
    const hops = runs.filter((x) => !Number.isNaN(x.hops.median));
    const lo = Math.min(...hops.map((x) => x.hops.min));
    const hi = Math.max(...hops.map((x) => x.hops.max));
    const st = r.stats.get(t.name);
    return {
      name: t.name,
      description: t.description,
      hopsPerLaunch: hops.length ? (lo === hi ? lo : `${lo}–${hi}`) : 'none',
      failures: runs.reduce((a, x) => a + x.failures, 0),
      launches: runs.reduce((a, x) => a + x.launches, 0),
      stats: st,
      sampleHops: sampleHops.get(t.name) ?? [],
    };
  });
  process.stdout.write('\ntargets\n');
  printTable(
    targetRows.map((t) => ({
      target: t.name,
      'peak RSS MiB': t.stats?.peakRssMiB ?? '-',
      'maxRSS MiB': t.stats?.maxRssMiB ?? '-',
      'RSS started MiB': t.stats?.startRssMiB ?? '-',
      'RSS at end MiB': t.stats?.endRssMiB ?? '-',
      'start ms': t.stats?.startMs ?? '-',
      'hops/launch': t.hopsPerLaunch,
      failures: `${t.failures} of ${t.launches}`,
    })),
  );
  for (const x of [...r.warmups, ...r.results])
    if (x.failureSamples.length) process.stdout.write(`  ${x.target}, ${x.mode}, round ${x.round}: ${x.failureSamples.join('; ')}\n`);

  const parentPeakRssMiB = round(r.parentPeakRss / MiB, 1);
  const file = writeResults('launch', {
    date: new Date().toISOString(),
    machine: machine(`${r.db.serverVersion} (${r.db.kind})`),
    setup: {
      launchesPerRun: LAUNCHES,
      rounds: ROUNDS,
      width: WIDTH,
      warmupPerTarget: WARMUP,
      order: 'per round: each target in turn (anchor, tool, before), four runs each',
      flow: `LMS emulator launch → /login → OIDC auth → form_post id_token → the target's page (Moodle student, course ${COURSE})`,
      oneStudent: ONE_STUDENT,
      simulatorLatencyMs: 0,
      processes:
        'this process: PostgreSQL (embedded) or its client, LMS emulator, isnotai simulator, agents; each target: a child process of its own, own database',
      ltijs: ltijsVersion(),
      beforeDist: BEFORE_DIST ?? null,
      // 1, 5 and 15 minute load averages: other work on the machine shows here.
      loadAverage: r.loadAverage,
    },
    targets: targetRows,
    summary,
    warmups: r.warmups,
    results: r.results,
    parentPeakRssMiB,
  });
  for (const t of targetRows) process.stdout.write(`  ${t.name} launch: ${t.sampleHops.join(' → ')}\n`);
  process.stdout.write(`  load average (1, 5, 15 min): ${r.loadAverage.start.join(' ')} at start, ${r.loadAverage.end.join(' ')} at end\n`);
  process.stdout.write(`\nthis process's peak RSS ${parentPeakRssMiB} MiB; results in ${file}\n`);
}

function ltijsVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(require.resolve('ltijs/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});

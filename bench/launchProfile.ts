/**
 * Where a launch's time goes: every HTTP hop the tool answers during a launch, with its time at the
 * server, its PostgreSQL round trips (and the statements, shortened) and the CPU the process spent
 * while it ran; sequential launches of distinct Moodle students (course 2), after a warm-up.
 *
 *   npm run build && node dist/bench/launchProfile.js
 *   BENCH_LAUNCHES=100 BENCH_SHOW_SQL=1 node dist/bench/launchProfile.js
 *
 * The statements are counted at `pg`'s Client.query (Kysely and the ltijs plugin both go through
 * it); a hop is attributed by the request the statement ran for (AsyncLocalStorage), so a write left
 * to run after the answer still counts for the hop that started it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { LtiBrowser } from '../src/dev/lms';
import { startStack } from '../src/dev/stack';
import { createLogger } from '../src/log';
import { createDatabase, dropDatabase, printTable, round, startBenchDatabase } from './support';

const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 100);
const SHOW_SQL = process.env.BENCH_SHOW_SQL === '1';

interface HopStats {
  count: number;
  serverMs: number;
  cpuMs: number;
  queries: number;
  queryMs: number;
  statements: Map<string, number>;
}

const context = new AsyncLocalStorage<{ hop: string; stats: HopStats }>();
const hops = new Map<string, HopStats>();
let toolPort = -1;
let recording = false;

function statsOf(hop: string): HopStats {
  let s = hops.get(hop);
  if (!s) hops.set(hop, (s = { count: 0, serverMs: 0, cpuMs: 0, queries: 0, queryMs: 0, statements: new Map() }));
  return s;
}

/** The hop's name: method and path, with the parameters that tell launch steps apart. */
function hopName(req: http.IncomingMessage): string {
  const url = new URL(req.url ?? '/', 'http://x');
  const marks = ['cookie_check', 'ltik'].filter((k) => url.searchParams.has(k)).map((k) => `?${k}`);
  return `${req.method} ${url.pathname}${marks.join('')}`;
}

// Every request the tool's server answers runs in a context naming its hop.
const emit = Reflect.get(http.Server.prototype, 'emit') as (this: http.Server, event: string, ...args: unknown[]) => boolean;
http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
  const addr = this.address();
  if (event !== 'request' || !recording || typeof addr !== 'object' || addr?.port !== toolPort) return emit.call(this, event, ...args);
  const [req, res] = args as [http.IncomingMessage, http.ServerResponse];
  const stats = statsOf(hopName(req));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  res.once('finish', () => {
    stats.count++;
    stats.serverMs += performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    stats.cpuMs += (cpu.user + cpu.system) / 1000;
  });
  return context.run({ hop: hopName(req), stats }, () => emit.call(this, event, ...args));
} as typeof http.Server.prototype.emit;

// Every statement, counted for the hop it ran for.
const query = Reflect.get(Client.prototype, 'query') as (this: Client, ...args: unknown[]) => unknown;
Client.prototype.query = function (this: Client, ...args: unknown[]) {
  const ctx = context.getStore();
  const result = query.apply(this, args);
  if (ctx && result && typeof (result as Promise<unknown>).then === 'function') {
    const t0 = performance.now();
    const first = args[0] as string | { text?: string };
    const sql = (typeof first === 'string' ? first : (first?.text ?? '?')).replace(/\s+/g, ' ').slice(0, 110);
    ctx.stats.queries++;
    ctx.stats.statements.set(sql, (ctx.stats.statements.get(sql) ?? 0) + 1);
    void (result as Promise<unknown>).then(
      () => (ctx.stats.queryMs += performance.now() - t0),
      () => (ctx.stats.queryMs += performance.now() - t0),
    );
  }
  return result;
} as typeof Client.prototype.query;

async function main(): Promise<void> {
  const db = await startBenchDatabase();
  const databaseUrl = await createDatabase(db.adminUrl, 'profile');
  const stack = await startStack({
    databaseUrl,
    logger: createLogger('silent'),
    encryptionKey: crypto.randomBytes(32).toString('base64url'),
  });
  try {
    toolPort = Number(new URL(stack.tool.url).port);
    const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === '2')!;
    const learners = course.members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
    const launch = async (i: number) => {
      const res = await new LtiBrowser({ lmsUrl: stack.lms.url }).launch({
        platform: 'moodle',
        courseId: '2',
        userId: learners[i % learners.length]!,
      });
      if (res.status !== 200) throw new Error(`launch ${i}: ${res.status} at ${res.url}`);
      return res;
    };
    for (let i = 0; i < 20; i++) await launch(i);
    recording = true;
    const t0 = performance.now();
    let hopsPerLaunch = 0;
    for (let i = 0; i < LAUNCHES; i++) hopsPerLaunch = (await launch(i)).history.length;
    const wall = performance.now() - t0;
    // Writes left to run after an answer finish here.
    await new Promise((r) => setTimeout(r, 200));
    recording = false;

    const rows = [...hops.entries()].map(([hop, s]) => ({
      hop,
      'per launch': round(s.count / LAUNCHES, 2),
      'server ms': round(s.serverMs / s.count, 2),
      'CPU ms': round(s.cpuMs / s.count, 2),
      'SQL statements': round(s.queries / s.count, 2),
      'SQL ms': round(s.queryMs / s.count, 2),
    }));
    const total = [...hops.values()].reduce((a, s) => ({ ms: a.ms + s.serverMs, cpu: a.cpu + s.cpuMs, q: a.q + s.queries }), {
      ms: 0,
      cpu: 0,
      q: 0,
    });
    process.stdout.write(
      `${LAUNCHES} sequential launches, ${round(wall / LAUNCHES, 2)} ms each end to end, ${hopsPerLaunch} HTTP hops (LMS included)\n\n`,
    );
    printTable(rows);
    process.stdout.write(
      `\ntool per launch: ${round(total.ms / LAUNCHES, 2)} ms at the server, ${round(total.cpu / LAUNCHES, 2)} ms CPU, ${round(total.q / LAUNCHES, 2)} SQL statements\n`,
    );
    if (SHOW_SQL)
      for (const [hop, s] of hops) {
        process.stdout.write(`\n${hop}\n`);
        for (const [sql, n] of s.statements) process.stdout.write(`  ${round(n / s.count, 2)} × ${sql}\n`);
      }
  } finally {
    await stack.stop();
    await dropDatabase(db.adminUrl, databaseUrl).catch(() => undefined);
    await db.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

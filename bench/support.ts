/**
 * What the benchmarks share: a real PostgreSQL (DATABASE_URL, or the embedded PostgreSQL 18 in a
 * temporary directory), a fresh database per run, percentiles, the machine's description, and the
 * results file. Benchmarks measure the real stack over real HTTP; nothing here is mocked.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { projectRoot } from '../src/app';
import type { DemoWorld } from '../src/dev/people';
import type { SimDataset } from '../src/dev/simulator';
import { ensureDatabase, startEmbeddedPostgres, tempDataDir } from '../src/store/embedded';

export interface BenchDatabase {
  /** URL of the server's `postgres` database; create databases with `createDatabase`. */
  adminUrl: string;
  serverVersion: string;
  kind: 'embedded' | 'DATABASE_URL';
  stop(): Promise<void>;
}

export async function startBenchDatabase(): Promise<BenchDatabase> {
  const given = process.env.BENCH_ADMIN_DATABASE_URL ?? process.env.DATABASE_URL;
  let adminUrl: string;
  let stop: () => Promise<void> = async () => undefined;
  let kind: BenchDatabase['kind'] = 'DATABASE_URL';
  if (given) adminUrl = given;
  else {
    const server = await startEmbeddedPostgres({ dataDir: path.join(tempDataDir(), 'data'), persistent: false });
    adminUrl = server.adminUrl;
    stop = () => server.stop();
    kind = 'embedded';
  }
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  const { rows } = await c.query<{ server_version: string }>('SHOW server_version');
  await c.end();
  return { adminUrl, serverVersion: rows[0]?.server_version ?? 'unknown', kind, stop };
}

/** A new, empty database on the server; returns its URL. */
export async function createDatabase(adminUrl: string, label: string): Promise<string> {
  return ensureDatabase(
    adminUrl,
    `isnotai_bench_${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${crypto.randomBytes(4).toString('hex')}`,
  );
}

export async function dropDatabase(adminUrl: string, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await c.end();
}

/** Nearest-rank percentile of a list of numbers (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  postgres: string;
}

export function machine(postgres: string): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    postgres,
  };
}

/** Writes bench/results/<name>-<YYYY-MM-DD>.json (in the source tree, not dist/) and returns its path. */
export function writeResults(name: string, data: unknown): string {
  const dir = path.join(projectRoot(), 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  // BENCH_LABEL tells runs of one day apart (e.g. `before`, `after`, `reviewed-500`).
  const label = process.env.BENCH_LABEL ? `-${process.env.BENCH_LABEL.replace(/[^a-z0-9-]/gi, '')}` : '';
  const file = path.join(dir, `${name}${label}-${new Date().toISOString().slice(0, 10)}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Array<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] as object);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((v, i) => v.padStart(width[i] as number)).join('  ');
  process.stdout.write(line(cols) + '\n' + line(width.map((w) => '-'.repeat(w))) + '\n');
  for (const r of rows) process.stdout.write(line(cols.map((c) => String(r[c]))) + '\n');
}

export { MiB, rssSampler } from './rss';

/**
 * What reading a course's learners one by one (`/v1/users/{id}/sessions`, pages of `page`) costs at the least: each
 * learner's pages, the requests in all, and the fewest sequential rounds `c` requests in flight allow (the busiest
 * learner's pages, or the requests ÷ c).
 */
export function perUserReads(world: DemoWorld, dataset: SimDataset, courseId: string, page: number) {
  const course = world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === courseId)!;
  const learnerIds = course.members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
  const perLearnerPages = learnerIds.map((id) => Math.max(1, Math.ceil(dataset.sessionsForUser(id).length / page)));
  const perUserRequests = perLearnerPages.reduce((a, b) => a + b, 0);
  const maxPagesOneLearner = Math.max(...perLearnerPages);
  return {
    learnerIds,
    perLearnerPages,
    perUserRequests,
    maxPagesOneLearner,
    rounds: (c: number) => Math.max(maxPagesOneLearner, Math.ceil(perUserRequests / c)),
  };
}

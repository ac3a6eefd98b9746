/**
 * The whole development stack in one process: the isnotai simulator, the LMS emulator (Moodle- and
 * Canvas-shaped), and the tool registered with both, on a real PostgreSQL. The demo and the
 * integration tests start exactly this, with different ports and knobs.
 */
import { startTool, type RunningTool } from '../bootstrap';
import { loadConfig } from '../config';
import type { Logger } from '../log';
import { startLmsEmulator, type LmsEmulator, type PlatformRegistration } from './lms';
import { buildWorld, type DemoWorld, type WorldOptions } from './people';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from './simulator';

export interface StackOptions {
  databaseUrl: string;
  logger: Logger;
  world?: DemoWorld;
  worldOptions?: WorldOptions;
  ports?: { tool?: number; lms?: number; simulator?: number };
  /** Host names: the demo serves the LMS on `localhost` and the tool on `127.0.0.1`, so that the
   * tool in the LMS iframe is cross-site, as it is in production. */
  hosts?: { tool?: string; lms?: string };
  simulator?: Omit<SimulatorOptions, 'world' | 'port'>;
  /** Environment for the tool's config (merged over the stack's own). */
  env?: Record<string, string>;
  /** isnotai key each platform uses (default: the simulator's Pro key). */
  apiKey?: string;
  /** Without it the tool uses its development key kept in .data/ (the demo). */
  encryptionKey?: string;
  /** Keep the emulated LMS's signing keys here (the demo keeps them across restarts). */
  lmsKeyDir?: string;
  /** Student visibility for the Moodle platform (Canvas uses the default, full). */
  moodleStudentVisibility?: 'full' | 'summary' | 'notice';
  /** Identity mapping of the Canvas platform (default custom:canvas_user_id). */
  canvasIdentity?: string;
  /** More PLATFORMS_JSON fields per platform (identity, identityPattern, thresholds, …). */
  platformSettings?: { moodle?: Record<string, unknown>; canvas?: Record<string, unknown> };
  /**
   * Default true: both emulated platforms are in PLATFORMS_JSON. false: PLATFORMS_JSON is `[]`, so
   * the tool knows no platform until one registers (Moodle: Dynamic Registration through the
   * emulator's startltiadvregistration.php).
   */
  preregistered?: boolean;
}

export interface Stack {
  world: DemoWorld;
  simulator: RunningSimulator;
  lms: LmsEmulator;
  tool: RunningTool;
  stop(): Promise<void>;
}

export function platformEntry(
  reg: PlatformRegistration,
  isnotai: { apiKey: string; baseUrl: string },
  extra: Record<string, unknown> = {},
) {
  return {
    name: reg.name,
    kind: reg.kind,
    issuer: reg.issuer,
    clientId: reg.clientId,
    deploymentIds: [reg.deploymentId],
    authenticationEndpoint: reg.authenticationEndpoint,
    accesstokenEndpoint: reg.accesstokenEndpoint,
    jwksUrl: reg.jwksUrl,
    isnotai,
    ...extra,
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const world = options.world ?? buildWorld(options.worldOptions);
  const simulator = await startSimulator({ ...options.simulator, world, port: options.ports?.simulator ?? 0 });
  const toolHost = options.hosts?.tool ?? '127.0.0.1';
  const toolPort = options.ports?.tool ?? 0;
  // The tool's port may be chosen by the OS; the emulator learns it once the tool listens.
  const lms = await startLmsEmulator({
    world,
    toolUrl: `http://${toolHost}:${toolPort || 1}`,
    port: options.ports?.lms ?? 0,
    host: options.hosts?.lms,
    keyDir: options.lmsKeyDir,
  });
  const isnotai = { apiKey: options.apiKey ?? 'aik_v1_sim_pro', baseUrl: simulator.url };
  const platforms = [
    platformEntry(lms.platforms.moodle, isnotai, {
      ...(options.moodleStudentVisibility ? { studentVisibility: options.moodleStudentVisibility } : {}),
      ...options.platformSettings?.moodle,
    }),
    platformEntry(lms.platforms.canvas, isnotai, {
      ...(options.canvasIdentity ? { identity: options.canvasIdentity } : {}),
      ...options.platformSettings?.canvas,
    }),
  ];
  const config = loadConfig({
    NODE_ENV: 'development',
    ...(options.encryptionKey ? { ENCRYPTION_KEY: options.encryptionKey } : {}),
    LOG_LEVEL: 'silent',
    PLATFORMS_JSON: options.preregistered === false ? '[]' : JSON.stringify(platforms),
    // What an LMS registers by Dynamic Registration reads the simulator until its admins choose otherwise.
    ISNOTAI_BASE_URL: simulator.url,
    // The emulated LMS is on 127.0.0.1: Dynamic Registration may reach it (unless the caller's env says otherwise).
    ALLOW_PRIVATE_LMS_HOSTS: 'true',
    ...options.env,
  });
  let tool: RunningTool;
  try {
    tool = await startTool({ config, logger: options.logger, databaseUrl: options.databaseUrl, port: toolPort, host: toolHost });
  } catch (err) {
    await lms.close();
    await simulator.close();
    throw err;
  }
  lms.setToolUrl(tool.url);
  return {
    world,
    simulator,
    lms,
    tool,
    async stop() {
      await tool.stop();
      await lms.close();
      await simulator.close();
    },
  };
}

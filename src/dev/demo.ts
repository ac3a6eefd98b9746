/**
 * `npm run demo`: the embedded PostgreSQL (kept in .data/postgres), the isnotai simulator, the LMS
 * emulator and the tool, started together. Prints the demo LMS page's URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../app';
import { resolveDatabase, stopOnSignals } from '../bootstrap';
import { loadConfig } from '../config';
import { createLogger } from '../log';
import { seedDemoReviews } from './demoReviews';
import { startStack } from './stack';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
  const db = await resolveDatabase(config, logger);
  const dataDir = path.join(projectRoot(), '.data');
  fs.mkdirSync(dataDir, { recursive: true });
  // Without ENCRYPTION_KEY the tool keeps a development key in .data/ (beside the database),
  // so the stored platform keys stay readable across restarts.
  const env: Record<string, string> = { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
  const toolPort = Number(process.env.PORT ?? 3000);
  const lmsPort = Number(process.env.LMS_PORT ?? 3001);
  const simPort = Number(process.env.SIM_PORT ?? 4010);
  let stack;
  try {
    stack = await startStack({
      databaseUrl: db.url,
      logger,
      ports: { tool: toolPort, lms: lmsPort, simulator: simPort },
      hosts: { tool: '127.0.0.1', lms: 'localhost' },
      simulator: { latencyMs: Number(process.env.SIM_LATENCY_MS ?? 40), jitterMs: Number(process.env.SIM_JITTER_MS ?? 20) },
      lmsKeyDir: path.join(dataDir, 'lms-keys'),
      // The demo Moodle's administrator may activate what the demo LMS page registers ("Register the tool").
      platformSettings: { moodle: { toolWide: true } },
      env,
    });
  } catch (err) {
    await db.embedded?.stop();
    throw err;
  }
  // A few learners of LTI101 arrive already reviewed, so the work queue and the case packet show something at once.
  const seeded = await seedDemoReviews(stack.tool.store, stack.world, stack.lms.platforms.moodle, stack.simulator.dataset);
  if (seeded > 0) logger.info({ learners: seeded, course: 'LTI101' }, 'seeded demo review records');
  const lmsPage = stack.lms.url.replace('127.0.0.1', 'localhost');
  process.stdout.write(
    `\n  Demo LMS:        ${lmsPage}/\n  Tool:            ${stack.tool.url}\n  isnotai sim:     ${stack.simulator.url} (keys aik_v1_sim_pro, aik_v1_sim_free)\n  Database:        ${db.embedded ? `embedded PostgreSQL in ${db.embedded.dataDir}` : 'DATABASE_URL'}\n\n  Open the Demo LMS page and press “Launch as …”, or “Register the tool” (${stack.tool.url}/register) and then\n  “Add to an activity”. Ctrl-C stops everything.\n\n`,
  );
  stopOnSignals(logger, [() => stack.stop(), () => db.embedded?.stop()]);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

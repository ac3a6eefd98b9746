/**
 * Production entry point: `npm start` (or `node dist/src/server.js`). Configuration comes from the
 * environment (see .env.example); the LMS registrations from PLATFORMS_JSON.
 */
import { resolveDatabase, startTool, stopOnSignals } from './bootstrap';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.example for every setting.\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const db = await resolveDatabase(config, logger);
  const running = await startTool({ config, logger, databaseUrl: db.url, port: config.port, host: '0.0.0.0' });
  stopOnSignals(logger, [() => running.stop(), () => db.embedded?.stop()]);
}

main().catch((err) => {
  process.stderr.write(`Start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

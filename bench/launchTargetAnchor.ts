/**
 * The launch benchmark's anchor (bench/launch.ts): bare ltijs 5.9.9, what any ltijs tool does at
 * the least for a launch, so that the tool's figures read against it. Its own process and database.
 *
 * ltijs's own Provider (`require('ltijs').Provider`, set up once: this process holds nothing
 * else) with the project's Database plugin (src/store/ltijsPlugin.ts) on a pg pool, after the
 * project's migrations (the plugin's tables), and its expiry sweeper, as the tool runs them
 * (src/bootstrap.ts). The options are the tool's (src/lti/provider.ts: the routes, no CORS,
 * devMode off so every launch check stays, a 60 s token age) but for the cookies, which are those
 * ltijs needs on plain http (not Secure, SameSite left to ltijs: Lax), and no middleware of the
 * tool's. The emulated Moodle is registered as the tool registers a platform (JWK_SET: the LMS's
 * JWKS URL), and `onConnect` answers one line of HTML naming the user (launchTarget.ts anchorPage).
 *
 *   Run by bench/launch.ts: node dist/bench/launchTargetAnchor.js (BENCH_TARGET and an IPC channel).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'ltijs';
import { createLogger } from '../src/log';
import { migrateToLatest, openDatabase, PostgresLtiDatabase, startSweeper } from '../src/store';
import { anchorPage, runTarget, type StartedTarget, type TargetSetup } from './launchTarget';

/** As the tool's: src/bootstrap.ts (nonce TTL) and src/config.ts (TOKEN_MAX_AGE_SECONDS default). */
const TOKEN_MAX_AGE_SECONDS = 60;

async function startAnchor(setup: TargetSetup): Promise<StartedTarget> {
  const logger = createLogger('silent');
  const store = await openDatabase({ url: setup.databaseUrl, logger });
  await migrateToLatest(store.db, logger);
  const stopSweeper = startSweeper(store.db, { intervalMs: 60_000, logger });
  const plugin = new PostgresLtiDatabase(store, { ttlSeconds: { nonce: Math.max(600, TOKEN_MAX_AGE_SECONDS * 2) } });

  Provider.setup(
    setup.encryptionKey,
    { plugin },
    {
      appRoute: '/',
      loginRoute: '/login',
      keysetRoute: '/keys',
      cors: false,
      devMode: false,
      tokenMaxAge: TOKEN_MAX_AGE_SECONDS,
      cookies: { secure: false, sameSite: '' },
    },
  );
  Provider.onConnect((token, _req, res) => {
    res.type('html').send(anchorPage(token.user));
  });
  await Provider.deploy({ serverless: true, silent: true });
  const m = setup.moodle;
  const registered = await Provider.registerPlatform({
    url: m.issuer,
    name: m.name,
    clientId: m.clientId,
    authenticationEndpoint: m.authenticationEndpoint,
    accesstokenEndpoint: m.accesstokenEndpoint,
    authConfig: { method: 'JWK_SET', key: m.jwksUrl },
  });
  if (!registered) throw new Error(`ltijs did not register ${m.issuer}`);

  const server = http.createServer(Provider.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await stopSweeper();
      await store.close();
    },
  };
}

runTarget(startAnchor);

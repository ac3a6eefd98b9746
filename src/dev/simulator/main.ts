/**
 * Standalone simulator: `PORT=4010 npm run simulator`.
 * Env: PORT (default 4010), HOST (default 127.0.0.1), SIM_LATENCY_MS, SIM_JITTER_MS,
 * SIM_FAULT_503_RATE, SIM_FAULT_TIMEOUT_RATE, SIM_FAULT_MALFORMED_RATE, SIM_FAULT_429_RATE,
 * SIM_DETAILS_UNAVAILABLE_RATE, SIM_SEED, SIM_BIG_COURSE (learners in an extra Canvas course).
 */
import { buildWorld } from '../people';
import { startSimulator } from './server';

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const bigCourse = num('SIM_BIG_COURSE', 0);
  const sim = await startSimulator({
    port: num('PORT', 4010),
    host: process.env.HOST || '127.0.0.1',
    latencyMs: num('SIM_LATENCY_MS', 0),
    jitterMs: num('SIM_JITTER_MS', 0),
    seed: process.env.SIM_SEED ? num('SIM_SEED', 0) : undefined,
    world: buildWorld(bigCourse ? { bigCourseLearners: bigCourse } : {}),
    faults: {
      errorRate503: num('SIM_FAULT_503_RATE', 0),
      timeoutRate: num('SIM_FAULT_TIMEOUT_RATE', 0),
      malformedRate: num('SIM_FAULT_MALFORMED_RATE', 0),
      rate429: num('SIM_FAULT_429_RATE', 0),
      detailsUnavailableRate: num('SIM_DETAILS_UNAVAILABLE_RATE', 0),
    },
  });
  const sessions = sim.dataset.allSessions();
  console.log(`isnotai simulator listening on ${sim.url}`);
  console.log(`  users: ${sim.dataset.userIds().length}, sessions: ${sessions.length}, now: ${sim.dataset.now.toISOString()}`);
  console.log('  accepted keys (Authorization: Bearer <key>):');
  for (const [key, tier] of Object.entries(sim.keys)) console.log(`    ${key}  (${tier} tier)`);
  console.log(`  try: curl -H 'Authorization: Bearer aik_v1_sim_pro' '${sim.url}/v1/users/4/sessions'`);
  const stop = () => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

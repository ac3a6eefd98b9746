/**
 * The parent's side of a benchmark target (bench/launchTarget.ts): starting one in a process of its own, asking it for
 * its memory, and stopping it. Used by bench/launch.ts and bench/rosterScale.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ChildMessage, TargetMark, TargetName, TargetSetup, TargetStats } from './launchTarget';

/** How long a target may take to start (the tool runs its migrations; ltijs makes an RSA key per platform). */
const START_TIMEOUT_MS = 120_000;

export function spawnTarget(name: TargetName, file: string, setup: TargetSetup): Promise<ChildProcess & { readyUrl: string }> {
  // BENCH_CPU_PROFILE_DIR: each target writes a V8 CPU profile there when it stops (Chrome DevTools reads them).
  const profile = process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, path.join(__dirname, file)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Express reads NODE_ENV itself (view cache, error pages): production, as deployed.
    env: { ...process.env, NODE_ENV: 'production', BENCH_TARGET: JSON.stringify(setup) },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${name}: not ready after ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited (${code ?? signal}) before it was ready`));
    };
    child.once('exit', onExit);
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(Object.assign(child, { readyUrl: m.url }));
      } else if (m.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`${name} did not start:\n${m.message}`));
      }
    });
  });
}

/** A target's RSS now and its peak since the last mark (bench/launchTarget.ts). */
export function markTarget(child: ChildProcess): Promise<TargetMark> {
  return new Promise((resolve) => {
    const onMessage = (m: ChildMessage) => {
      if (m.type !== 'mark') return;
      child.off('message', onMessage);
      resolve(m.mark);
    };
    child.on('message', onMessage);
    child.send({ type: 'mark' });
  });
}

/** Asks a target for its memory figures and to stop; kills it if it has not ended 30 s later. */
export function stopTarget(t: { child: ChildProcess; exited?: string }): Promise<TargetStats | undefined> {
  if (t.exited || t.child.exitCode !== null) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let stats: TargetStats | undefined;
    const timer = setTimeout(() => {
      t.child.kill('SIGKILL');
      resolve(stats);
    }, 30_000);
    t.child.on('message', (m: ChildMessage) => {
      if (m.type === 'stats') stats = m.stats;
    });
    t.child.once('exit', () => {
      clearTimeout(timer);
      resolve(stats);
    });
    t.child.send({ type: 'stop' });
  });
}

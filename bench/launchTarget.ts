/**
 * What the launch benchmark (bench/launch.ts) and its targets share: the setup the parent hands a
 * target (environment variable BENCH_TARGET, JSON), the messages on the IPC channel, and the loop a
 * target runs: start, report its URL, serve until told to stop, then report its peak RSS and stop.
 *
 * A target is a child process of its own (launchTargetAnchor.ts, launchTargetTool.ts), so its RSS
 * is its own: the LMS emulator, the simulator and the agents live in the parent. Nothing else is
 * loaded here (src/dev as types only, not bench/support.ts, which loads the tool's app), so the
 * anchor's memory holds ltijs and the store, and nothing of the tool.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MiB, rssSampler } from './rss';
import type { PlatformRegistration } from '../src/dev/lms';

export type TargetName = 'anchor' | 'tool' | 'before';

export interface TargetSetup {
  name: TargetName;
  /** A database of its own (bench/support.ts createDatabase), empty. */
  databaseUrl: string;
  /** The emulated Moodle, as the LMS emulator in the parent registers it. */
  moodle: PlatformRegistration;
  /** Signs ltiks and cookies; the tool also encrypts its stored secrets with it. */
  encryptionKey: string;
  /** tool and before: PLATFORMS_JSON (built by the parent with platformEntry) and the simulator's URL. */
  platformsJson?: string;
  simulatorUrl?: string;
  /** tool and before: the build to run (a `dist` directory holding src/bootstrap.js). */
  distDir?: string;
  /** tool and before: more configuration (e.g. UPSTREAM_CONCURRENCY), over the target's own. */
  env?: Record<string, string>;
}

/** `mark`: the target answers its RSS now and its peak since the last mark (or its start), and starts a new mark. */
export type ParentMessage = { type: 'stop' } | { type: 'mark' };

export interface TargetMark {
  rssMiB: number;
  /** Highest RSS sampled every 20 ms since the last mark. */
  peakMiB: number;
  /** CPU time (user and system) the target used since the last mark. */
  cpuMs: number;
  /** How late its event loop ran since the last mark (ms past due, sampled every 10 ms): how long work waited on other work. */
  loopDelay: { mean: number; p99: number; max: number };
}

export interface TargetStats {
  /** Highest RSS sampled every 20 ms from start to stop. */
  peakRssMiB: number;
  /** The kernel's high-water mark for the process (process.resourceUsage().maxRSS). */
  maxRssMiB: number;
  /** RSS when told to stop (after every run). */
  endRssMiB: number;
  /** RSS once started, before the first launch. */
  startRssMiB: number;
  startMs: number;
}

export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'stats'; stats: TargetStats }
  | { type: 'mark'; mark: TargetMark }
  | { type: 'failed'; message: string };

export interface StartedTarget {
  url: string;
  stop(): Promise<void>;
}

/** The anchor's whole answer to a launch: one line, naming the user ltijs validated. */
export function anchorPage(user: string): string {
  return `<!doctype html><title>Launched</title><p data-user="${user.replace(/[^A-Za-z0-9_.:@-]/g, '')}">Launched.</p>\n`;
}

const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;
/** The event loop's delay histogram samples every LOOP_SAMPLE_MS. */
export const LOOP_SAMPLE_MS = 10;
/** How much later than due a sample of that histogram (ns) ran, in ms to 0.1. */
export const late = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - LOOP_SAMPLE_MS) * 10) / 10);

/** Runs in a target process: starts it, reports its URL, and on `stop` reports its memory and exits. */
export function runTarget(start: (setup: TargetSetup) => Promise<StartedTarget>): void {
  const raw = process.env.BENCH_TARGET;
  if (!raw || !process.send) throw new Error('a launch target runs as a child of bench/launch.ts (BENCH_TARGET and an IPC channel)');
  const setup = JSON.parse(raw) as TargetSetup;
  // The sampler's peak restarts at each mark; the peaks before the last mark are kept here.
  const sampler = rssSampler(20);
  let peakBefore = 0;
  let markCpu = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  loop.enable();
  const t0 = Date.now();
  start(setup).then(
    (target) => {
      const startMs = Date.now() - t0;
      const startRss = process.memoryUsage.rss();
      let stopping = false;
      const stopAndExit = async (): Promise<void> => {
        if (stopping) return;
        stopping = true;
        sampler.stop();
        await target.stop().catch(() => undefined);
        process.exit(0);
      };
      process.on('message', (m: ParentMessage) => {
        if (m.type === 'mark') {
          const rss = process.memoryUsage.rss();
          const peakSince = Math.max(sampler.peak(), rss);
          peakBefore = Math.max(peakBefore, peakSince);
          const cpu = process.cpuUsage(markCpu);
          const mark: TargetMark = {
            rssMiB: mib(rss),
            peakMiB: mib(peakSince),
            cpuMs: Math.round((cpu.user + cpu.system) / 1000),
            loopDelay: { mean: late(loop.mean), p99: late(loop.percentile(99)), max: late(loop.max) },
          };
          sampler.reset();
          markCpu = process.cpuUsage();
          loop.reset();
          process.send?.({ type: 'mark', mark } satisfies ChildMessage);
          return;
        }
        if (m.type !== 'stop') return;
        const stats: TargetStats = {
          peakRssMiB: mib(Math.max(peakBefore, sampler.peak(), process.memoryUsage.rss())),
          maxRssMiB: mib(process.resourceUsage().maxRSS * 1024),
          endRssMiB: mib(process.memoryUsage.rss()),
          startRssMiB: mib(startRss),
          startMs,
        };
        process.send?.({ type: 'stats', stats } satisfies ChildMessage, () => void stopAndExit());
      });
      // The parent gone, nothing is left to serve.
      process.on('disconnect', () => void stopAndExit());
      process.send?.({ type: 'ready', url: target.url } satisfies ChildMessage);
    },
    (err: unknown) => {
      sampler.stop();
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.send?.({ type: 'failed', message } satisfies ChildMessage, () => process.exit(1));
    },
  );
}

/**
 * Sampling a process's RSS for the benchmarks. Nothing of the project is imported here, so that a benchmark target
 * (bench/launchTarget.ts) measures only what it runs.
 */
export const MiB = 1024 * 1024;

/** Samples this process's RSS every `everyMs` and keeps the peak (`reset`: from now on). */
export function rssSampler(everyMs = 20): { peak(): number; stop(): number; reset(): void } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, everyMs);
  timer.unref();
  return {
    peak: () => peak,
    reset: () => {
      peak = process.memoryUsage.rss();
    },
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

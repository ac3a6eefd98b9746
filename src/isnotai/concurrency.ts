/**
 * Bounded concurrency for fan-out (e.g. one isnotai call per roster member). Results keep the
 * input order; each item settles on its own, so one learner's failure does not sink the roster.
 */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<Array<Settled<R>>> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`mapWithConcurrency: limit must be an integer ≥ 1, got ${limit}`);
  const results = new Array<Settled<R>>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { ok: true, value: await fn(items[index] as T, index) };
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
  }
  const workers = Array.from({ length: Math.min(limit, items.length) }, () => worker());
  await Promise.all(workers);
  return results;
}

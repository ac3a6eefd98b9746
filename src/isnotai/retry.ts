/** Retry policy: bounded attempts, jittered exponential backoff, Retry-After honoured. */

export interface RetryPolicy {
  /** Extra attempts after the first (default 3, so at most 4 requests). */
  retries: number;
  /** First backoff step (default 200 ms); doubles each attempt. */
  baseDelayMs: number;
  /** Ceiling of one backoff step (default 2000 ms). */
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error surfaces instead (default 10 s). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 3, baseDelayMs: 200, maxDelayMs: 2000, maxRetryAfterMs: 10_000 };

/**
 * "Equal jitter": half the exponential step is fixed, half is random, so concurrent clients that
 * failed together do not retry together, yet each still waits a meaningful minimum.
 * attempt is 1 for the first retry.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Parses a Retry-After header: delta-seconds (`"2"`) or an HTTP-date. Returns milliseconds from
 * `now`, never negative; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Why a signal aborted, as an Error (AbortSignal.reason may be any value a caller passed to abort()). */
function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}

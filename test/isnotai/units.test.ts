/** Pure pieces of the client: retry arithmetic, pagination, bounded concurrency. */
import { backoffDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfter } from '../../src/isnotai/retry';
import { mapWithConcurrency } from '../../src/isnotai/concurrency';
import { paginate } from '../../src/isnotai/pagination';
import { IsnotaiPaginationError } from '../../src/isnotai/errors';
import { parseEventType } from '../../src/isnotai/eventTypes';
import { collectAll } from './helpers';

describe('Retry-After', () => {
  test('delta-seconds', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(['0'])).toBe(0);
  });
  test('HTTP-date, relative to now, never negative', () => {
    const now = Date.parse('2026-11-20T12:00:00Z');
    expect(parseRetryAfter('Fri, 20 Nov 2026 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Fri, 20 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });
  test('absent or garbage', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

test('backoff doubles per attempt, is jittered within [step/2, step], and is capped', () => {
  const p = DEFAULT_RETRY_POLICY; // 200 ms base, 2000 ms cap
  expect(backoffDelayMs(1, p, () => 0)).toBe(100);
  expect(backoffDelayMs(1, p, () => 0.999999)).toBe(200);
  expect(backoffDelayMs(3, p, () => 0)).toBe(400);
  expect(backoffDelayMs(10, p, () => 0.999999)).toBe(2000);
});

describe('mapWithConcurrency', () => {
  test('keeps order, never exceeds the limit, and isolates failures', async () => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const results = await mapWithConcurrency(items, 4, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, (n * 7) % 5));
      running--;
      if (n % 5 === 3) throw new Error(`boom ${n}`);
      return n * 10;
    });
    expect(peak).toBe(4);
    expect(results).toHaveLength(20);
    results.forEach((r, i) => {
      if (i % 5 === 3) expect(r).toEqual({ ok: false, error: new Error(`boom ${i}`) });
      else expect(r).toEqual({ ok: true, value: i * 10 });
    });
  });
  test('empty input and a bad limit', async () => {
    expect(await mapWithConcurrency([], 3, async () => 1)).toEqual([]);
    await expect(mapWithConcurrency([1], 0, async () => 1)).rejects.toThrow(/limit/);
  });
});

describe('paginate', () => {
  const pages: Record<string, { data: number[]; next: string | null }> = {
    start: { data: [1, 2], next: 'c1' },
    c1: { data: [3, 4], next: 'c2' },
    c2: { data: [5], next: null },
  };
  const fetch = async (cursor: string | undefined) => {
    const p = pages[cursor ?? 'start']!;
    return { data: p.data, pagination: { nextCursor: p.next, hasMore: p.next !== null, limit: 2 } };
  };
  test('follows cursors to the end', async () => {
    expect(await collectAll(paginate('E', fetch))).toEqual([1, 2, 3, 4, 5]);
  });
  test('maxItems truncates inside a page; maxPages stops between pages', async () => {
    expect(await collectAll(paginate('E', fetch, { maxItems: 3 }))).toEqual([1, 2, 3]);
    expect(await collectAll(paginate('E', fetch, { maxPages: 1 }))).toEqual([1, 2]);
  });
  test('a cursor that points back to itself is caught', async () => {
    const loop = async () => ({ data: [1], pagination: { nextCursor: 'same', hasMore: true, limit: 1 } });
    await expect(collectAll(paginate('E', loop))).rejects.toBeInstanceOf(IsnotaiPaginationError);
  });
});

test('event types parse as decimal, hex or name, and nothing else', () => {
  expect(parseEventType('2')?.name).toBe('mouse_move');
  expect(parseEventType('0x02')?.name).toBe('mouse_move');
  expect(parseEventType('0X0d')?.name).toBe('page_view');
  expect(parseEventType('MOUSE_MOVE')?.id).toBe(2);
  expect(parseEventType('99')).toBeUndefined();
  expect(parseEventType('0x')).toBeUndefined();
  expect(parseEventType('mouse')).toBeUndefined();
});

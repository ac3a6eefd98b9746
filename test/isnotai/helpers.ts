import { request } from 'undici';
import type { IsnotaiSession } from '../../src/isnotai/types';

export const PRO_KEY = 'aik_v1_sim_pro';
export const FREE_KEY = 'aik_v1_sim_free';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the wire shape is checked with matchers, not through our types
type WireBody = any;

/** A raw GET to the simulator (no client), for asserting on the wire contract itself. The body is
 * untyped on purpose: these tests check the wire shape with matchers, not through our types. */
export async function rawGet(
  baseUrl: string,
  path: string,
  key: string | null = PRO_KEY,
): Promise<{ status: number; body: WireBody; headers: Record<string, unknown> }> {
  const res = await request(baseUrl + path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text), headers: res.headers };
}

export function ids(sessions: readonly IsnotaiSession[]): string[] {
  return sessions.map((s) => s.id);
}

export async function collectAll<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/**
 * Opaque cursors: base64url(JSON) + "." + a truncated HMAC, so a client cannot forge or edit one
 * (→ 400 invalid_cursor), and a cursor issued for one list (scope + filters) is refused on
 * another. They carry an offset into the (static) ordered result, so they survive a whole walk,
 * even if the client changes pageSize between pages.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface CursorState {
  /** Which list and filters the cursor belongs to, e.g. `sessions|status=active`. */
  scope: string;
  offset: number;
}

export interface CursorCodec {
  encode(state: CursorState): string;
  /** Returns the state, or a reason why the cursor is not acceptable. */
  decode(cursor: string, expectedScope: string): { ok: true; state: CursorState } | { ok: false; reason: string };
}

export function createCursorCodec(secret: string): CursorCodec {
  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest().subarray(0, 12);
  return {
    encode(state) {
      const payload = Buffer.from(JSON.stringify({ s: state.scope, o: state.offset })).toString('base64url');
      return `${payload}.${sign(payload).toString('base64url')}`;
    },
    decode(cursor, expectedScope) {
      const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(cursor);
      if (!m) return { ok: false, reason: 'malformed cursor' };
      const [, payload, mac] = m as unknown as [string, string, string];
      const given = Buffer.from(mac, 'base64url');
      const want = sign(payload);
      if (given.length !== want.length || !timingSafeEqual(given, want))
        return { ok: false, reason: 'cursor signature does not match (forged or altered)' };
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        return { ok: false, reason: 'malformed cursor' };
      }
      const p = parsed as { s?: unknown; o?: unknown };
      if (typeof p.s !== 'string' || typeof p.o !== 'number' || !Number.isInteger(p.o) || p.o < 0)
        return { ok: false, reason: 'malformed cursor' };
      if (p.s !== expectedScope) return { ok: false, reason: 'cursor was issued for a different list or different filters' };
      return { ok: true, state: { scope: p.s, offset: p.o } };
    },
  };
}

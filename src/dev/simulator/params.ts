/**
 * Query-parameter parsing for the simulator, to the letter of isnotai's documentation
 * (docs/isnotai.md). Each failure is a 400 whose `details` names the parameter, the value and the
 * reason.
 */
import { parseEventType, EVENT_TYPES, type EventTypeInfo } from '../../isnotai/eventTypes';

export type Tier = 'free' | 'pro' | 'enterprise';
export const TIER_MAX_PAGE: Record<Tier, number> = { free: 50, pro: 100, enterprise: 100 };
export const SESSION_STATUSES = ['active', 'closed'] as const;
const INT32_MAX = 2 ** 31 - 1;

export class SimBadRequest extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

function bad(parameter: string, value: string, reason: string, extra: Record<string, unknown> = {}): SimBadRequest {
  return new SimBadRequest('invalid_parameter', `Invalid value for '${parameter}': ${reason}`, { parameter, value, reason, ...extra });
}

/** Only the last occurrence counts when a parameter is repeated (like most servers). */
function one(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  return all.length ? all[all.length - 1] : undefined;
}

export function parsePageSize(q: URLSearchParams, defaultSize: number, tier: Tier): number {
  const max = TIER_MAX_PAGE[tier];
  const raw = one(q, 'pageSize');
  if (raw === undefined) return Math.min(defaultSize, max);
  if (!/^[+]?\d+$/.test(raw.trim())) throw bad('pageSize', raw, 'must be an integer');
  const n = Number(raw.trim());
  if (n < 1) throw bad('pageSize', raw, 'must be at least 1', { minimum: 1 });
  if (n > INT32_MAX) throw bad('pageSize', raw, 'must fit in int32');
  return Math.min(n, max);
}

export function parseCursor(q: URLSearchParams): string | undefined {
  const raw = one(q, 'cursor');
  return raw === undefined || raw === '' ? undefined : raw;
}

export function parseStatus(q: URLSearchParams): string | undefined {
  const raw = one(q, 'status');
  if (raw === undefined) return undefined;
  if (!(SESSION_STATUSES as readonly string[]).includes(raw))
    throw bad('status', raw, `must be one of ${SESSION_STATUSES.join(', ')}`, { allowed: [...SESSION_STATUSES] });
  return raw;
}

export function parseBotOnly(q: URLSearchParams): boolean | undefined {
  const raw = one(q, 'botOnly');
  if (raw === undefined) return undefined;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw bad('botOnly', raw, 'must be true or false');
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseDate(q: URLSearchParams, name: 'startDate' | 'endDate'): number | undefined {
  const raw = one(q, name);
  if (raw === undefined) return undefined;
  const ms = ISO_DATE_TIME.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms)) throw bad(name, raw, 'must be an ISO-8601 date-time, e.g. 2026-11-01T00:00:00Z');
  return ms;
}

export function parseUnixMs(q: URLSearchParams, name: 'startTime' | 'endTime'): number | undefined {
  const raw = one(q, name);
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,16}$/.test(raw.trim())) throw bad(name, raw, 'must be an integer number of Unix milliseconds');
  return Number(raw.trim());
}

export function parseType(q: URLSearchParams): EventTypeInfo | undefined {
  const raw = one(q, 'type');
  if (raw === undefined) return undefined;
  const t = parseEventType(raw);
  if (!t) {
    throw bad('type', raw, 'unknown event type; use a message-type byte as decimal or hex, or a short name', {
      allowed: EVENT_TYPES.map((e) => ({ id: e.id, hex: `0x${e.id.toString(16).padStart(2, '0')}`, name: e.name })),
    });
  }
  return t;
}

export function checkRange(lo: number | undefined, hi: number | undefined, loName: string, hiName: string): void {
  if (lo !== undefined && hi !== undefined && lo > hi) {
    throw new SimBadRequest('invalid_parameter', `'${loName}' is after '${hiName}'`, {
      parameter: loName,
      reason: `must not be after ${hiName}`,
      [loName]: lo,
      [hiName]: hi,
    });
  }
}

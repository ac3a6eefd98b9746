/**
 * Maps an LMS identity onto the isnotai userId (PRODUCT.md "Identity"). The same mapping is applied
 * to the launching user and to Names and Roles members, or the instructor's roster and a student's
 * own view would disagree.
 */
export type IdentityStrategy = 'sub' | 'lis_person_sourcedid' | 'lti11_legacy_user_id' | `custom:${string}`;

export const DEFAULT_STRATEGY: Record<'moodle' | 'canvas' | 'other', IdentityStrategy> = {
  moodle: 'sub',
  // Canvas's sub is an opaque UUID; the numeric user id only arrives through a custom parameter
  // set to $Canvas.user.id.
  canvas: 'custom:canvas_user_id',
  other: 'sub',
};

export interface LaunchIdentitySource {
  sub: string;
  custom?: Record<string, unknown> | null;
  lis?: { person_sourcedid?: unknown } | null;
  lti11LegacyUserId?: unknown;
}

export interface MemberIdentitySource {
  user_id: string;
  lis_person_sourcedid?: unknown;
  lti11_legacy_user_id?: unknown;
  /** Names and Roles with `rlid`: the messages with substituted custom claims (Canvas). */
  message?: unknown;
  [k: string]: unknown;
}

const CUSTOM_CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/custom';

function asId(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  // An unsubstituted variable (Canvas sends "$Canvas.user.id" back when it cannot fill it).
  if (s === '' || s.startsWith('$')) return null;
  return s.length <= 255 ? s : null;
}

export function userIdFromLaunch(src: LaunchIdentitySource, strategy: IdentityStrategy): string | null {
  if (strategy === 'sub') return asId(src.sub);
  if (strategy === 'lis_person_sourcedid') return asId(src.lis?.person_sourcedid);
  if (strategy === 'lti11_legacy_user_id') return asId(src.lti11LegacyUserId);
  const name = strategy.slice('custom:'.length);
  return asId(src.custom?.[name]);
}

export function userIdFromMember(m: MemberIdentitySource, strategy: IdentityStrategy): string | null {
  if (strategy === 'sub') return asId(m.user_id);
  if (strategy === 'lis_person_sourcedid') return asId(m.lis_person_sourcedid);
  if (strategy === 'lti11_legacy_user_id') return asId(m.lti11_legacy_user_id);
  const name = strategy.slice('custom:'.length);
  if (Array.isArray(m.message)) {
    for (const msg of m.message) {
      if (msg && typeof msg === 'object') {
        const custom = (msg as Record<string, unknown>)[CUSTOM_CLAIM];
        if (custom && typeof custom === 'object') {
          const id = asId((custom as Record<string, unknown>)[name]);
          if (id) return id;
        }
      }
    }
  }
  // Canvas also puts the numeric id on each member when asked with rlid.
  if (name === 'canvas_user_id') return asId(m['https://www.instructure.com/canvas_user_id']);
  return null;
}

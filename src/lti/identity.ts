/**
 * Maps an LMS identity onto the isnotai userId (docs/product.md "Identity"). The same mapping is
 * applied to the launching user and to Names and Roles members, or the instructor's roster and a student's
 * own view would disagree.
 *
 * A mapping may declare the shape of a valid id (Canvas's user id is digits). A value that is not
 * of that shape is reported as such, never looked up: a lookup of "abc" would answer "no sessions
 * recorded", which hides a broken mapping behind a reassuring page.
 *
 * This module is the one definition of the mappings: their names (checked here for the configuration),
 * the default mapping and id shape of each kind of LMS, and how each reads a launch or a roster member.
 */
import { RE2 } from 're2-wasm';

/** The mappings that read a claim every launch may carry (the same names in docs/product.md "Identity"). */
const FIXED_STRATEGIES = ['sub', 'lis_person_sourcedid', 'lti11_legacy_user_id'] as const;
/** `custom:<name>` reads the LTI custom claim `<name>` (e.g. Canvas's `canvas_user_id=$Canvas.user.id`). */
const CUSTOM_PREFIX = 'custom:';
/** The characters and length of a custom claim's name (the database's check on the column says the same). */
const CUSTOM_NAME = /^[A-Za-z0-9_.$-]{1,100}$/;

export type IdentityStrategy = (typeof FIXED_STRATEGIES)[number] | `custom:${string}`;

/** The one rule for a mapping's name, as an operator reads it in an error message. */
export const IDENTITY_STRATEGY_RULE = `must be ${FIXED_STRATEGIES.join(', ')} or custom:<name> (a name of 1 to 100 letters, digits, "_", ".", "$" or "-")`;

/**
 * Whether a text names a mapping. The configuration (PLATFORMS_JSON) checks with this; the settings
 * table's check constraint (migration 002) refuses the same values.
 */
export function isIdentityStrategy(text: unknown): text is IdentityStrategy {
  if (typeof text !== 'string') return false;
  if ((FIXED_STRATEGIES as readonly string[]).includes(text)) return true;
  return text.startsWith(CUSTOM_PREFIX) && CUSTOM_NAME.test(text.slice(CUSTOM_PREFIX.length));
}

/** The custom claim a `custom:<name>` mapping reads, or null for the fixed mappings. */
function customClaimName(strategy: IdentityStrategy): string | null {
  return strategy.startsWith(CUSTOM_PREFIX) ? strategy.slice(CUSTOM_PREFIX.length) : null;
}

/** The mapping a platform of each kind gets when its configuration names none. */
export const DEFAULT_STRATEGY: Record<'moodle' | 'canvas' | 'other', IdentityStrategy> = {
  moodle: 'sub',
  // Canvas's sub is an opaque UUID; the numeric user id only arrives through a custom parameter
  // set to $Canvas.user.id.
  canvas: 'custom:canvas_user_id',
  other: 'sub',
};

/** The pattern (regular expression source, matched against the whole id) of digits-only ids. */
export const DIGITS_PATTERN = '[0-9]+';
/** The longest id the tool accepts from any mapping (the audit log and the API take 255). */
export const MAX_ID_LENGTH = 255;
/** The longest pattern an operator may declare. */
export const MAX_PATTERN_LENGTH = 200;

/**
 * The shape a mapping's ids have when the operator declares none: Canvas's `$Canvas.user.id` and
 * Moodle's `sub` (its user id) are both numbers. Other mappings carry institution-defined values.
 */
export function defaultIdentityPattern(strategy: IdentityStrategy, kind: 'moodle' | 'canvas' | 'other'): string | null {
  if (strategy === 'custom:canvas_user_id') return DIGITS_PATTERN;
  if (strategy === 'sub' && kind === 'moodle') return DIGITS_PATTERN;
  return null;
}

/** Why a pattern cannot be used, or null when it can (anchored: it must match the whole id). */
export function identityPatternProblem(source: string): string | null {
  if (source.length === 0 || source.length > MAX_PATTERN_LENGTH) return `must be 1 to ${MAX_PATTERN_LENGTH} characters`;
  try {
    matcher(source);
    return null;
  } catch (err) {
    return `is not a valid regular expression (${(err as Error).message.slice(0, 120)})`;
  }
}

export interface IdentityMapping {
  strategy: IdentityStrategy;
  /** Regular expression source an id must match in full; null: any id of 1–255 characters. */
  pattern: string | null;
}

/**
 * Patterns run on RE2 (re2-wasm), whose matching time is linear in the id: a pattern is typed by a registration's own
 * admins in the tool (src/web/registrations.ts), and a backtracking engine would let one pattern such as `(\d+)+x`
 * and a long id freeze the process for every LMS. RE2 has no backreferences or lookarounds; such a pattern is refused
 * as not valid (identityPatternProblem).
 */
const compiled = new Map<string, RE2>();
/** Patterns in use are few (one per registration); a bound keeps typed-and-refused ones from piling up. */
const MAX_COMPILED = 200;
function matcher(source: string): RE2 {
  let re = compiled.get(source);
  if (!re) {
    re = new RE2(`^(?:${source})$`, 'u');
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(source, re);
  }
  return re;
}

/** What was wrong with the value the mapping read (the value is clipped; it is LMS input). */
export type IdentityProblem =
  | { kind: 'missing' }
  | { kind: 'unsubstituted'; value: string }
  | { kind: 'too_long'; length: number }
  | { kind: 'malformed'; value: string; pattern: string };

export type MappedIdentity = { userId: string; problem: null } | { userId: null; problem: IdentityProblem };

const clipValue = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

function mapValue(v: unknown, pattern: string | null): MappedIdentity {
  let s: string;
  if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
  else if (typeof v === 'string') s = v.trim();
  else return { userId: null, problem: { kind: 'missing' } };
  if (s === '') return { userId: null, problem: { kind: 'missing' } };
  // An unsubstituted variable (Canvas sends "$Canvas.user.id" back when it cannot fill it).
  if (s.startsWith('$')) return { userId: null, problem: { kind: 'unsubstituted', value: clipValue(s) } };
  if (s.length > MAX_ID_LENGTH) return { userId: null, problem: { kind: 'too_long', length: s.length } };
  if (pattern !== null && !matcher(pattern).test(s)) return { userId: null, problem: { kind: 'malformed', value: clipValue(s), pattern } };
  return { userId: s, problem: null };
}

/** Whether a text (e.g. typed by an admin) has the shape of an id of this mapping. */
export function isIdShaped(text: string, mapping: IdentityMapping): boolean {
  return /^[^\s/?#]+$/.test(text) && text !== '.' && text !== '..' && mapValue(text, mapping.pattern).problem === null;
}

/** A pattern as a sentence can say it. */
export function describePattern(pattern: string): string {
  return pattern === DIGITS_PATTERN ? 'digits only' : `the pattern ${pattern}`;
}

/** One sentence naming the mapping and what was wrong with the value it read. */
export function describeIdentityProblem(strategy: IdentityStrategy, problem: IdentityProblem, who: 'launch' | 'member' = 'launch'): string {
  const source = who === 'launch' ? 'the launch' : 'Names and Roles';
  switch (problem.kind) {
    case 'missing':
      return `This platform maps users by “${strategy}”, and ${source} did not carry it.`;
    case 'unsubstituted':
      return `This platform maps users by “${strategy}”, and the LMS sent the unfilled variable “${problem.value}” instead of an id.`;
    case 'too_long':
      return `This platform maps users by “${strategy}”, and the LMS sent a value of ${problem.length} characters (at most ${MAX_ID_LENGTH}).`;
    case 'malformed':
      return `This platform maps users by “${strategy}”, and the LMS sent “${problem.value}”, which is not an id of that mapping (${describePattern(problem.pattern)}).`;
  }
}

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

const asMapping = (m: IdentityStrategy | IdentityMapping): IdentityMapping => (typeof m === 'string' ? { strategy: m, pattern: null } : m);

export function mapLaunchIdentity(src: LaunchIdentitySource, mapping: IdentityStrategy | IdentityMapping): MappedIdentity {
  const { strategy, pattern } = asMapping(mapping);
  if (strategy === 'sub') return mapValue(src.sub, pattern);
  if (strategy === 'lis_person_sourcedid') return mapValue(src.lis?.person_sourcedid, pattern);
  if (strategy === 'lti11_legacy_user_id') return mapValue(src.lti11LegacyUserId, pattern);
  const name = customClaimName(strategy);
  return name === null ? { userId: null, problem: { kind: 'missing' } } : mapValue(src.custom?.[name], pattern);
}

export function mapMemberIdentity(m: MemberIdentitySource, mapping: IdentityStrategy | IdentityMapping): MappedIdentity {
  const { strategy, pattern } = asMapping(mapping);
  if (strategy === 'sub') return mapValue(m.user_id, pattern);
  if (strategy === 'lis_person_sourcedid') return mapValue(m.lis_person_sourcedid, pattern);
  if (strategy === 'lti11_legacy_user_id') return mapValue(m.lti11_legacy_user_id, pattern);
  const name = customClaimName(strategy);
  // The first usable value wins; otherwise the most telling problem (a value over none).
  let problem: IdentityProblem = { kind: 'missing' };
  if (name === null) return { userId: null, problem };
  const consider = (v: unknown): string | null => {
    const r = mapValue(v, pattern);
    if (r.problem === null) return r.userId;
    if (problem.kind === 'missing') problem = r.problem;
    return null;
  };
  if (Array.isArray(m.message)) {
    for (const msg of m.message) {
      if (msg && typeof msg === 'object') {
        const custom = (msg as Record<string, unknown>)[CUSTOM_CLAIM];
        if (custom && typeof custom === 'object') {
          const id = consider((custom as Record<string, unknown>)[name]);
          if (id) return { userId: id, problem: null };
        }
      }
    }
  }
  // Canvas also puts the numeric id on each member when asked with rlid.
  if (name === 'canvas_user_id') {
    const id = consider(m['https://www.instructure.com/canvas_user_id']);
    if (id) return { userId: id, problem: null };
  }
  return { userId: null, problem };
}

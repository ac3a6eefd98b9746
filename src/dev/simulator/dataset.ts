/**
 * The simulator's data: seeded, deterministic and believable. Every user of the demo world (and
 * any extra user id) gets 0–12 tracking sessions over the ~60 days before a fixed `now`; each
 * session's event stream is generated lazily from its id, and its details (counts, timeline,
 * page history) are computed FROM that stream, so the endpoints always agree with each other.
 *
 * Personas drive everything: most learners are "honest" (low scores, no or mild flags), some are
 * "mixed" (elevated sessions: tab switching, pastes), a few are "risky" (automation: webdriver,
 * headless browser, superhuman typing). Flags shape the events: `no_pointer_movement` means no
 * mouse_move at all, `paste_burst` a run of large pastes, `superhuman_typing_cadence` keys ~20 ms
 * apart, `tab_switching` many blur/visibility/focus triples.
 */
import { allUserIds, buildWorld, type DemoWorld, type PlatformKind } from '../people';
import { hashSeed, intBetween, pick, seededRng, type Rng } from '../random';
import { EVENT_TYPES, eventTypeByName, type EventCategory } from '../../isnotai/eventTypes';
import type { IsnotaiEvent, IsnotaiSession, PageVisit, SessionDetails, TimelineBucket } from '../../isnotai/types';

/** The simulator's default "now": fixed so that tests and demos are reproducible. */
export const SIM_DEFAULT_NOW = new Date('2026-11-20T12:00:00Z');
export const SIM_DEFAULT_SEED = 20261120;
export const MOODLE_BASE_URL = 'http://127.0.0.1:8088';
export const CANVAS_BASE_URL = 'https://canvas.example.edu';

export type Persona = 'honest' | 'mixed' | 'risky';

export interface DatasetOptions {
  world?: DemoWorld;
  now?: Date;
  seed?: number;
  /** User ids that are not in the world but should have sessions (treated as Canvas-like). */
  extraUserIds?: string[];
  /** How many sessions' event streams to keep in memory (default 500). */
  eventCacheSize?: number;
  /** Rewrites of generated data (e.g. hostile text for injection tests; see ./hostile). */
  overrides?: DatasetOverrides;
}

/**
 * Hooks that rewrite what the simulator generated, so tests can plant data that a real upstream
 * could send (hostile strings, odd statuses) while the endpoints keep agreeing with each other.
 * Each hook must keep the shapes the API documents (strings stay strings, numbers stay in range).
 */
export interface DatasetOverrides {
  /** A session as generated, before its events are. Must keep `id`, `userId`, `createdAt` and
   * `updatedAt` (they place the session in lists and time); anything else may change. `index` is
   * the session's generation index for that user (0-based). */
  session?: (session: IsnotaiSession, index: number) => IsnotaiSession;
  /** A session's events after generation; the details are computed before this runs, so the
   * counts stay true. Must keep the events' number, order, ids and timestamps. */
  events?: (session: IsnotaiSession, events: IsnotaiEvent[]) => IsnotaiEvent[];
  /** A session's details after generation. */
  details?: (session: IsnotaiSession, details: SessionDetails) => SessionDetails;
}

/** A session override broke the rules above (a test bug, reported loudly). */
export class DatasetOverrideError extends Error {
  readonly code = 'sim_override_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'DatasetOverrideError';
  }
}

function overriddenSession(override: DatasetOverrides['session'], session: IsnotaiSession, index: number): IsnotaiSession {
  if (!override) return session;
  const next = override({ ...session, detectionFlags: [...session.detectionFlags] }, index);
  for (const key of ['id', 'userId', 'createdAt', 'updatedAt'] as const) {
    if (next[key] !== session[key]) throw new DatasetOverrideError(`simulator: a session override changed ${key} of ${session.id}`);
  }
  return next;
}

export interface SimDataset {
  readonly now: Date;
  readonly seed: number;
  /** Every session, newest first (createdAt desc, then id asc). */
  allSessions(): readonly IsnotaiSession[];
  /** One user's sessions, same order; empty for an unknown user. */
  sessionsForUser(userId: string): readonly IsnotaiSession[];
  session(sessionId: string): IsnotaiSession | undefined;
  /** The session's events in time order (timestamp asc, then eventId); undefined if unknown. */
  events(sessionId: string): readonly IsnotaiEvent[] | undefined;
  details(sessionId: string): SessionDetails | undefined;
  persona(userId: string): Persona | undefined;
  userIds(): readonly string[];
}

interface UserInfo {
  userId: string;
  platform: PlatformKind;
  name: string;
  courseIds: string[];
}

interface SessionPlan {
  session: IsnotaiSession;
  platform: PlatformKind;
  courseId: string;
  startMs: number;
  endMs: number;
  mobile: boolean;
}

// Pinned personas so the fixture people of test/lms/fixtures/moodle-4.4 tell a story in the demo.
const PINNED: Record<string, Persona> = { '4': 'honest', '5': 'honest', '6': 'risky', '7': 'mixed', '8': 'mixed' };

const MILD_FLAGS = ['tab_switching', 'devtools_open'] as const;
const MODERATE_FLAGS = ['tab_switching', 'paste_burst', 'devtools_open', 'no_pointer_movement'] as const;
const STRONG_FLAGS = ['webdriver_present', 'headless_browser', 'automation_extension', 'superhuman_typing_cadence'] as const;
const HIGH_EXTRA_FLAGS = ['paste_burst', 'no_pointer_movement', 'tab_switching'] as const;

const DESKTOP_UAS = [
  'Chrome 131 on Windows 11',
  'Chrome 130 on macOS 14',
  'Safari 18 on macOS 15',
  'Firefox 133 on Windows 10',
  'Edge 131 on Windows 11',
  'Firefox 132 on Ubuntu 24.04',
  'Chrome 131 on ChromeOS',
];
const MOBILE_UAS = ['Safari 18 on iPadOS 18', 'Chrome 131 on Android 14'];

const DAY = 86_400_000;
const MIN = 60_000;

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function shuffledPick<T>(rng: Rng, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length) out.push(pool.splice(Math.floor(rng() * pool.length), 1)[0] as T);
  return out;
}

function scoreFor(rng: Rng, persona: Persona): number {
  const r = rng();
  const low = () => 0.02 + rng() * 0.33;
  const elevated = () => 0.4 + rng() * 0.29;
  const high = () => 0.7 + rng() * 0.29;
  if (persona === 'honest') return r < 0.95 ? low() : elevated();
  if (persona === 'mixed') return r < 0.6 ? low() : r < 0.95 ? elevated() : high();
  return r < 0.4 ? low() : r < 0.65 ? elevated() : high();
}

function flagsFor(rng: Rng, score: number): string[] {
  if (score >= 0.7) {
    const strong = shuffledPick(rng, STRONG_FLAGS, intBetween(rng, 1, 2));
    const extra = shuffledPick(rng, HIGH_EXTRA_FLAGS, intBetween(rng, 0, 2));
    return [...new Set([...strong, ...extra])];
  }
  if (score >= 0.4) return shuffledPick(rng, MODERATE_FLAGS, intBetween(rng, 1, 2));
  return rng() < 0.15 ? [pick(rng, MILD_FLAGS)] : [];
}

function collectUsers(world: DemoWorld, extra: readonly string[]): UserInfo[] {
  const courses = new Map<string, string[]>();
  for (const p of world.platforms)
    for (const c of p.courses)
      for (const m of c.members) {
        const key = `${p.kind}:${m.person.lmsUserId}`;
        const list = courses.get(key) ?? [];
        list.push(c.id);
        courses.set(key, list);
      }
  const seen = new Set<string>();
  const users: UserInfo[] = [];
  for (const u of allUserIds(world)) {
    if (seen.has(u.userId)) continue; // one isnotai integration sees a userId once
    seen.add(u.userId);
    const courseIds = courses.get(`${u.platform}:${u.userId}`) ?? [];
    users.push({
      userId: u.userId,
      platform: u.platform,
      name: u.name,
      courseIds: courseIds.length ? courseIds : [u.platform === 'moodle' ? '2' : '101'],
    });
  }
  for (const id of extra) {
    if (seen.has(id)) continue;
    seen.add(id);
    users.push({ userId: id, platform: 'canvas', name: `Extra User ${id}`, courseIds: ['101'] });
  }
  return users;
}

function quizUrl(platform: PlatformKind, courseId: string, rng: Rng): string {
  if (platform === 'moodle')
    return `${MOODLE_BASE_URL}/mod/quiz/attempt.php?attempt=${intBetween(rng, 100, 9999)}&cmid=${intBetween(rng, 2, 40)}`;
  return `${CANVAS_BASE_URL}/courses/${courseId}/quizzes/${intBetween(rng, 1, 60)}/take`;
}

function userUrl(platform: PlatformKind, courseId: string, userId: string): string {
  if (platform === 'moodle') return `${MOODLE_BASE_URL}/user/profile.php?id=${encodeURIComponent(userId)}`;
  return `${CANVAS_BASE_URL}/courses/${courseId}/users/${encodeURIComponent(userId)}`;
}

function sessionIdFor(seed: number, userId: string, index: number, taken: Set<string>): string {
  const key = `${seed}:${userId}:${index}`;
  // FNV of near-identical keys gives near-identical hashes; run it through the PRNG to spread it.
  const rng = seededRng(hashSeed(key));
  let id = 'ses_' + Array.from({ length: 16 }, () => Math.floor(rng() * 16).toString(16)).join('');
  while (taken.has(id)) id += 'x';
  taken.add(id);
  return id;
}

export function buildDataset(options: DatasetOptions = {}): SimDataset {
  const world = options.world ?? buildWorld();
  const now = options.now ?? SIM_DEFAULT_NOW;
  const nowMs = now.getTime();
  const seed = options.seed ?? SIM_DEFAULT_SEED;
  const users = collectUsers(world, options.extraUserIds ?? []);
  const personas = new Map<string, Persona>();
  const byUser = new Map<string, IsnotaiSession[]>();
  const plans = new Map<string, SessionPlan>();
  const taken = new Set<string>();
  const all: IsnotaiSession[] = [];

  for (const user of users) {
    const rng = seededRng(hashSeed(`${seed}:user:${user.userId}`));
    const r = rng();
    const persona: Persona = PINNED[user.userId] ?? (r < 0.78 ? 'honest' : r < 0.93 ? 'mixed' : 'risky');
    personas.set(user.userId, persona);
    let count = intBetween(rng, 0, 12);
    if (PINNED[user.userId]) count = Math.max(count, persona === 'honest' ? 2 : 5);
    const recentActive = rng() < 0.05;
    const mobileUser = rng() < 0.12;
    const homeUa = mobileUser ? pick(rng, MOBILE_UAS) : pick(rng, DESKTOP_UAS);
    const list: IsnotaiSession[] = [];
    for (let i = 0; i < count; i++) {
      const score = round(scoreFor(rng, persona), 3);
      const flags = flagsFor(rng, score);
      const durationMs = intBetween(rng, 8, 75) * MIN + intBetween(rng, 0, 59) * 1000;
      let startMs: number;
      let status: 'active' | 'closed' = 'closed';
      if (i === 0 && recentActive) {
        startMs = nowMs - intBetween(rng, 5, 80) * MIN;
        status = 'active';
      } else {
        // Leave the last two hours to the active sessions so a closed one never ends after now.
        startMs = nowMs - 2 * 3_600_000 - durationMs - Math.floor(rng() * 58 * DAY);
      }
      startMs = Math.floor(startMs / 1000) * 1000;
      const endMs = status === 'active' ? nowMs - intBetween(rng, 5, 120) * 1000 : startMs + durationMs;
      const courseId = pick(rng, user.courseIds);
      const headless = flags.includes('headless_browser');
      const ua = headless
        ? 'HeadlessChrome 131 on Linux'
        : flags.includes('webdriver_present') && rng() < 0.5
          ? 'Chrome 131 on Linux'
          : homeUa;
      const id = sessionIdFor(seed, user.userId, i, taken);
      const session: IsnotaiSession = overriddenSession(
        options.overrides?.session,
        {
          id,
          createdAt: isoSeconds(startMs),
          updatedAt: isoSeconds(endMs),
          status,
          botScore: score,
          detectionFlags: flags,
          pageUrl: quizUrl(user.platform, courseId, rng),
          userAgentSummary: ua,
          userId: user.userId,
          userName: user.name,
          userUrl: userUrl(user.platform, courseId, user.userId),
        },
        i,
      );
      list.push(session);
      all.push(session);
      plans.set(id, {
        session,
        platform: user.platform,
        courseId,
        startMs,
        endMs: Math.floor(endMs / 1000) * 1000,
        mobile: MOBILE_UAS.includes(ua),
      });
    }
    list.sort(newestFirst);
    byUser.set(user.userId, list);
  }
  all.sort(newestFirst);
  const byId = new Map(all.map((s) => [s.id, s]));

  // Lazily generated streams, kept in a small LRU (a 1,000-learner world has ~10k sessions).
  const cacheSize = options.eventCacheSize ?? 500;
  const cache = new Map<string, Generated>();
  function generated(sessionId: string): Generated | undefined {
    const hit = cache.get(sessionId);
    if (hit) {
      cache.delete(sessionId);
      cache.set(sessionId, hit);
      return hit;
    }
    const plan = plans.get(sessionId);
    if (!plan) return undefined;
    const g = applyOverrides(generateStream(plan, seed), plan.session, options.overrides);
    cache.set(sessionId, g);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
    return g;
  }

  return {
    now,
    seed,
    allSessions: () => all,
    sessionsForUser: (userId) => byUser.get(userId) ?? [],
    session: (id) => byId.get(id),
    events: (id) => generated(id)?.events,
    details: (id) => generated(id)?.details,
    persona: (userId) => personas.get(userId),
    userIds: () => users.map((u) => u.userId),
  };
}

function applyOverrides(g: Generated, session: IsnotaiSession, overrides: DatasetOverrides | undefined): Generated {
  if (!overrides?.events && !overrides?.details) return g;
  const events = overrides.events
    ? overrides.events(
        session,
        g.events.map((e) => ({ ...e })),
      )
    : g.events;
  if (
    events.length !== g.events.length ||
    events.some((e, i) => e.eventId !== g.events[i]?.eventId || e.timestamp !== g.events[i]?.timestamp)
  ) {
    throw new DatasetOverrideError(`simulator: an events override changed the number, order, ids or times of ${session.id}'s events`);
  }
  const details = overrides.details ? overrides.details(session, structuredClone(g.details)) : g.details;
  return { events, details };
}

export function newestFirst(a: IsnotaiSession, b: IsnotaiSession): number {
  const d = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  if (d !== 0) return d;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Event streams

interface Generated {
  events: IsnotaiEvent[];
  details: SessionDetails;
}

interface RawEvent {
  name: string;
  ts: number;
  payloadSize: number;
}

const PAYLOAD: Record<string, [number, number]> = {
  init: [320, 640],
  mouse_move: [12, 20],
  mouse_click: [16, 24],
  scroll: [10, 14],
  keydown: [8, 12],
  keypress: [8, 12],
  touch: [18, 30],
  form_input: [24, 220],
  paste: [40, 600],
  focus: [6, 6],
  blur: [6, 6],
  visibility: [8, 8],
  page_view: [80, 200],
};

function generateStream(plan: SessionPlan, seed: number): Generated {
  const { session, startMs, endMs, mobile } = plan;
  const rng = seededRng(hashSeed(`${seed}:events:${session.id}`));
  const flags = new Set(session.detectionFlags);
  const raw: RawEvent[] = [];
  const add = (name: string, ts: number, payloadSize?: number) => {
    const [lo, hi] = PAYLOAD[name] ?? [8, 16];
    raw.push({ name, ts: Math.min(endMs, Math.max(startMs, Math.round(ts))), payloadSize: payloadSize ?? intBetween(rng, lo, hi) });
  };
  const durationMs = Math.max(1000, endMs - startMs);

  // Pages: the quiz is walked page by page, sometimes reloaded or revisited.
  const pageCount = Math.max(1, Math.min(12, Math.round(durationMs / (intBetween(rng, 4, 8) * MIN))));
  const pageStarts = [startMs];
  for (let i = 1; i < pageCount; i++) pageStarts.push(startMs + Math.floor(((i + (rng() - 0.5) * 0.6) / pageCount) * durationMs));
  pageStarts.sort((a, b) => a - b);
  const baseUrl = session.pageUrl;
  const pageHistory: PageVisit[] = [];
  add('init', startMs);
  let lastPageNo = 0;
  for (let i = 0; i < pageStarts.length; i++) {
    const ts = pageStarts[i] as number;
    const nextTs = i + 1 < pageStarts.length ? (pageStarts[i + 1] as number) : endMs;
    let type = 'navigate';
    let pageNo = i === 0 ? 0 : lastPageNo + 1;
    // Two separate 8% draws, in this order: the seeded dataset depends on the sequence of rng() calls.
    const reload = i > 0 && rng() < 0.08;
    const back = !reload && i > 0 && rng() < 0.08 && lastPageNo > 0;
    if (reload) {
      type = 'reload';
      pageNo = lastPageNo;
    } else if (back) {
      type = 'back_forward';
      pageNo = lastPageNo - 1;
    }
    lastPageNo = pageNo;
    const isLast = i === pageStarts.length - 1 && session.status === 'closed';
    const url = isLast
      ? baseUrl.replace('attempt.php', 'summary.php').replace(/\/take$/, '/submissions')
      : pageNo === 0
        ? baseUrl
        : `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}page=${pageNo}`;
    add('page_view', ts, url.length + intBetween(rng, 60, 140));
    pageHistory.push({ url, timestamp: new Date(ts).toISOString(), type, durationMs: Math.max(0, nextTs - ts) });
  }

  const seconds = durationMs / 1000;
  const uniform = (n: number, name: string) => {
    for (let i = 0; i < n; i++) add(name, startMs + rng() * durationMs);
  };

  // Pointer or touch.
  if (mobile) {
    uniform(Math.round(seconds * (0.1 + rng() * 0.2)), 'touch');
  } else if (!flags.has('no_pointer_movement')) {
    const moves = Math.round(seconds * (0.12 + rng() * 0.3));
    uniform(moves, 'mouse_move');
    uniform(Math.max(pageCount, Math.round(moves / 25)), 'mouse_click');
  } else {
    uniform(pageCount, 'mouse_click'); // automation clicks without moving
  }
  uniform(Math.round(seconds * (0.03 + rng() * 0.08)), 'scroll');

  // Typing: bursts of keys; humans 80–300 ms apart, superhuman ~15–30 ms apart.
  const superhuman = flags.has('superhuman_typing_cadence');
  const bursts = Math.max(1, Math.round(seconds / (60 + rng() * 120)));
  for (let b = 0; b < bursts; b++) {
    let t = startMs + rng() * durationMs * 0.95;
    const keys = intBetween(rng, 8, superhuman ? 200 : 60);
    for (let k = 0; k < keys && t < endMs; k++) {
      add('keydown', t);
      if (rng() < 0.85) add('keypress', t + intBetween(rng, 0, 4));
      t += superhuman ? intBetween(rng, 15, 30) : intBetween(rng, 80, 300);
    }
    add('form_input', t + intBetween(rng, 50, 400));
  }
  uniform(intBetween(rng, 1, 2) * pageCount, 'form_input');

  // Pastes: occasional for anyone, a burst of large ones for paste_burst.
  if (flags.has('paste_burst')) {
    let t = startMs + rng() * durationMs * 0.9;
    for (let i = intBetween(rng, 4, 9); i > 0; i--) {
      add('paste', t, intBetween(rng, 400, 4000));
      add('form_input', t + 5);
      t += intBetween(rng, 500, 2500);
    }
  } else if (rng() < 0.2) {
    add('paste', startMs + rng() * durationMs);
  }

  // Leaving the tab: blur + visibility (hidden), later visibility (shown) + focus.
  const switches = flags.has('tab_switching') ? intBetween(rng, 6, 18) : intBetween(rng, 0, 2);
  for (let i = 0; i < switches; i++) {
    const t = startMs + rng() * durationMs * 0.97;
    const away = intBetween(rng, 3_000, 90_000);
    add('blur', t);
    add('visibility', t + 1);
    add('visibility', t + away);
    add('focus', t + away + 1);
  }

  // Order: time, then a stable tiebreak (generation order), then ids that sort in that order.
  const indexed = raw.map((e, i) => ({ e, i }));
  indexed.sort((a, b) => a.e.ts - b.e.ts || a.i - b.i);
  const shortId = session.id.replace(/^ses_/, '');
  const events: IsnotaiEvent[] = indexed.map(({ e }, i) => {
    const info = eventTypeByName(e.name);
    if (!info) throw new Error(`simulator: unknown event type ${e.name}`);
    return {
      eventId: `evt_${shortId}_${String(i).padStart(6, '0')}`,
      messageId: info.id,
      eventTypeName: info.name,
      timestamp: e.ts,
      payloadSize: e.payloadSize,
    };
  });

  return { events, details: detailsFrom(session.id, startMs, endMs, events, pageHistory) };
}

const CATEGORY_OF = new Map(EVENT_TYPES.map((t) => [t.name, t.category] as const));

/**
 * Details derived from the events: counts per category (`total` also counts init, focus, blur,
 * visibility and page_view, which belong to no category), and a timeline of equal buckets
 * (1 minute, or wider so there are at most 60) from start to end, empty buckets included with
 * dominantEventType "none"; activityLevel is the bucket's count relative to the busiest bucket.
 */
export function detailsFrom(
  sessionId: string,
  startMs: number,
  endMs: number,
  events: readonly IsnotaiEvent[],
  pageHistory: PageVisit[],
): SessionDetails {
  const counts = { total: 0, mouse: 0, scroll: 0, keyboard: 0, touch: 0, form: 0 };
  for (const e of events) {
    counts.total++;
    const cat = CATEGORY_OF.get(e.eventTypeName) as EventCategory | undefined;
    if (cat && cat !== 'other') counts[cat]++;
  }
  const span = Math.max(1, endMs - startMs + 1);
  const bucketMs = Math.max(MIN, Math.ceil(span / 60 / MIN) * MIN);
  const bucketCount = Math.ceil(span / bucketMs);
  const perBucket: Array<Map<string, number>> = Array.from({ length: bucketCount }, () => new Map<string, number>());
  const totals = new Array<number>(bucketCount).fill(0);
  for (const e of events) {
    const b = Math.min(bucketCount - 1, Math.floor((e.timestamp - startMs) / bucketMs));
    totals[b] = (totals[b] ?? 0) + 1;
    const m = perBucket[b] as Map<string, number>;
    m.set(e.eventTypeName, (m.get(e.eventTypeName) ?? 0) + 1);
  }
  const busiest = Math.max(1, ...totals);
  const timeline: TimelineBucket[] = totals.map((count, b) => {
    let dominant = 'none';
    let best = 0;
    for (const [name, n] of perBucket[b] as Map<string, number>)
      if (n > best || (n === best && name < dominant)) [dominant, best] = [name, n];
    return {
      timestamp: new Date(startMs + b * bucketMs).toISOString(),
      eventCount: count,
      dominantEventType: dominant,
      activityLevel: round(count / busiest, 3),
    };
  });
  return {
    sessionId,
    startTime: new Date(startMs).toISOString(),
    endTime: new Date(endMs).toISOString(),
    durationSeconds: (endMs - startMs) / 1000,
    eventCounts: counts,
    timeline,
    pageHistory,
  };
}

/**
 * Hostile upstream data, for tests that every page renders it as inert text. The values are what
 * a compromised or buggy upstream (or a student who controls a page title or user agent) could
 * send, and they stay inside the documented shapes: strings remain strings, scores stay in 0..1,
 * timestamps and ids are untouched, so the client's validation lets them through to the views.
 */
import type { IsnotaiEvent, IsnotaiSession, SessionDetails } from '../../isnotai/types';
import type { DatasetOverrides, SimDataset } from './dataset';

/** 10 kB that also opens with markup: it must be escaped AND clipped (or wrapped) on a page. */
const LONG = `<script>alert("long")</script>${'L'.repeat(10 * 1024 - 30)}`;

export const HOSTILE = {
  script: '<script>alert(1)</script>',
  svg: '"><svg onload=alert(1)>',
  img: '<img src=x onerror=alert(1)>',
  jsUrl: 'javascript:alert(1)',
  dataUrl: 'data:text/html,<script>alert(1)</script>',
  /** An http(s) URL is linkable, but its quotes and brackets must not break out of href="…". */
  quotedHttpUrl: 'https://evil.example/"><svg onload=alert(1)>',
  /** U+202E RIGHT-TO-LEFT OVERRIDE: "\u202Egnp.exe" displays as "exe.png". */
  rtl: '\u202Egnp.exe',
  template: "{{constructor.constructor('alert(1)')()}}",
  formula: '=HYPERLINK("http://evil")',
  long: LONG,
} as const;

/** Values each field rotates through, by session index (so every value shows up somewhere). */
const PAGE_URLS = [HOSTILE.formula, HOSTILE.jsUrl, HOSTILE.long, HOSTILE.dataUrl, HOSTILE.quotedHttpUrl];
const USER_AGENTS = [HOSTILE.svg, HOSTILE.long, HOSTILE.template, HOSTILE.rtl, HOSTILE.script];
const STATUSES = ['closed', HOSTILE.script, 'closed', HOSTILE.rtl, HOSTILE.template];
const EVENT_TYPES = [HOSTILE.script, HOSTILE.svg, HOSTILE.rtl, HOSTILE.template, HOSTILE.long];
const HISTORY_URLS = [HOSTILE.jsUrl, HOSTILE.dataUrl, HOSTILE.quotedHttpUrl, HOSTILE.long, HOSTILE.formula];
const HISTORY_TYPES = [HOSTILE.script, HOSTILE.template, HOSTILE.rtl];
const TIMELINE_TYPES = [HOSTILE.script, HOSTILE.svg, HOSTILE.long, HOSTILE.rtl];

const at = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

/**
 * Overrides that make every session (and its events and details) of the given users hostile:
 * userName, pageUrl, userUrl, userAgentSummary, status, detectionFlags; every 7th event's type
 * name; every page-history entry's url and type; every other timeline bucket's dominant type.
 * Every session's first flag, and the first session's page URL, is a CSV formula. A user needs five
 * sessions to show every value (the pinned demo users 6, 7 and 8 have at least five).
 */
export function hostileOverrides(userIds: readonly string[]): DatasetOverrides {
  const hostile = new Set(userIds);
  return {
    session(s: IsnotaiSession, index: number): IsnotaiSession {
      if (!hostile.has(s.userId)) return s;
      return {
        ...s,
        userName: `${HOSTILE.script} ${HOSTILE.rtl}`,
        userUrl: index % 2 === 0 ? HOSTILE.jsUrl : HOSTILE.dataUrl,
        pageUrl: at(PAGE_URLS, index),
        userAgentSummary: at(USER_AGENTS, index),
        status: at(STATUSES, index),
        detectionFlags: [HOSTILE.formula, HOSTILE.script, HOSTILE.img, HOSTILE.rtl, HOSTILE.template, HOSTILE.long, ...s.detectionFlags],
      };
    },
    events(s: IsnotaiSession, events: IsnotaiEvent[]): IsnotaiEvent[] {
      if (!hostile.has(s.userId)) return events;
      return events.map((e, i) => (i % 7 === 1 ? { ...e, eventTypeName: at(EVENT_TYPES, Math.floor(i / 7)) } : e));
    },
    details(s: IsnotaiSession, d: SessionDetails): SessionDetails {
      if (!hostile.has(s.userId)) return d;
      return {
        ...d,
        timeline: d.timeline.map((b, i) => (i % 2 === 0 ? { ...b, dominantEventType: at(TIMELINE_TYPES, i / 2) } : b)),
        pageHistory: d.pageHistory.map((p, i) => ({ ...p, url: at(HISTORY_URLS, i), type: at(HISTORY_TYPES, i) })),
      };
    },
  };
}

/**
 * An upstream that mixes users up: GET /v1/users/{X}/sessions also lists the sessions of another
 * user, each still naming its real userId. `lists` maps X to that other user (for the simulator's
 * `userSessions` option). The merged list keeps the API's order: newest first, then by id.
 */
export function foreignSessionsIn(lists: Readonly<Record<string, string>>) {
  return (userId: string, own: readonly IsnotaiSession[], dataset: SimDataset): readonly IsnotaiSession[] => {
    const other = Object.prototype.hasOwnProperty.call(lists, userId) ? lists[userId] : undefined;
    if (other === undefined) return own;
    return [...own, ...dataset.sessionsForUser(other)].sort((a, b) =>
      a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? 1 : -1,
    );
  };
}

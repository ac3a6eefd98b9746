/**
 * What a student is told beside their record (docs/product.md "Student visibility", issue 13): what the bot score measures
 * and what it does not, the platform's lines in words, each signal's common innocent causes, what happens next and how to
 * answer. The words are the risk model's (src/risk/guidance.ts, src/risk/flags.ts), which the staff pages read too; this
 * file only arranges them for partials/guidance.hbs: /me in every visibility mode, and the student's own learner and
 * session pages.
 */
import type { IsnotaiSession } from '../isnotai/types';
import { signalGuidance, studentGuidance, type SignalGuidance } from '../risk';
import type { Register } from './accommodationContext';
import type { Actor } from './actor';
import { clip } from './format';

/** What the student is told when an accommodation is on record for them: never the staff's wording, nor who recorded it. */
export const ACCOMMODATION_ON_RECORD =
  'An accommodation is on record for you: signals it explains are shown as such and do not raise your level.';

/** The same in `notice` mode, whose page shows neither the student's own signals nor a level. */
export const ACCOMMODATION_ON_RECORD_NOTICE =
  'An accommodation is on record for you; your instructors take it into account when they review what was recorded.';

/** Where the guidance is read: the list of a student's record (/me, their learner page), or one session. */
export type GuidancePlace =
  /** Their sessions are listed (full): their own signals first, then the others. */
  | { kind: 'record'; sessions: readonly Pick<IsnotaiSession, 'detectionFlags'>[] }
  /** Only a summary or a notice is shown: every known signal, none singled out as theirs (the platform shows no more). */
  | { kind: 'general' }
  /** One session's page: its signals' causes sit beside each signal (flagCauses); the rest of the guidance below them. */
  | { kind: 'session'; flags: readonly string[] };

export interface SignalView {
  code: string;
  description: string | null;
  causes: string[];
}

export interface GuidanceView {
  /** The section's heading level; its parts are one below. */
  level: number;
  sub: number;
  botScore: string[];
  thresholds: string[];
  nextSteps: string[];
  howToRespond: string[];
  /** Whether answering is on each session's page (full), or through the instructor. */
  canRespondHere: boolean;
  /** A link to this page's own response form (the session page), or null. */
  respondHref: string | null;
  /** The student's own signals (a record page), or null where none are singled out. */
  theirs: SignalView[] | null;
  /** The other known signals (a record page: in "Other signals"), or every known signal (a summary or notice). */
  others: SignalView[];
  /** The session page: each of its signals' causes, in the order its signals are listed (by index), for beside each one. */
  flagCauses: string[][] | null;
  accommodation: string | null;
}

const view = (s: SignalGuidance): SignalView => ({ code: clip(s.code, 80), description: s.description, causes: s.innocentCauses });

/**
 * The signals of the sessions, each once, in the order they first appear (the sessions as read, newest first): non-empty
 * strings only, as studentGuidance keeps them, so its first entries are exactly these.
 */
function signalsOf(sessions: readonly Pick<IsnotaiSession, 'detectionFlags'>[]): string[] {
  const seen = new Set<string>();
  for (const s of sessions)
    for (const f of Array.isArray(s.detectionFlags) ? s.detectionFlags : []) if (typeof f === 'string' && f.length > 0) seen.add(f);
  return [...seen];
}

/**
 * The guidance for one student page. `accommodated`: whether an accommodation is on record for the student where they
 * launched (src/web/accommodationContext.ts `readRegister`, read once by the page).
 */
export function guidanceView(actor: Actor, place: GuidancePlace, accommodated: boolean, level = 2): GuidanceView {
  const canRespondHere = actor.platform.studentVisibility === 'full';
  const theirSignals = place.kind === 'record' ? signalsOf(place.sessions) : [];
  const g = studentGuidance({ thresholds: actor.platform.thresholds, theirSignals, canRespondHere, onSession: place.kind === 'session' });
  const signals = g.signals.map(view);
  const mine = place.kind === 'record' ? signals.slice(0, theirSignals.length) : null;
  return {
    level,
    sub: level + 1,
    botScore: g.botScore,
    thresholds: g.thresholds,
    nextSteps: g.nextSteps,
    howToRespond: g.howToRespond,
    canRespondHere,
    respondHref: place.kind === 'session' && canRespondHere ? '#response' : null,
    theirs: mine,
    others: place.kind === 'session' ? [] : mine ? signals.slice(mine.length) : signals,
    flagCauses: place.kind === 'session' ? place.flags.slice(0, 20).map((f) => signalGuidance(f).innocentCauses) : null,
    accommodation: !accommodated
      ? null
      : actor.platform.studentVisibility === 'notice'
        ? ACCOMMODATION_ON_RECORD_NOTICE
        : ACCOMMODATION_ON_RECORD,
  };
}

/** The guidance for a student's own page, with the accommodation note from their register as the page read it; null for staff. */
export function guidanceFor(actor: Actor, place: GuidancePlace, register: Register): GuidanceView | null {
  if (actor.audience !== 'student' || !actor.userId) return null;
  return guidanceView(actor, place, register.inEffect.length > 0);
}

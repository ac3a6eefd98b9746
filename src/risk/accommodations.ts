/**
 * Accommodations and the signals they explain (docs/product.md "Accommodations"): pure, no I/O.
 *
 * Assistive technology is exactly what trips these detectors: dictation looks like superhuman typing, keyboard-only use
 * like no pointer movement. A signal explained by an accommodation on record does not raise a level. The bot score itself
 * cannot be recomputed without a signal (isnotai does not say how much each signal weighed), so the rule is per session:
 * a session whose every signal is explained by an accommodation counts as Low; a session with any signal left unexplained,
 * or with no signal at all, keeps the level its score gives. Both levels are kept, so the page can show
 * "Low (High without the accommodated signals)" and nothing is hidden.
 */
import { formatThreshold, riskWords, sessionRiskLevel, type RiskLevel, type SessionRiskLevel } from './level';
import type { RiskThresholds } from './thresholds';

export interface AccommodationKind {
  /** Stored value (migration 008's check constraint lists the same). */
  kind: string;
  /** What the register shows. */
  label: string;
  /** Signal codes (src/risk/flags.ts) it commonly triggers: these are the ones it explains. */
  signals: readonly string[];
}

/** The register's list, in the order the form offers it; `other` explains nothing by itself and needs free text. */
export const ACCOMMODATION_KINDS: readonly AccommodationKind[] = Object.freeze([
  { kind: 'dictation', label: 'Dictation or speech-to-text software', signals: ['superhuman_typing_cadence', 'paste_burst'] },
  { kind: 'word_prediction', label: 'Word prediction or text expansion', signals: ['superhuman_typing_cadence', 'paste_burst'] },
  { kind: 'screen_reader', label: 'Screen reader', signals: ['no_pointer_movement', 'synthetic_events'] },
  { kind: 'keyboard_only', label: 'Keyboard-only use', signals: ['no_pointer_movement'] },
  {
    kind: 'switch_or_alternative_input',
    label: 'Switch access, eye gaze or another alternative input',
    signals: ['no_pointer_movement', 'synthetic_events', 'superhuman_typing_cadence'],
  },
  { kind: 'on_screen_keyboard', label: 'On-screen keyboard', signals: ['synthetic_events'] },
  { kind: 'assistive_extension', label: 'Assistive browser extension (reading or writing support)', signals: ['automation_extension'] },
  { kind: 'prepared_notes', label: 'Permitted own notes (pasting from them)', signals: ['paste_burst', 'copy_burst'] },
  { kind: 'rest_breaks', label: 'Rest breaks during assessments', signals: ['window_blur', 'tab_switching'] },
  { kind: 'other', label: 'Other (describe it)', signals: [] },
]);

export const ACCOMMODATION_KIND_NAMES: readonly string[] = Object.freeze(ACCOMMODATION_KINDS.map((k) => k.kind));

export function isAccommodationKind(v: unknown): v is string {
  return typeof v === 'string' && ACCOMMODATION_KIND_NAMES.includes(v);
}

export function accommodationKind(kind: string): AccommodationKind | null {
  return ACCOMMODATION_KINDS.find((k) => k.kind === kind) ?? null;
}

/** Every signal the given kinds explain (unknown kinds explain nothing). */
export function accommodatedSignals(kinds: Iterable<string>): ReadonlySet<string> {
  const signals = new Set<string>();
  for (const kind of kinds) for (const s of accommodationKind(kind)?.signals ?? []) signals.add(s);
  return signals;
}

/** The fields of a session the rule reads. */
export interface AccommodatableSession {
  botScore: number;
  detectionFlags: readonly unknown[];
}

export interface AccommodatedLevel {
  /** The level that counts: Low when every signal of the session is explained. */
  level: SessionRiskLevel;
  /** The level the score alone gives; differs from `level` only when the accommodation lowered it. */
  without: SessionRiskLevel;
  /** The session's signals an accommodation explains, in the session's order (no repeats). */
  explained: string[];
}

/**
 * A session's level with the accommodations on record (see the file's comment for the rule). Anything in its flags that is
 * not a signal code (an empty string, a non-string) is a signal no accommodation explains, so it never helps lower a level.
 * @throws RiskScoreError as sessionRiskLevel does for a score that is not a number from 0 to 1.
 */
export function accommodatedSessionLevel(
  s: AccommodatableSession,
  thresholds: RiskThresholds,
  accommodated: ReadonlySet<string>,
): AccommodatedLevel {
  const without = sessionRiskLevel(s.botScore, thresholds);
  const flags: readonly unknown[] = Array.isArray(s.detectionFlags) ? s.detectionFlags : [];
  const isExplained = (f: unknown): f is string => typeof f === 'string' && f.length > 0 && accommodated.has(f);
  const explained = [...new Set(flags.filter(isExplained))];
  const allExplained = flags.length > 0 && flags.every(isExplained);
  return { level: allExplained ? 'low' : without, without, explained };
}

/**
 * The words of a level that an accommodation changed, e.g. "Low (High without the accommodated signals)"; just the level's
 * own label when it did not (`without` null or equal).
 */
export function accommodatedLevelWords(level: RiskLevel, without: RiskLevel | null): string {
  const label = riskWords(level).label;
  if (without === null || without === level) return label;
  return `${label} (${riskWords(without).label} without the accommodated signals)`;
}

/** One sentence for a session whose level an accommodation lowered; null when it did not. */
export function accommodatedReason(a: AccommodatedLevel, thresholds: RiskThresholds): string | null {
  if (a.level === a.without) return null;
  const line = a.without === 'high' ? formatThreshold(thresholds.high) : formatThreshold(thresholds.elevated);
  return `Every signal of this session is explained by an accommodation on record, so its score (at or above ${line}) does not raise the level.`;
}

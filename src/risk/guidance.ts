/**
 * What a student is told about their record (docs/product.md "Guidance"), in plain words: what the bot score measures and
 * what it does not, the platform's lines in words, the ordinary causes of each signal, what happens next and how to answer.
 * Pure: the words come from the thresholds and the signal table (./flags), which the staff pages read too.
 */
import { describeFlag, innocentCauses, knownFlags } from './flags';
import { formatThreshold } from './level';
import type { RiskThresholds } from './thresholds';

export interface SignalGuidance {
  code: string;
  /** null for a signal this tool does not know (shown by its code). */
  description: string | null;
  innocentCauses: string[];
}

export interface Guidance {
  botScore: string[];
  thresholds: string[];
  nextSteps: string[];
  howToRespond: string[];
  /** The signals of the given sessions first (those the student has), then every other known signal. */
  signals: SignalGuidance[];
}

export interface GuidanceOptions {
  thresholds: RiskThresholds;
  /** The student's own signals, to put first; unknown codes are kept, with no description. */
  theirSignals?: readonly string[];
  /** How answering works where the student reads this: on each session (full), or through the instructor (summary, notice). */
  canRespondHere: boolean;
  /** Read on one session's page (its own response form is on the page), rather than on the list of sessions. */
  onSession?: boolean;
}

export function signalGuidance(code: string): SignalGuidance {
  return { code, description: describeFlag(code), innocentCauses: innocentCauses(code) };
}

export function studentGuidance(options: GuidanceOptions): Guidance {
  const high = formatThreshold(options.thresholds.high);
  const elevated = formatThreshold(options.thresholds.elevated);
  const theirs = [...new Set((options.theirSignals ?? []).filter((s) => typeof s === 'string' && s.length > 0))];
  const rest = knownFlags().filter((f) => !theirs.includes(f));
  return {
    botScore: [
      'The bot score is a number from 0 to 1 that isnotai gives each browser session. It measures how much the way the page was used (typing, pasting, the pointer, the browser itself) looks like automation or a script rather than a person at the keyboard.',
      'It does not measure whether your work is your own, whether you cheated or whether you used AI to write. It never reads what you typed. A high score says “a person should look at this session”, nothing more.',
    ],
    thresholds: [
      `Your institution calls a session “High” when its score is ${high} or more, and “Elevated” when it is from ${elevated} to below ${high}. Below ${elevated} it is “Low”.`,
      'Your overall level is the highest level of your sessions. An accommodation on record for you can mean a session counts as Low: the page then shows both levels.',
    ],
    nextSteps: [
      'A person reviews it: your instructor or a member of the course staff looks at the sessions behind a level before anything is decided.',
      'A signal is not a finding. Many ordinary things set signals off: the common causes are listed with each signal.',
      'If you use assistive technology or have an agreed accommodation, tell your instructor or your disability service, so that it can be recorded and taken into account.',
    ],
    howToRespond: options.canRespondHere
      ? [
          `${options.onSession ? 'Write your response under “Your response” on this page' : 'Open a session and write your response under “Your response”'}: say what you were doing, in your own words. It is kept with the session, with the date, and your course staff see it beside the signals.`,
          'A response cannot be edited or deleted once sent; you can add another one. You can also ask your instructor or your institution’s academic integrity office.',
        ]
      : [
          'Ask your instructor or your institution’s academic integrity office: they can see the details of what was recorded and can tell you what it means for you.',
        ],
    signals: [...theirs, ...rest].map(signalGuidance),
  };
}

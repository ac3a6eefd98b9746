/** The risk model: pure functions, no I/O. The rules: docs/product.md "Risk thresholds". */
export { DEFAULT_THRESHOLDS, thresholdProblems, type RiskThresholdProblem, type RiskThresholds } from './thresholds';
export {
  formatThreshold,
  isValidScore,
  RISK_LEVELS,
  riskRank,
  RiskScoreError,
  riskWords,
  sessionRiskLevel,
  type RiskLevel,
  type RiskWords,
  type SessionRiskLevel,
} from './level';
export {
  learnerRiskSummary,
  sessionInWindow,
  topFlagCounts,
  type FlagCount,
  type LearnerRiskOptions,
  type LearnerRiskSummary,
  type RiskWindow,
  type SummarisableSession,
} from './summary';
export { describeFlag, flagEvidence, innocentCauses, isKnownFlag, knownFlags, type FlagEvidence } from './flags';
export {
  ACCOMMODATION_KIND_NAMES,
  ACCOMMODATION_KINDS,
  accommodatedLevelWords,
  accommodatedReason,
  accommodatedSessionLevel,
  accommodatedSignals,
  accommodationKind,
  isAccommodationKind,
  type AccommodatableSession,
  type AccommodatedLevel,
  type AccommodationKind,
} from './accommodations';
export { signalGuidance, studentGuidance, type Guidance, type GuidanceOptions, type SignalGuidance } from './guidance';

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
export { describeFlag, flagEvidence, isKnownFlag, type FlagEvidence } from './flags';

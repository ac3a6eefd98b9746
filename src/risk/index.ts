/** The risk model: pure functions, no I/O. See PRODUCT.md "Risk, explained". */
export { DEFAULT_THRESHOLDS, RiskThresholdError, thresholdProblems, validateThresholds, type RiskThresholdErrorCode, type RiskThresholdProblem, type RiskThresholds } from './thresholds';
export {
  formatThreshold,
  isRiskLevel,
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
  topFlagCounts,
  type FlagCount,
  type LearnerRiskOptions,
  type LearnerRiskSummary,
  type RiskWindow,
  type SummarisableSession,
} from './summary';
export { describeFlag, flagText, knownFlags, UNKNOWN_FLAG_DESCRIPTION, type FlagText } from './flags';

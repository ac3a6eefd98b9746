/** The store's public API. Import from here, not from the files behind it. */
export {
  openDatabase,
  migrateToLatest,
  migrateDownTo,
  MIGRATION_NAMES,
  MigrationError,
  type Store,
  type OpenDatabaseOptions,
  type StoreLogger,
} from './db';
export { StoreError, type StoreErrorCode } from './errors';
export {
  DEFAULT_LTI_TTLS,
  EXPIRING_TABLES,
  resolveTtls,
  sweepExpired,
  startSweeper,
  systemClock,
  type Clock,
  type LtiTtls,
  type SweepResult,
  type SweepOptions,
  type SweeperOptions,
} from './expiry';
export { PostgresLtiDatabase, type PostgresLtiDatabaseOptions, type LtiDocument, type EncryptionKey } from './ltijsPlugin';
export type { LtiCollection } from './ltijsCollections';
export {
  verifyEncryptionKey,
  keyCheckDecrypts,
  rotateEncryptionKey,
  undecryptableWith,
  EncryptionKeyMismatchError,
  KeyRotationError,
  type RotationResult,
} from './keyCheck';
export { encryptSecret, decryptSecret, SecretError, MIN_SECRET_LENGTH, type SecretErrorCode } from './secrets';
export {
  createPlatformSettingsRepository,
  type PlatformCredentials,
  type PlatformSettings,
  type PlatformSettingsInput,
  type PlatformSettingsRepository,
} from './platformSettings';
export {
  createAuditLog,
  type AuditLog,
  type AuditAction,
  type AuditEntry,
  type AuditEntryInput,
  type AuditListQuery,
  type AuditPage,
} from './audit';
export { createUpstreamCache, type UpstreamCache, type CacheEntry } from './cache';
export {
  createLaunchStateStore,
  type LaunchStateStore,
  type LoginStore,
  type LoginParams,
  type StoredLogin,
  type StorageBinding,
  type SessionStore,
  type StorageSession,
  type LaunchClaimsStore,
  type LaunchClaims,
} from './launchState';
export type { Schema, JsonValue, PlatformKind, StudentVisibility, RegistrationStatus, RegistrationSource } from './schema';
export {
  createReviewStore,
  type ReviewStore,
  type ReviewKey,
  type CourseKey,
  type ReviewAuthor,
  type ReviewRecord,
  type ReviewStatus,
  type SessionMarkKind,
  type StatusChange,
  type ReviewNote,
  type SessionMark,
  type CourseReviewLine,
  type ReviewWrite,
  type ReviewWriteResult,
} from './review';
export {
  createResponseStore,
  type ResponseStore,
  type StudentResponse,
  type ResponseWrite,
  type ResponseWriteResult,
  type LearnerKey,
  type SeenKey,
} from './responses';
export {
  createAccommodationStore,
  type AccommodationStore,
  type Accommodation,
  type AccommodationSet,
  type AccommodationScope,
  type AccommodationChange,
  type AccommodationChangeResult,
  type LearnerAccommodations,
} from './accommodations';
export {
  DEFAULT_RETENTION_DAYS,
  sweepRetention,
  learnerReviewData,
  eraseLearnerReviewData,
  reviewDataCounts,
  type RetentionCounts,
  type RetentionSweep,
  type RetentionOptions,
  type RegistrationLearner,
  type LearnerReviewData,
  type ReviewDataCounts,
} from './retention';
export {
  createRegistrationStore,
  type RegistrationStore,
  type Registration,
  type RegistrationChanges,
  type RegistrationChangeResult,
  type NewDynamicRegistration,
} from './registrations';
export {
  createPlacementStore,
  PLACEMENT_ID_PATTERN,
  type PlacementStore,
  type Placement,
  type PlacementCourse,
  type NewPlacement,
} from './placements';
export {
  createRosterStore,
  BUILDER,
  type RosterStore,
  type RosterBuilder,
  type RosterBuildState,
  type RosterPlace,
  type RosterCourse,
  type RosterLine,
  type RosterPageLine,
  type RosterSelection,
  type RosterSort,
  type RosterTriageLine,
} from './roster';

/**
 * What the web layer needs from the rest of the tool, as interfaces. The composition root
 * (src/app.ts) hands real implementations in; tests build the same app with other arguments.
 */
import type { IdentityStrategy } from '../lti/identity';
import type { IsnotaiEvent, IsnotaiSession, Page, SessionDetails } from '../isnotai/types';
import type { AuditEntryInput, AuditListQuery, AuditPage } from '../store/audit';
import type { AccommodationStore } from '../store/accommodations';
import type { RosterStore } from '../store/roster';
import type { ResponseStore } from '../store/responses';
import type { LearnerReviewData, RegistrationLearner, ReviewDataCounts } from '../store/retention';
import type { ReviewStore } from '../store/review';

export type StudentVisibility = 'full' | 'summary' | 'notice';

export interface PlatformView {
  /** The registration's id (admin pages, `npm run platforms`). */
  id: string;
  issuer: string;
  clientId: string;
  name: string;
  kind: 'moodle' | 'canvas' | 'other';
  /** Empty: any deployment of this registration is accepted. */
  deploymentIds: string[];
  identity: IdentityStrategy;
  /** The shape (regular expression source, whole id) of a valid id of that mapping; null: any. */
  identityPattern: string | null;
  thresholds: { high: number; elevated: number };
  studentVisibility: StudentVisibility;
  cacheTtlSeconds: number;
  /** Days review data and the audit log are kept (docs/product.md "Retention"). */
  retentionDays: number;
  /** Only an active registration's launches open pages (docs/product.md "Installing the tool"). */
  status: 'pending' | 'active' | 'inactive';
  /** `config`: PLATFORMS_JSON (read-only in the tool); `dynamic`: registered by the LMS, edited in the tool. */
  source: 'config' | 'dynamic';
  /** Its admins may activate and deactivate every registration. */
  toolWide: boolean;
  /** Whether an isnotai API key is stored (never the key: src/app.ts reads it when a page calls isnotai). */
  hasApiKey: boolean;
}

export interface PlatformDirectory {
  find(issuer: string, clientId: string): Promise<PlatformView | null>;
}

/** The audit log (src/store/audit.ts): the web layer records views and lists them for admins. */
export interface AuditSink {
  record(entry: AuditEntryInput): Promise<unknown>;
  /** Newest first, within one LMS registration. */
  list(query: AuditListQuery & { platformIss: string; platformClientId: string }): Promise<AuditPage>;
}

/** A learner's sessions as read, newest first; `truncated` when isnotai holds more than the tool reads. */
export interface LearnerSessions {
  sessions: IsnotaiSession[];
  truncated: boolean;
}

/** The upstream calls the pages make, already bound to one platform's key and base URL. */
export interface UpstreamApi {
  /** The learner's sessions, at most the newest 2,000 (cached; `fresh` reads the API and refreshes the cache). */
  allUserSessions(userId: string, options?: { fresh?: boolean }): Promise<LearnerSessions>;
  sessionDetails(sessionId: string): Promise<SessionDetails>;
  /** One page of the integration-wide list (GET /v1/sessions). */
  sessionsPage(params: SessionFilters & { pageSize?: number; cursor?: string }): Promise<Page<IsnotaiSession>>;
  /** Every session of the integration-wide list that matches, or null when more than `maxItems` do. */
  matchingSessions(filters: SessionFilters, maxItems: number): Promise<IsnotaiSession[] | null>;
  eventsPage(
    sessionId: string,
    params: { pageSize?: number; cursor?: string; type?: string; startTime?: number; endTime?: number },
  ): Promise<Page<IsnotaiEvent>>;
}

/** The filters of GET /v1/sessions (dates as ISO-8601). */
export interface SessionFilters {
  status?: string;
  botOnly?: boolean;
  startDate?: string;
  endDate?: string;
}

/** A short-lived cache of upstream answers, per platform (PostgreSQL in production). */
export interface UpstreamCache {
  /** The cached value, or undefined when there is none (or it has expired). */
  get(key: string): Promise<unknown>;
  getMany(keys: string[]): Promise<Map<string, unknown>>;
  /** As getMany, with when each entry expires. */
  getManyExpiring(keys: string[]): Promise<Map<string, { value: unknown; expiresAt: Date }>>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  setMany(entries: Array<{ key: string; value: unknown }>, ttlSeconds: number): Promise<void>;
}

/** The review records (src/store/review.ts): what staff decided about each learner of a course. */
export type ReviewRecords = ReviewStore;

/** Students' responses to their sessions and which of them each course's staff have seen (src/store/responses.ts). */
export type StudentResponses = ResponseStore;

/** The accommodations register (src/store/accommodations.ts). */
export type AccommodationRegister = AccommodationStore;

/** The course rosters kept in PostgreSQL, built once and read a page at a time (src/store/roster.ts). */
export type RosterRows = RosterStore;

/** One learner's review data in a registration, for an admin's export and erasure (src/store/retention.ts). */
export interface LearnerDataStore {
  read(who: RegistrationLearner): Promise<LearnerReviewData>;
  /** Erases it only if `expect` holds for the data as it is when the erasure runs; its audit row in the same transaction. */
  erase(
    who: RegistrationLearner,
    expect: (data: LearnerReviewData) => boolean,
    audit: (counts: ReviewDataCounts) => AuditEntryInput,
  ): Promise<{ outcome: 'erased'; counts: ReviewDataCounts } | { outcome: 'changed'; data: LearnerReviewData }>;
}

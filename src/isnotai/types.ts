/**
 * The isnotai API's data shapes, as isnotai publishes them (docs/isnotai.md "The API"). These are
 * the types after validation at the client boundary; nothing downstream sees unvalidated upstream
 * JSON.
 */

/** One browser tracking session (PublicSession). */
export interface IsnotaiSession {
  id: string;
  createdAt: string; // ISO-8601
  updatedAt: string; // ISO-8601
  status: string; // 'active' | 'closed' in practice; kept open as the API documents a string
  botScore: number; // 0..1
  detectionFlags: string[];
  pageUrl: string;
  userAgentSummary: string;
  userId: string;
  userName: string;
  userUrl: string;
}

export interface Pagination {
  nextCursor: string | null;
  hasMore: boolean;
  /** The effective page size after the plan-tier clamp. */
  limit: number;
}

export interface Page<T> {
  data: T[];
  pagination: Pagination;
}

/** One event's metadata (EventListResponse item). */
export interface IsnotaiEvent {
  eventId: string;
  messageId: number;
  eventTypeName: string;
  timestamp: number; // Unix ms
  payloadSize: number;
}

export interface EventCounts {
  total: number;
  mouse: number;
  scroll: number;
  keyboard: number;
  touch: number;
  form: number;
}

export interface TimelineBucket {
  timestamp: string; // ISO-8601
  eventCount: number;
  dominantEventType: string;
  activityLevel: number;
}

export interface PageVisit {
  url: string;
  timestamp: string; // ISO-8601
  type: string;
  durationMs: number;
}

/** SessionDetailsResponse.data */
export interface SessionDetails {
  sessionId: string;
  startTime: string;
  endTime: string;
  durationSeconds: number;
  eventCounts: EventCounts;
  timeline: TimelineBucket[];
  pageHistory: PageVisit[];
}

/** The upstream error envelope: {"error": {"code", "message", "details"}}. */
export interface ErrorEnvelope {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

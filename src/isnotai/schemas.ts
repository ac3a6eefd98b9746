/**
 * zod schemas for every upstream body (the API as docs/isnotai.md "The API" describes it): the client
 * parses each 2xx body with these before anything else sees it.
 *
 * A mismatch becomes an IsnotaiResponseError that names the offending field. Unknown extra fields are
 * stripped (the API may grow), missing or mistyped documented fields are errors.
 */
import { z } from 'zod';
import type { ErrorEnvelope, IsnotaiEvent, IsnotaiSession, Page, SessionDetails } from './types';

/** An ISO-8601 timestamp that Date can read (the API documents `date-time`). */
const isoDateTime = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'expected an ISO-8601 date-time',
});
const int = z.number().int();
const nonNegInt = int.nonnegative();

export const sessionSchema = z.object({
  id: z.string().min(1),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  status: z.string(),
  botScore: z.number().min(0).max(1),
  detectionFlags: z.array(z.string()),
  pageUrl: z.string(),
  userAgentSummary: z.string(),
  userId: z.string(),
  userName: z.string(),
  userUrl: z.string(),
}) satisfies z.ZodType<IsnotaiSession>;

export const paginationSchema = z.object({
  // Absent and null both mean "no further page"; we normalise to null.
  nextCursor: z
    .string()
    .nullish()
    .transform((v) => (v === undefined || v === '' ? null : v)),
  hasMore: z.boolean(),
  limit: nonNegInt,
});

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), pagination: paginationSchema });
}

export const sessionPageSchema = pageSchema(sessionSchema) satisfies z.ZodType<Page<IsnotaiSession>>;

export const eventSchema = z.object({
  eventId: z.string().min(1),
  messageId: int,
  eventTypeName: z.string(),
  timestamp: int,
  payloadSize: nonNegInt,
}) satisfies z.ZodType<IsnotaiEvent>;

export const eventPageSchema = pageSchema(eventSchema) satisfies z.ZodType<Page<IsnotaiEvent>>;

export const sessionDetailsSchema = z.object({
  sessionId: z.string().min(1),
  startTime: isoDateTime,
  endTime: isoDateTime,
  durationSeconds: z.number().nonnegative(),
  eventCounts: z.object({
    total: nonNegInt,
    mouse: nonNegInt,
    scroll: nonNegInt,
    keyboard: nonNegInt,
    touch: nonNegInt,
    form: nonNegInt,
  }),
  timeline: z.array(
    z.object({
      timestamp: isoDateTime,
      eventCount: nonNegInt,
      dominantEventType: z.string(),
      activityLevel: z.number(),
    }),
  ),
  pageHistory: z.array(
    z.object({
      url: z.string(),
      timestamp: isoDateTime,
      type: z.string(),
      durationMs: nonNegInt,
    }),
  ),
}) satisfies z.ZodType<SessionDetails>;

export const sessionDetailsResponseSchema = z.object({ data: sessionDetailsSchema });

export const errorEnvelopeSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z
      .record(z.string(), z.unknown())
      .nullish()
      .transform((d) => d ?? undefined),
  }),
}) satisfies z.ZodType<ErrorEnvelope>;

/** zod issues as short `path: message` lines, e.g. `data[3].botScore: expected number, received string`. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    let path = '';
    for (const part of issue.path) path += typeof part === 'number' ? `[${part}]` : path ? `.${String(part)}` : String(part);
    return `${path || '(body)'}: ${issue.message}`;
  });
}

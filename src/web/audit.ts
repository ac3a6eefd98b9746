/** Every view of a student's data is written to the audit log: who, whom, when, from which course. */
import type { Response } from 'express';
import type { Actor } from './actor';
import type { AuditSink } from './ports';

/**
 * `subject` is the one student seen, or the students a view of many showed (a roster page, the
 * session list), or null when the view showed no student's data.
 */
export async function auditView(audit: AuditSink, actor: Actor, res: Response, action: string, subject: string | readonly string[] | null, resource: string | null = null): Promise<void> {
  const many = typeof subject === 'object' && subject !== null;
  await audit.record({
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
    actorUserId: actor.userId ?? actor.sub,
    actorRole: actor.audience,
    subjectUserId: many ? null : subject,
    // An id from upstream that no LMS could have issued (empty, over 255 characters) names no one.
    subjectUserIds: many ? subject.filter((id) => id.length >= 1 && id.length <= 255) : null,
    action,
    contextId: actor.context.id,
    resourceId: resource,
    requestId: String(res.locals.requestId ?? ''),
  });
}

/**
 * Writes the audit rows of each view of a student's data: who, whom, when, from which course
 * (docs/product.md "Audit"); a view of many students is one row per 1,000 of them.
 */
import type { Response } from 'express';
import { MAX_SUBJECTS_PER_ENTRY } from '../store/audit';
import type { Actor } from './actor';
import type { AuditSink } from './ports';

/** Who did what, from which course and in which request: the part of an audit row every view and write shares. */
export function auditEntryOf(actor: Actor, res: Response, action: string, resource: string | null = null) {
  return {
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
    actorUserId: actor.userId ?? actor.sub,
    actorRole: actor.audience,
    action,
    contextId: actor.context.id,
    resourceId: resource,
    requestId: String(res.locals.requestId ?? ''),
  };
}

/**
 * `subject` is the one student seen, or the students a view of many showed (a roster page, an
 * export of every page, the session list), or null when the view showed no student's data.
 */
export async function auditView(
  audit: AuditSink,
  actor: Actor,
  res: Response,
  action: string,
  subject: string | readonly string[] | null,
  resource: string | null = null,
): Promise<void> {
  const entry = auditEntryOf(actor, res, action, resource);
  if (typeof subject === 'string' || subject === null) {
    await audit.record({ ...entry, subjectUserId: subject, subjectUserIds: null });
    return;
  }
  // An id from upstream that no LMS could have issued (empty, over 255 characters) names no one.
  const ids = [...new Set(subject.filter((id) => id.length >= 1 && id.length <= 255))];
  // The store's bound on one row: a view of more students is written as several rows.
  for (let at = 0; at === 0 || at < ids.length; at += MAX_SUBJECTS_PER_ENTRY) {
    await audit.record({ ...entry, subjectUserId: null, subjectUserIds: ids.slice(at, at + MAX_SUBJECTS_PER_ENTRY) });
  }
}

/** Every view of a student's data is written to the audit log: who, whom, when, from which course. */
import type { Response } from 'express';
import type { Actor } from './actor';
import type { AuditSink } from './ports';

export async function auditView(audit: AuditSink, actor: Actor, res: Response, action: string, subject: string | null, resource: string | null = null): Promise<void> {
  await audit.record({
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
    actorUserId: actor.userId ?? actor.sub,
    actorRole: actor.audience,
    subjectUserId: subject,
    action,
    contextId: actor.context.id,
    resourceId: resource,
    requestId: String(res.locals.requestId ?? ''),
  });
}

/**
 * Placements (migration 009, docs/product.md "Placements"): what one placement of the tool in a course covers, as an
 * instructor chose it through Deep Linking. It is made before the LMS creates the link (the Deep Linking response
 * carries its id as a custom parameter), so it is found by its id within the course it was made for, and bound to the
 * resource link id at the link's first launch; from then on that link finds it by its resource link id alone.
 */
import crypto from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { createAuditLog, type AuditEntryInput } from './audit';
import { pgErrorCode, PG_CHECK_VIOLATION, PG_UNIQUE_VIOLATION, StoreError } from './errors';
import type { PlacementTable, Schema } from './schema';

export interface PlacementCourse {
  platformIss: string;
  platformClientId: string;
  deploymentId: string;
  contextId: string;
}

export interface Placement extends PlacementCourse {
  id: string;
  resourceLinkId: string | null;
  title: string;
  scope: 'course' | 'activity';
  /** Activity only: the page address pattern (src/risk/placement.ts says how it matches). */
  urlPattern: string | null;
  windowStart: Date | null;
  windowEnd: Date | null;
  /** Activity only, optional: the placement's own lines. */
  thresholds: { high: number; elevated: number } | null;
  createdByUserId: string;
  createdAt: Date;
}

/** A placement as the form makes it: what it covers, by whom, and its audit row (written in the same transaction). */
export type NewPlacement = Omit<Placement, 'id' | 'resourceLinkId' | 'createdAt'> & { audit: AuditEntryInput };

export interface PlacementStore {
  create(input: NewPlacement): Promise<Placement>;
  /**
   * The placement a launch of this resource link opens: the one bound to it, else (first launch) the one the
   * link's custom parameter names, if it was made in this course and is not bound to another link (then it is bound
   * here). Undefined: the link covers the whole course.
   */
  forLaunch(course: PlacementCourse, resourceLinkId: string, placementId: string | null): Promise<Placement | undefined>;
  get(id: string): Promise<Placement | undefined>;
}

export const PLACEMENT_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

function toPlacement(r: Selectable<PlacementTable>): Placement {
  return {
    id: r.id,
    platformIss: r.platform_iss,
    platformClientId: r.platform_client_id,
    deploymentId: r.deployment_id,
    contextId: r.context_id,
    resourceLinkId: r.resource_link_id,
    title: r.title,
    scope: r.scope,
    urlPattern: r.url_pattern,
    windowStart: r.window_start,
    windowEnd: r.window_end,
    thresholds: r.risk_high !== null && r.risk_elevated !== null ? { high: r.risk_high, elevated: r.risk_elevated } : null,
    createdByUserId: r.created_by_user_id,
    createdAt: r.created_at,
  };
}

export function createPlacementStore(db: Kysely<Schema>): PlacementStore {
  const inCourse = (c: PlacementCourse) =>
    db
      .selectFrom('placement')
      .selectAll()
      .where('platform_iss', '=', c.platformIss)
      .where('platform_client_id', '=', c.platformClientId)
      .where('deployment_id', '=', c.deploymentId)
      .where('context_id', '=', c.contextId);

  return {
    async create(input) {
      const id = crypto.randomBytes(18).toString('base64url');
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .insertInto('placement')
            .values({
              id,
              platform_iss: input.platformIss,
              platform_client_id: input.platformClientId,
              deployment_id: input.deploymentId,
              context_id: input.contextId,
              title: input.title,
              scope: input.scope,
              url_pattern: input.urlPattern,
              window_start: input.windowStart,
              window_end: input.windowEnd,
              risk_high: input.thresholds?.high ?? null,
              risk_elevated: input.thresholds?.elevated ?? null,
              created_by_user_id: input.createdByUserId,
              resource_link_id: null,
              bound_at: null,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await createAuditLog(trx).record({ ...input.audit, resourceId: input.audit.resourceId ?? `placement ${id}` });
          return toPlacement(row);
        });
      } catch (err) {
        if (pgErrorCode(err) === PG_CHECK_VIOLATION)
          throw new StoreError('invalid_placement', `Invalid placement (${(err as { constraint?: string }).constraint ?? 'a check'})`, {
            cause: err,
          });
        throw err;
      }
    },

    async forLaunch(course, resourceLinkId, placementId) {
      const bound = await inCourse(course).where('resource_link_id', '=', resourceLinkId).executeTakeFirst();
      if (bound) return toPlacement(bound);
      if (!placementId || !PLACEMENT_ID_PATTERN.test(placementId)) return undefined;
      try {
        const row = await db
          .updateTable('placement')
          .set({ resource_link_id: resourceLinkId, bound_at: new Date() })
          .where('id', '=', placementId)
          .where('platform_iss', '=', course.platformIss)
          .where('platform_client_id', '=', course.platformClientId)
          .where('deployment_id', '=', course.deploymentId)
          .where('context_id', '=', course.contextId)
          .where('resource_link_id', 'is', null)
          .returningAll()
          .executeTakeFirst();
        if (row) return toPlacement(row);
      } catch (err) {
        // Another launch of the same link bound another placement first: that one wins.
        if (pgErrorCode(err) !== PG_UNIQUE_VIOLATION) throw err;
      }
      const again = await inCourse(course).where('resource_link_id', '=', resourceLinkId).executeTakeFirst();
      return again ? toPlacement(again) : undefined;
    },

    async get(id) {
      if (!PLACEMENT_ID_PATTERN.test(id)) return undefined;
      const row = await db.selectFrom('placement').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toPlacement(row);
    },
  };
}

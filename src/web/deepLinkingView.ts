/**
 * The grading view's words (docs/product.md "Placements"): a staff launch of a link placed on one activity reads only
 * that activity's sessions (the bound upstream's lens, src/web/upstream.ts) with its placement's thresholds
 * (src/web/actor.ts), and every staff page of the launch says so at its top (views/partials/placement-banner.hbs).
 */
import type { NextFunction, Request, Response } from 'express';
import { describePlacement, narrowsSessions } from '../risk/placement';
import type { Actor } from './actor';
import { clip, formatDateTime } from './format';

export interface PlacementBanner {
  id: string;
  title: string;
  text: string;
}

/** The banner of a staff launch of an activity's placement; null for a student, or a link that covers the whole course. */
export function placementBannerView(actor: Actor): PlacementBanner | null {
  const p = actor.placement;
  if (!p || actor.audience === 'student' || !narrowsSessions(p)) return null;
  // actor.platform.thresholds are already the placement's when it has its own (src/web/actor.ts).
  return { id: p.id, title: clip(p.title, 120), text: describePlacement(p, actor.platform.thresholds, (d) => formatDateTime(d)) };
}

/** What a data export of the launch says about its placement (null: the whole course). */
export function placementJson(actor: Actor) {
  const p = actor.placement;
  if (!p || actor.audience === 'student' || !narrowsSessions(p)) return null;
  return {
    id: p.id,
    title: p.title,
    scope: p.scope,
    urlPattern: p.urlPattern,
    windowStart: p.windowStart?.toISOString() ?? null,
    windowEnd: p.windowEnd?.toISOString() ?? null,
    thresholds: p.thresholds,
    description: describePlacement(p, actor.platform.thresholds),
  };
}

/** Express middleware after the actor: `res.locals.placementBanner` for the pages' layout and views. */
export function placementBanner(_req: Request, res: Response, next: NextFunction): void {
  const actor = res.locals.actor as Actor | undefined;
  if (actor) {
    const banner = placementBannerView(actor);
    if (banner) res.locals.placementBanner = banner;
  }
  next();
}

/**
 * Answers /favicon.ico with the tool's icon, before the request log and before ltijs, so that it
 * leaves no log line.
 *
 * Browsers ask for /favicon.ico on every page of their own accord; without an answer here the request
 * fell through to ltijs, which refused it as a launch without an ltik and logged it as such (dozens of
 * "launch refused" lines per session).
 */
import fs from 'node:fs';
import type { NextFunction, Request, Response } from 'express';

/** A day: the icon changes only with a release. */
export const FAVICON_MAX_AGE_SECONDS = 86_400;

export function favicon(file: string) {
  const body = fs.readFileSync(file);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path !== '/favicon.ico' || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    res.status(200);
    res.setHeader('Content-Type', 'image/x-icon');
    res.setHeader('Cache-Control', `public, max-age=${FAVICON_MAX_AGE_SECONDS}`);
    res.setHeader('Content-Length', String(body.length));
    if (req.method === 'HEAD') return void res.end();
    res.end(body);
  };
}

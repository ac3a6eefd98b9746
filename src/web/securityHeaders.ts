/**
 * The response headers every answer of the tool carries (ltijs's helmet sets the generic ones
 * before this: nosniff, COOP/CORP, …; it leaves CSP and framing to us).
 *
 * - `Cache-Control: no-store` on everything but /assets: pages, exports, error pages and launch
 *   redirects carry student data or ltiks, and a shared or back-button cache must not keep them.
 *   A route that serves public data may set its own.
 * - CSP `frame-ancestors`: only the registered LMSs may frame the tool (the origins of each
 *   platform's issuer and authentication endpoint); `form-action`: the tool itself and those LMSs
 *   (the new-window form posts a login to /login, which redirects to the LMS). The origins are
 *   computed when platforms are registered (`setPlatformOrigins`), not per request.
 * - HSTS only when the tool's public URL is https (a browser ignores it over http, and an http
 *   TOOL_URL means it is not meant to be forced).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Provider } from 'ltijs';
import { originOf } from '../lti/platformStorage';

export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';

export interface SecurityHeaders {
  middleware: RequestHandler;
  /** The LMS origins allowed to frame the tool and receive its forms; replaces the previous list. */
  setPlatformOrigins(origins: Iterable<string>): void;
  /** The CSP as currently sent. */
  readonly contentSecurityPolicy: string;
}

export function securityHeaders(options: { toolUrl: string | undefined; assetsPrefix: string }): SecurityHeaders {
  const hsts = options.toolUrl?.startsWith('https://') === true;
  const assets = options.assetsPrefix.endsWith('/') ? options.assetsPrefix : `${options.assetsPrefix}/`;
  let csp = policyFor([]);

  return {
    middleware(req: Request, res: Response, next: NextFunction): void {
      // The tool is framed by LMSs on other sites; only http(s) links leave it, never a referrer.
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Content-Security-Policy', csp);
      if (hsts) res.setHeader('Strict-Transport-Security', HSTS_VALUE);
      else res.removeHeader('Strict-Transport-Security');
      if (!req.path.startsWith(assets)) res.setHeader('Cache-Control', 'no-store');
      next();
    },
    setPlatformOrigins(origins) {
      csp = policyFor([...new Set([...origins].map((o) => originOf(o)).filter((o): o is string => o !== null))].sort());
    },
    get contentSecurityPolicy() {
      return csp;
    },
  };
}

function policyFor(lmsOrigins: string[]): string {
  const ancestors = lmsOrigins.length > 0 ? lmsOrigins.join(' ') : "'none'";
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    `form-action ${["'self'", ...lmsOrigins].join(' ')}`,
    "base-uri 'none'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');
}

/** The origins of every platform registered with ltijs: its issuer and its authentication endpoint. */
export async function registeredPlatformOrigins(lti: Provider): Promise<string[]> {
  const platforms = await lti.getAllPlatforms();
  const origins: string[] = [];
  for (const p of platforms) {
    for (const url of [await p.platformUrl(), await p.platformAuthEndpoint()]) {
      const origin = typeof url === 'string' ? originOf(url) : null;
      if (origin) origins.push(origin);
    }
  }
  return origins;
}

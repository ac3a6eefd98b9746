/**
 * The response headers every answer of the tool carries (ltijs's helmet sets the generic ones
 * before this: nosniff, COOP/CORP, …; it leaves CSP and framing to us).
 *
 * - `Cache-Control: no-store` on everything but /assets: pages, exports, error pages and launch
 *   redirects carry student data or ltiks, and a shared or back-button cache must not keep them.
 *   A route that serves public data may set its own.
 * - CSP `frame-ancestors`: only the LMSs of active registrations may frame the tool (the origins of
 *   each active platform's issuer and authentication endpoint, and the address an active registration
 *   was made from: `activeOrigins`); `form-action`: the tool itself and those LMSs (the new-window form
 *   posts a login to /login, which redirects to the LMS). The origins are computed when registrations
 *   change and every 30 s (`setPlatformOrigins`), not per request; the Dynamic Registration page alone
 *   adds its own framer to its own response.
 * - HSTS only when the tool's public URL is https (a browser ignores it over http, and an http
 *   TOOL_URL means it is not meant to be forced).
 * - `script-src`: exactly one script, /assets/frame-resize.js (the layout's, which asks the LMS to fit its frame to
 *   the page), named by its full address (TOOL_URL's origin, or without one the origin the request arrived on); no
 *   other script runs on an ordinary page. A page with a script of its own adds it with `extendPolicy` (the platform
 *   storage page, the Dynamic Registration page).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Provider } from 'ltijs';
import { originOf } from '../lti/platformStorage';

export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';
/** The one script of every page (views/layouts/main.hbs): Canvas's `lti.frameResize`. */
export const FRAME_RESIZE_ASSET = 'frame-resize.js';

export interface SecurityHeaders {
  middleware: RequestHandler;
  /** The LMS origins allowed to frame the tool and receive its forms; replaces the previous list. */
  setPlatformOrigins(origins: Iterable<string>): void;
  /** The CSP as currently sent, before the request's script source is added (see `policyFor`). */
  readonly contentSecurityPolicy: string;
  /** The CSP this request gets: the current policy and the frame-resize script. */
  policyFor(req: Request): string;
  /** The CSP source of one of the tool's assets as this request's page loads it, or null without a usable origin. */
  assetSource(req: Request, asset: string): string | null;
}

export function securityHeaders(options: { toolUrl: string | undefined; assetsPrefix: string }): SecurityHeaders {
  const hsts = options.toolUrl?.startsWith('https://') === true;
  const assets = options.assetsPrefix.endsWith('/') ? options.assetsPrefix : `${options.assetsPrefix}/`;
  let csp = policyFor([]);
  const toolOrigin = options.toolUrl ? originOf(options.toolUrl) : null;

  const assetSource = (req: Request, asset: string): string | null => {
    const origin = toolOrigin ?? requestOrigin(req);
    return origin ? `${origin}${assets}${asset}` : null;
  };
  const policyForRequest = (req: Request): string => {
    const script = assetSource(req, FRAME_RESIZE_ASSET);
    return script ? `${csp}; script-src ${script}` : csp;
  };

  return {
    middleware(req: Request, res: Response, next: NextFunction): void {
      // The tool is framed by LMSs on other sites; only http(s) links leave it, never a referrer.
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Content-Security-Policy', policyForRequest(req));
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
    policyFor: policyForRequest,
    assetSource,
  };
}

/** The origin a request arrived on (development without TOOL_URL), or null when its Host is not a plain host[:port]. */
function requestOrigin(req: Request): string | null {
  const host = req.get('host') ?? '';
  if (!/^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(host)) return null;
  return `${req.protocol === 'https' ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/**
 * Adds sources to one directive of this response's CSP ('none' gives way; a directive the policy lacks is added):
 * a page's own script, or the LMS that frames the Dynamic Registration page. `replace`: the directive becomes exactly
 * these sources (the storage page's `script-src 'self'`, which covers the frame-resize script too).
 */
export function extendPolicy(
  res: Response,
  directive: 'script-src' | 'frame-ancestors' | 'form-action',
  sources: readonly string[],
  options: { replace?: boolean } = {},
): void {
  const current = String(res.getHeader('Content-Security-Policy') ?? "default-src 'none'");
  const parts = current
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean);
  const index = parts.findIndex((p) => p.split(/\s+/)[0] === directive);
  const existing = index >= 0 ? (parts[index] as string).split(/\s+/).slice(1) : [];
  const merged = [...new Set([...(options.replace ? [] : existing.filter((s) => s !== "'none'")), ...sources])];
  const value = `${directive} ${merged.length > 0 ? merged.join(' ') : "'none'"}`;
  if (index >= 0) parts[index] = value;
  else parts.push(value);
  res.setHeader('Content-Security-Policy', parts.join('; '));
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

/** A registration as the headers read it (src/store/registrations.ts). */
export interface RegistrationOrigins {
  issuer: string;
  clientId: string;
  status: string;
  registration: Record<string, unknown> | null;
}

/** A platform as ltijs stores it: its issuer, client id and authentication endpoint. */
export interface PlatformOrigins {
  issuer: string;
  clientId: string;
  authenticationEndpoint: string;
}

/**
 * The origins the LMSs registered by Dynamic Registration were registered from (their configuration's address): a
 * Canvas institution shows the tool from its own domain, while its issuer is canvas.instructure.com.
 */
export function registeredFromOrigins(registrations: ReadonlyArray<{ registration: Record<string, unknown> | null }>): string[] {
  const origins: string[] = [];
  for (const r of registrations) {
    const url = r.registration?.openidConfiguration;
    const origin = typeof url === 'string' ? originOf(url) : null;
    if (origin) origins.push(origin);
  }
  return origins;
}

/**
 * The origins that may frame the tool and receive its forms, from ACTIVE registrations only: each active platform's
 * issuer and authentication endpoint, and the address an active registration was made from. A platform of
 * PLATFORMS_JSON (`configured`) is always active; any other ltijs platform counts only when its registration is
 * active, so a pending registration (anyone may make one at /register) or an inactive one widens nothing.
 */
export function activeOrigins(
  platforms: readonly PlatformOrigins[],
  registrations: readonly RegistrationOrigins[],
  configured: ReadonlyArray<{ issuer: string; clientId: string }>,
): string[] {
  const pair = (issuer: string, clientId: string) => JSON.stringify([issuer, clientId]);
  const active = new Set([
    ...configured.map((c) => pair(c.issuer, c.clientId)),
    ...registrations.filter((r) => r.status === 'active').map((r) => pair(r.issuer, r.clientId)),
  ]);
  const origins: string[] = [];
  for (const p of platforms) {
    if (!active.has(pair(p.issuer, p.clientId))) continue;
    for (const url of [p.issuer, p.authenticationEndpoint]) {
      const origin = originOf(url);
      if (origin) origins.push(origin);
    }
  }
  return [...origins, ...registeredFromOrigins(registrations.filter((r) => r.status === 'active'))];
}

/** `activeOrigins` of the platforms ltijs has registered. */
export async function activeRegistrationOrigins(
  lti: Provider,
  registrations: readonly RegistrationOrigins[],
  configured: ReadonlyArray<{ issuer: string; clientId: string }>,
): Promise<string[]> {
  const platforms: PlatformOrigins[] = [];
  for (const p of await lti.getAllPlatforms()) {
    const [issuer, clientId, authenticationEndpoint] = await Promise.all([p.platformUrl(), p.platformClientId(), p.platformAuthEndpoint()]);
    if (typeof issuer === 'string' && typeof clientId === 'string')
      platforms.push({
        issuer,
        clientId,
        authenticationEndpoint: typeof authenticationEndpoint === 'string' ? authenticationEndpoint : '',
      });
  }
  return activeOrigins(platforms, registrations, configured);
}

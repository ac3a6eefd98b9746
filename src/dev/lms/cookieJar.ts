/**
 * A browser-like cookie jar for the test user agent (RFC 6265bis, the parts launches exercise):
 * Domain/host-only, Path, Expires and Max-Age (Max-Age wins), Secure (also accepted on
 * http://127.0.0.1 and localhost, which browsers treat as secure contexts), HttpOnly (kept, no
 * effect without scripts), SameSite (Strict/Lax/None by the site of the request's initiator),
 * and Partitioned (CHIPS: keyed by the top-level site; requires Secure).
 * Ports do not separate cookies, as in browsers.
 */

export type SameSite = 'strict' | 'lax' | 'none';

export interface StoredCookie {
  name: string;
  value: string;
  /** Host (host-only cookie) or domain (Domain attribute) the cookie belongs to. */
  domain: string;
  hostOnly: boolean;
  path: string;
  /** Expiry in ms since the epoch; undefined for a session cookie. */
  expires?: number;
  secure: boolean;
  httpOnly: boolean;
  /** As set; undefined means the attribute was absent (browsers then treat it as Lax). */
  sameSite?: SameSite;
  partitioned: boolean;
  /** CHIPS partition key (top-level site) for partitioned cookies. */
  partitionKey?: string;
  createdAt: number;
}

export interface CookieRequestContext {
  /** The URL whose page started this request (form submit, link, redirect); undefined = typed by the user. */
  initiator?: string;
  method: string;
  /** The top-level site's URL; undefined = this request is itself a top-level navigation. */
  topLevelUrl?: string;
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/** Potentially trustworthy origins where browsers allow Secure cookies over plain HTTP. */
export function isTrustworthy(url: URL): boolean {
  const h = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'https:' || h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '::1';
}

/** Registrable-domain approximation (no public suffix list): IPs and single labels are their own site. */
export function siteOf(url: URL): string {
  const h = url.hostname;
  if (isIp(h) || !h.includes('.')) return `${url.protocol}//${h}`;
  return `${url.protocol}//${h.split('.').slice(-2).join('.')}`;
}

function defaultPath(url: URL): string {
  const p = url.pathname;
  if (!p.startsWith('/') || p.lastIndexOf('/') === 0) return '/';
  return p.slice(0, p.lastIndexOf('/'));
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (!isIp(host) && host.endsWith(`.${domain}`));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export class CookieJar {
  private cookies: StoredCookie[] = [];

  /**
   * @param blockThirdPartyCookies as Safari, Firefox and many Chromium settings do: in a frame
   * whose top-level site differs, only Partitioned cookies are stored and sent.
   * @param blockFramedCookies stricter (as Safari): in such a frame no cookie is stored at all,
   * partitioned or not.
   */
  constructor(
    private readonly now: () => number = Date.now,
    readonly blockThirdPartyCookies = false,
    readonly blockFramedCookies = false,
  ) {}

  private isThirdParty(target: URL, topLevelUrl: string | undefined): boolean {
    return topLevelUrl !== undefined && siteOf(new URL(topLevelUrl)) !== siteOf(target);
  }

  /** Stores the Set-Cookie headers of a response to `url`. Returns the names stored or removed. */
  setFromResponse(url: string, setCookie: string | string[] | undefined, context: { topLevelUrl?: string } = {}): void {
    if (!setCookie) return;
    if (this.blockFramedCookies && this.isThirdParty(new URL(url), context.topLevelUrl)) return;
    for (const header of Array.isArray(setCookie) ? setCookie : [setCookie]) this.setOne(new URL(url), header, context.topLevelUrl);
  }

  private setOne(url: URL, header: string, topLevelUrl: string | undefined): void {
    const [pair, ...attrs] = header.split(';');
    const eq = (pair ?? '').indexOf('=');
    if (eq <= 0) return;
    const name = (pair as string).slice(0, eq).trim();
    let value = (pair as string).slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const now = this.now();
    const cookie: StoredCookie = {
      name,
      value,
      domain: url.hostname,
      hostOnly: true,
      path: defaultPath(url),
      secure: false,
      httpOnly: false,
      partitioned: false,
      createdAt: now,
    };
    let maxAge: number | undefined;
    let expires: number | undefined;
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      const key = (i >= 0 ? attr.slice(0, i) : attr).trim().toLowerCase();
      const val = i >= 0 ? attr.slice(i + 1).trim() : '';
      if (key === 'max-age' && /^-?\d+$/.test(val)) maxAge = Number(val);
      else if (key === 'expires') {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) expires = t;
      } else if (key === 'domain' && val) {
        const d = val.replace(/^\./, '').toLowerCase();
        if (!domainMatches(url.hostname, d)) return; // a host may not set cookies for another domain
        cookie.domain = d;
        cookie.hostOnly = isIp(d) ? true : false;
      } else if (key === 'path') cookie.path = val.startsWith('/') ? val : defaultPath(url);
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'samesite') {
        const s = val.toLowerCase();
        if (s === 'strict' || s === 'lax' || s === 'none') cookie.sameSite = s;
      } else if (key === 'partitioned') cookie.partitioned = true;
    }
    if (cookie.secure && !isTrustworthy(url)) return;
    if (cookie.sameSite === 'none' && !cookie.secure) return; // browsers reject SameSite=None without Secure
    if (this.isThirdParty(url, topLevelUrl)) {
      // A cross-site frame: only SameSite=None cookies are set there, and none but partitioned
      // ones when third-party cookies are blocked.
      if (cookie.sameSite !== 'none') return;
      if (this.blockThirdPartyCookies && !cookie.partitioned) return;
    }
    if (cookie.partitioned) {
      if (!cookie.secure) return;
      cookie.partitionKey = siteOf(new URL(topLevelUrl ?? url.href));
    }
    if (maxAge !== undefined) cookie.expires = now + maxAge * 1000;
    else if (expires !== undefined) cookie.expires = expires;
    const same = (c: StoredCookie): boolean =>
      c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path && c.partitionKey === cookie.partitionKey;
    const existing = this.cookies.find(same);
    if (existing) cookie.createdAt = existing.createdAt;
    this.cookies = this.cookies.filter((c) => !same(c));
    if (cookie.expires === undefined || cookie.expires > now) this.cookies.push(cookie);
  }

  /** Cookies a browser would send with this request, in sending order. */
  cookiesFor(url: string, context: CookieRequestContext): StoredCookie[] {
    this.sweep();
    const target = new URL(url);
    const crossSite = context.initiator !== undefined && siteOf(new URL(context.initiator)) !== siteOf(target);
    const topLevel = context.topLevelUrl === undefined;
    const topSite = siteOf(new URL(context.topLevelUrl ?? url));
    return this.cookies
      .filter((c) => (c.hostOnly ? target.hostname === c.domain : domainMatches(target.hostname, c.domain)))
      .filter((c) => pathMatches(target.pathname || '/', c.path))
      .filter((c) => !c.secure || isTrustworthy(target))
      .filter((c) => !c.partitioned || c.partitionKey === topSite)
      .filter((c) => {
        if (!this.isThirdParty(target, context.topLevelUrl)) return true;
        if (c.sameSite !== 'none') return false;
        return !this.blockThirdPartyCookies || c.partitioned;
      })
      .filter((c) => {
        if (!crossSite) return true;
        const mode = c.sameSite ?? 'lax';
        if (mode === 'none') return true;
        if (mode === 'strict') return false;
        return topLevel && context.method.toUpperCase() === 'GET';
      })
      .sort((a, b) => b.path.length - a.path.length || a.createdAt - b.createdAt);
  }

  header(url: string, context: CookieRequestContext): string | undefined {
    const list = this.cookiesFor(url, context);
    return list.length > 0 ? list.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  all(): StoredCookie[] {
    this.sweep();
    return this.cookies.map((c) => ({ ...c }));
  }

  /** Forgets every cookie, or only those of one site's host (as a browser clearing one site's data). */
  clear(host?: string): void {
    this.cookies = host === undefined ? [] : this.cookies.filter((c) => c.domain !== host);
  }

  private sweep(): void {
    const now = this.now();
    this.cookies = this.cookies.filter((c) => c.expires === undefined || c.expires > now);
  }
}

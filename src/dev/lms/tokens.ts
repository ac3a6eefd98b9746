/**
 * OAuth2 client-credentials token endpoint (LTI Advantage security framework): the tool
 * authenticates with a JWT assertion signed by its private key; the platform verifies it
 * against the tool's JWKS, fetched from the tool's `/keys` on every request (ltijs adds a key
 * per registered platform, so a cached keyset would go stale in tests that register late).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { z } from 'zod';
import { NRPS_SCOPE, AGS_SCOPES } from './claims';
import { JwtError, verifyJwt } from './jwt';

export const GRANTABLE_SCOPES = new Set<string>([NRPS_SCOPE, ...AGS_SCOPES, 'https://purl.imsglobal.org/spec/lti-bo/scope/basicoutcome']);
export const ACCESS_TOKEN_TTL_SECONDS = 3600;

export interface IssuedToken {
  platform: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

export type TokenCheck = { ok: true; token: IssuedToken } | { ok: false; status: 401 | 403; error: string };

/** Access tokens and used assertion ids, in memory, with expiry. */
export class AccessTokenStore {
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly usedJtis = new Map<string, number>();
  /** Access tokens issued so far (tests count how often the tool asked). */
  issuedCount = 0;
  /**
   * While set, the services refuse every access token, even a fresh one (as an LMS whose tool
   * registration lost the service or cannot verify the tool any more).
   */
  refuseAll = false;

  issue(
    platform: string,
    clientId: string,
    scopes: string[],
    nowSeconds: number,
  ): { access_token: string; token_type: 'Bearer'; expires_in: number; scope: string } {
    this.sweep(nowSeconds);
    const accessToken = randomBytes(24).toString('base64url');
    this.issuedCount++;
    this.tokens.set(accessToken, { platform, clientId, scopes, expiresAt: nowSeconds + ACCESS_TOKEN_TTL_SECONDS });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS, scope: scopes.join(' ') };
  }

  /** Records an assertion's jti; false if it was already used (a replayed assertion). */
  useJti(jti: string, expiresAt: number, nowSeconds: number): boolean {
    this.sweep(nowSeconds);
    if (this.usedJtis.has(jti)) return false;
    this.usedJtis.set(jti, expiresAt);
    return true;
  }

  check(authorization: string | undefined, platform: string, scope: string, nowSeconds: number): TokenCheck {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return { ok: false, status: 401, error: 'missing bearer token' };
    const token = this.tokens.get(match[1] as string);
    if (!token || token.expiresAt <= nowSeconds) return { ok: false, status: 401, error: 'invalid or expired access token' };
    if (this.refuseAll) return { ok: false, status: 401, error: 'access token revoked' };
    if (token.platform !== platform) return { ok: false, status: 401, error: 'access token issued by another platform' };
    if (!token.scopes.includes(scope)) return { ok: false, status: 403, error: `access token lacks scope ${scope}` };
    return { ok: true, token };
  }

  /** Test hook: forget every issued token, as an LMS restarted with new state does. */
  revokeAll(): void {
    this.tokens.clear();
  }

  private sweep(nowSeconds: number): void {
    for (const [k, t] of this.tokens) if (t.expiresAt <= nowSeconds) this.tokens.delete(k);
    for (const [k, exp] of this.usedJtis) if (exp < nowSeconds - 60) this.usedJtis.delete(k);
  }
}

const TokenRequest = z.object({
  grant_type: z.literal('client_credentials'),
  client_assertion_type: z.literal('urn:ietf:params:oauth:client-assertion-type:jwt-bearer'),
  client_assertion: z.string().min(1),
  scope: z.string().min(1),
});

export interface TokenEndpointContext {
  platform: string;
  clientId: string;
  /** Accepted `aud` values of the assertion (ltijs sends the access-token endpoint URL). */
  audiences: string[];
  toolJwksUrl: string;
  store: AccessTokenStore;
  nowSeconds: number;
}

export interface TokenEndpointAnswer {
  status: number;
  body: Record<string, unknown>;
}

function oauthError(status: number, error: string, description: string): TokenEndpointAnswer {
  return { status, body: { error, error_description: description } };
}

export async function fetchJwks(url: string): Promise<{ keys: unknown[] }> {
  const res = await request(url, { method: 'GET', headers: { accept: 'application/json' }, headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`the tool's keyset at ${url} answered ${res.statusCode}`);
  const parsed = z.object({ keys: z.array(z.unknown()) }).safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`the tool's keyset at ${url} is not a JWKS`);
  return parsed.data;
}

export async function handleTokenRequest(form: unknown, ctx: TokenEndpointContext): Promise<TokenEndpointAnswer> {
  const grant = (form as Record<string, unknown> | undefined)?.grant_type;
  if (grant !== undefined && grant !== 'client_credentials') {
    const shown = typeof grant === 'string' ? grant : JSON.stringify(grant);
    return oauthError(400, 'unsupported_grant_type', `grant_type ${shown} is not supported`);
  }
  const parsed = TokenRequest.safeParse(form);
  if (!parsed.success)
    return oauthError(400, 'invalid_request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  let jwks: { keys: unknown[] };
  try {
    jwks = await fetchJwks(ctx.toolJwksUrl);
  } catch (err) {
    return oauthError(401, 'invalid_client', `could not read the tool's keyset: ${(err as Error).message}`);
  }
  let payload: Record<string, unknown>;
  try {
    payload = verifyJwt(parsed.data.client_assertion, jwks, ctx.nowSeconds).payload;
  } catch (err) {
    if (err instanceof JwtError) return oauthError(401, 'invalid_client', `client assertion rejected: ${err.message} (${err.code})`);
    throw err;
  }
  if (payload.iss !== ctx.clientId || payload.sub !== ctx.clientId)
    return oauthError(401, 'invalid_client', 'client assertion iss and sub must be the client_id');
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!aud.some((a) => typeof a === 'string' && ctx.audiences.includes(a)))
    return oauthError(401, 'invalid_client', `client assertion aud must be one of ${ctx.audiences.join(', ')}`);
  if (typeof payload.jti !== 'string' || payload.jti === '') return oauthError(401, 'invalid_client', 'client assertion needs a jti');
  if (!ctx.store.useJti(payload.jti, Number(payload.exp), ctx.nowSeconds))
    return oauthError(401, 'invalid_client', 'client assertion jti was already used');
  const requested = parsed.data.scope.split(/\s+/).filter(Boolean);
  const granted = requested.filter((s) => GRANTABLE_SCOPES.has(s));
  if (granted.length === 0) return oauthError(400, 'invalid_scope', `none of the requested scopes can be granted: ${requested.join(' ')}`);
  return { status: 200, body: ctx.store.issue(ctx.platform, ctx.clientId, granted, ctx.nowSeconds) };
}

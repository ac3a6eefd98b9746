/**
 * Response headers, over real HTTP: nothing that carries student data or an ltik may be kept by a
 * cache (pages, exports, error pages, the launch redirects), while static assets stay cacheable;
 * only the registered LMSs may frame the tool or receive its forms (a registration that is not active
 * widens nothing); HSTS when, and only when, the tool's public URL is https.
 */
import crypto from 'node:crypto';
import { request } from 'undici';
import { createRegistrationStore } from '../../src/store';
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const STUDENT = { platform: 'moodle' as const, courseId: '2', userId: '4' };
const TEACHER = { platform: 'moodle' as const, courseId: '2', userId: '3' };

const ENCRYPTION_KEY = crypto.randomBytes(32).toString('base64url');

beforeAll(async () => {
  stack = await testStack('headers', { encryptionKey: ENCRYPTION_KEY });
});
afterAll(async () => {
  await stack?.stop();
});

type Headers = Record<string, string | string[] | undefined>;
const header = (h: Headers, name: string): string => String(h[name] ?? '');

async function raw(url: string, init: { method?: 'GET' | 'POST'; cookie?: string; form?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { accept: 'text/html' };
  if (init.cookie) headers.cookie = init.cookie;
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await request(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.form ? new URLSearchParams(init.form).toString() : undefined,
  });
  await res.body.text();
  return { status: res.statusCode, headers: res.headers as Headers };
}

/** The directives of a Content-Security-Policy header, each as its list of sources. */
function csp(h: Headers): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of header(h, 'content-security-policy').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name, sources);
  }
  return out;
}

/** The registered platforms' issuers and authentication endpoints, as origins. */
function lmsOrigins(s: S): string[] {
  const { moodle, canvas } = s.lms.platforms;
  return [
    ...new Set([moodle.issuer, moodle.authenticationEndpoint, canvas.issuer, canvas.authenticationEndpoint].map((u) => new URL(u).origin)),
  ].sort();
}

describe('Cache-Control', () => {
  test('the launch redirects (ltijs’s with the ltik, to the student’s page, and its launch route’s) are no-store', async () => {
    const browser = stack.browser();
    const captured = await browser.captureIdToken(STUDENT);
    const cookie = browser.jar.header(captured.redirectUri, { method: 'POST' });
    const accepted = await raw(captured.redirectUri, {
      method: 'POST',
      cookie,
      form: { id_token: captured.idToken, state: captured.state },
    });
    expect(accepted.status).toBe(302);
    // Straight to the student's page (src/lti/landing.ts), the ltik on it.
    expect(header(accepted.headers, 'location')).toMatch(/^\/me\?ltik=/);
    expect(header(accepted.headers, 'cache-control')).toBe('no-store');

    // ltijs's launch route with that ltik (a reload of an older address) sends on to the same page.
    const ltik = new URL(header(accepted.headers, 'location'), captured.redirectUri).searchParams.get('ltik')!;
    const next = new URL(`/?ltik=${encodeURIComponent(ltik)}`, captured.redirectUri).href;
    browser.jar.setFromResponse(captured.redirectUri, accepted.headers['set-cookie']);
    const home = await raw(next, { cookie: browser.jar.header(next, { method: 'GET' }) });
    expect(home.status).toBe(303);
    expect(header(home.headers, 'location')).toMatch(/^\/me\?ltik=/);
    expect(header(home.headers, 'cache-control')).toBe('no-store');
  });

  test('student and staff pages, their exports and error pages are no-store', async () => {
    const student = stack.browser();
    const s = await student.launch(STUDENT);
    expect(s.status).toBe(200);
    expect(header(s.headers, 'cache-control')).toBe('no-store');

    const teacher = stack.browser();
    const t = await teacher.launch(TEACHER);
    expect(t.status).toBe(200);
    expect(t.url).toContain('/course?');
    expect(header(t.headers, 'cache-control')).toBe('no-store');
    const at = (path: string) => `${stack.tool.url}${path}?ltik=${encodeURIComponent(t.ltik!)}`;
    for (const path of ['/course.csv', '/course.json', '/learners/4/sessions.csv', '/learners/4']) {
      const res = await teacher.get(at(path));
      expect({ path, status: res.status, cacheControl: header(res.headers, 'cache-control') }).toEqual({
        path,
        status: 200,
        cacheControl: 'no-store',
      });
    }
    // Error pages: one about a learner the teacher may not see, a refused request, an unknown page.
    for (const [browser, url, status] of [
      [teacher, at('/learners/987654'), 403],
      [teacher, at('/learners/nobody-here'), 422],
      [stack.browser(), `${stack.tool.url}/me`, 401],
      [teacher, at('/no-such-page'), 404],
    ] as const) {
      const res = await browser.get(url);
      expect({ url, status: res.status, cacheControl: header(res.headers, 'cache-control') }).toEqual({
        url,
        status,
        cacheControl: 'no-store',
      });
    }
    const refused = await stack.browser().launch({ ...STUDENT, tamper: { expired: true } });
    expect(refused.status).toBe(401);
    expect(header(refused.headers, 'cache-control')).toBe('no-store');
  });

  test('static assets keep their caching', async () => {
    const css = await raw(`${stack.tool.url}/assets/app.css`);
    expect(css.status).toBe(200);
    expect(header(css.headers, 'cache-control')).toBe('public, max-age=3600');
  });
});

describe('Content-Security-Policy', () => {
  test('frame-ancestors lists exactly the registered LMSs’ origins, and form-action the tool and those', async () => {
    const origins = lmsOrigins(stack);
    expect(origins).toEqual([new URL(stack.lms.url).origin, 'https://canvas.instructure.com'].sort());
    const s = await stack.browser().launch(STUDENT);
    const missing = await raw(`${stack.tool.url}/me`);
    for (const h of [s.headers, missing.headers]) {
      const policy = csp(h);
      expect([...(policy.get('frame-ancestors') ?? [])].sort()).toEqual(origins);
      expect(policy.get('form-action')?.[0]).toBe("'self'");
      expect([...(policy.get('form-action') ?? [])].slice(1).sort()).toEqual(origins);
      expect(policy.get('default-src')).toEqual(["'none'"]);
      expect(header(h, 'content-security-policy')).not.toContain('*');
    }
  });
});

describe('Content-Security-Policy and registrations made by an LMS', () => {
  test('a pending registration’s origins are in no page’s policy; once active they are (after a refresh), and gone when deactivated', async () => {
    const issuer = 'https://pending-lms.example.edu';
    const login = 'https://login.pending-lms.example.edu';
    const registeredFrom = 'https://school.pending-lms.example.edu';
    const registrations = createRegistrationStore(stack.tool.store.db, { secret: ENCRYPTION_KEY });
    // As Dynamic Registration stores one: the platform in ltijs, then the registration, pending.
    await stack.tool.tool.lti.registerPlatform({
      url: issuer,
      name: 'Pending LMS',
      clientId: 'pending-client',
      authenticationEndpoint: `${login}/auth`,
      accesstokenEndpoint: `${issuer}/token`,
      authConfig: { method: 'JWK_SET', key: `${issuer}/jwks` },
    });
    const created = await registrations.createDynamic({
      issuer,
      clientId: 'pending-client',
      displayName: 'Pending LMS',
      kind: 'other',
      deploymentIds: [],
      isnotaiBaseUrl: stack.simulator.url,
      identityStrategy: 'sub',
      status: 'pending',
      registration: { openidConfiguration: `${registeredFrom}/openid-configuration` },
      audit: {
        platformIss: issuer,
        platformClientId: 'pending-client',
        actorUserId: 'lms',
        actorRole: 'lms',
        action: 'registration.create',
      },
    });
    const audit = {
      platformIss: issuer,
      platformClientId: 'pending-client',
      actorUserId: 'operator',
      actorRole: 'operator',
      action: 'registration.status' as const,
    };
    const policyOfAPage = async () => csp((await raw(`${stack.tool.url}/me`)).headers);

    await stack.tool.tool.refreshPlatformOrigins();
    let policy = await policyOfAPage();
    expect([...(policy.get('frame-ancestors') ?? [])].sort()).toEqual(lmsOrigins(stack));
    expect([...(policy.get('form-action') ?? [])].slice(1).sort()).toEqual(lmsOrigins(stack));

    expect((await registrations.change(created.id, { status: 'active' }, created.version, audit)).kind).toBe('saved');
    await stack.tool.tool.refreshPlatformOrigins();
    policy = await policyOfAPage();
    const widened = [...lmsOrigins(stack), issuer, login, registeredFrom].sort();
    expect([...(policy.get('frame-ancestors') ?? [])].sort()).toEqual(widened);
    expect([...(policy.get('form-action') ?? [])].slice(1).sort()).toEqual(widened);

    const active = (await registrations.get(created.id))!;
    expect((await registrations.change(created.id, { status: 'inactive' }, active.version, audit)).kind).toBe('saved');
    await stack.tool.tool.refreshPlatformOrigins();
    expect([...((await policyOfAPage()).get('frame-ancestors') ?? [])].sort()).toEqual(lmsOrigins(stack));
  });
});

describe('Content-Security-Policy with a platform’s own frameAncestors', () => {
  let canvasElsewhere: S;
  beforeAll(async () => {
    canvasElsewhere = await testStack('headers_ancestors', {
      platformSettings: { canvas: { frameAncestors: ['https://school.instructure.com/courses/1'] } },
    });
  });
  afterAll(async () => {
    await canvasElsewhere?.stop();
  });

  test('a Canvas shown from its own domain (not its login host) may frame the tool and receive its forms', async () => {
    const res = await raw(`${canvasElsewhere.tool.url}/me`);
    const policy = csp(res.headers);
    const expected = [...lmsOrigins(canvasElsewhere), 'https://school.instructure.com'].sort();
    expect([...(policy.get('frame-ancestors') ?? [])].sort()).toEqual(expected);
    expect([...(policy.get('form-action') ?? [])].slice(1).sort()).toEqual(expected);
  });
});

describe('Strict-Transport-Security', () => {
  test('absent when the tool is served over http', async () => {
    for (const path of ['/healthz', '/me', '/assets/app.css']) {
      const res = await raw(`${stack.tool.url}${path}`);
      expect({ path, hsts: res.headers['strict-transport-security'] }).toEqual({ path, hsts: undefined });
    }
  });

  describe('with an https TOOL_URL', () => {
    let secure: S;
    beforeAll(async () => {
      secure = await testStack('headers_https', { env: { TOOL_URL: 'https://integrity.example.edu' } });
    });
    afterAll(async () => {
      await secure?.stop();
    });

    test('present on every answer, pages and errors alike', async () => {
      for (const path of ['/healthz', '/me', '/assets/app.css', '/keys']) {
        const res = await raw(`${secure.tool.url}${path}`);
        expect({ path, hsts: header(res.headers, 'strict-transport-security') }).toEqual({
          path,
          hsts: 'max-age=31536000; includeSubDomains',
        });
      }
    });
  });
});

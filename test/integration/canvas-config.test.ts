/**
 * Over real HTTP: `GET /canvas.json`, Canvas's LTI 1.3 developer-key JSON (public, no launch), and the frame-resize
 * script every page loads, which the CSP allows alone (docs/product.md "Installing the tool").
 */
import { request } from 'undici';
import { NRPS_SCOPE } from '../../src/lti/dynamicRegistration';
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;

beforeAll(async () => {
  stack = await testStack('canvasconfig');
});
afterAll(async () => {
  await stack?.stop();
});

async function get(path: string, accept = 'text/html') {
  const res = await request(`${stack.tool.url}${path}`, { headers: { accept } });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

test('/canvas.json is Canvas’s developer-key JSON for this tool, served without a launch', async () => {
  const res = await get('/canvas.json');
  expect(res.status).toBe(200);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('public, max-age=300');
  const tool = stack.tool.url;
  const config = JSON.parse(res.body) as Record<string, unknown>;
  expect(config).toEqual({
    title: 'isnotai integrity',
    description: expect.stringContaining('isnotai integrity signals'),
    oidc_initiation_url: `${tool}/login`,
    target_link_uri: `${tool}/`,
    public_jwk_url: `${tool}/keys`,
    scopes: [NRPS_SCOPE],
    extensions: [
      {
        platform: 'canvas.instructure.com',
        domain: new URL(tool).host,
        tool_id: 'isnotai-integrity',
        privacy_level: 'public',
        settings: {
          text: 'Integrity signals',
          placements: [
            expect.objectContaining({
              placement: 'course_navigation',
              message_type: 'LtiResourceLinkRequest',
              target_link_uri: `${tool}/`,
            }),
            expect.objectContaining({ placement: 'assignment_view', message_type: 'LtiResourceLinkRequest', target_link_uri: `${tool}/` }),
            expect.objectContaining({ placement: 'link_selection', message_type: 'LtiDeepLinkingRequest', target_link_uri: `${tool}/` }),
          ],
        },
      },
    ],
    custom_fields: { canvas_user_id: '$Canvas.user.id' },
  });
  // The keyset it names is the tool's.
  const keys = await get('/keys', 'application/json');
  expect(keys.status).toBe(200);
  expect((JSON.parse(keys.body) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
});

test('every page loads the frame-resize script, the one script the CSP allows', async () => {
  for (const [path, status] of [
    ['/me', 401],
    ['/no-such-page', 401],
  ] as const) {
    const res = await get(path);
    expect(res.status).toBe(status);
    expect(res.body.match(/<script[^>]*>/g)).toEqual(['<script src="/assets/frame-resize.js">']);
    const policy = String(res.headers['content-security-policy']);
    expect(policy.match(/script-src [^;]*/g)).toEqual([`script-src ${stack.tool.url}/assets/frame-resize.js`]);
    expect(policy).toContain("default-src 'none'");
  }
  const launched = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '4' });
  expect(launched.status).toBe(200);
  expect(launched.html).toContain('<script src="/assets/frame-resize.js"></script>');
  expect(String(launched.headers['content-security-policy']).match(/script-src [^;]*/g)).toEqual([
    `script-src ${stack.tool.url}/assets/frame-resize.js`,
  ]);

  const script = await get('/assets/frame-resize.js', '*/*');
  expect(script.status).toBe(200);
  expect(String(script.headers['content-type'])).toMatch(/javascript/);
  expect(script.body).toContain("subject: 'lti.frameResize'");
  expect(script.body).toContain('document.documentElement.scrollHeight');
});

test('a Host that is not a plain host and port gets no script source at all (nothing of it reaches the header)', async () => {
  const res = await request(`${stack.tool.url}/me`, { headers: { accept: 'text/html', host: "evil;script-src 'unsafe-inline'" } });
  await res.body.text();
  const policy = String(res.headers['content-security-policy']);
  expect(policy).not.toContain('unsafe-inline');
  expect(policy).not.toContain('script-src');
});

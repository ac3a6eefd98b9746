/**
 * Noise and wording: the favicon browsers ask for on every page is served (not refused and logged
 * as a launch), and error pages are headed by their cause, not only by their status.
 */
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { LtiBrowser } from '../../src/dev/lms';
import { capturingLogger, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
/** What the tool logged (JSON lines). */
const { logger, lines } = capturingLogger('debug');

beforeAll(async () => {
  // The LMS on another site than the tool, as in production: its frame is a third-party context.
  stack = await testStack('noise', { logger, hosts: { tool: '127.0.0.1', lms: 'localhost' } });
});
afterAll(async () => {
  await stack?.stop();
});

const headingOf = (html: string) => textOf(/<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1] ?? '');

test('/favicon.ico is an icon, cached, and leaves no log line (no “launch refused”)', async () => {
  const icon = fs.readFileSync(path.join(__dirname, '../../views/assets/favicon.ico'));
  const before = lines.length;
  for (let i = 0; i < 5; i++) {
    const res = await request(`${stack.tool.url}/favicon.ico`, {
      headers: { accept: 'image/avif,image/webp,image/png,image/*;q=0.8,*/*;q=0.5' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/x-icon');
    expect(String(res.headers['cache-control'])).toMatch(/max-age=86400/);
    expect(Buffer.from(await res.body.arrayBuffer()).equals(icon)).toBe(true);
  }
  const after = lines.slice(before);
  expect(after.filter((l) => l.includes('favicon') || l.includes('launch refused'))).toEqual([]);
});

test('the new-window fallback is headed by what to do, not “Please open this tool from your LMS”', async () => {
  const framed = await new LtiBrowser({ lmsUrl: stack.lms.url, blockFramedCookies: true }).launch({
    platform: 'moodle',
    courseId: '2',
    userId: '4',
    target: 'iframe',
  });
  expect(framed.status).toBe(401);
  expect(framed.html).toContain('<code>launch_needs_new_window</code>');
  expect(headingOf(framed.html)).toBe('Open the tool in a new window');
  expect(framed.html).toMatch(/<title>Open the tool in a new window · /);
});

test('other refusals keep a heading of their own cause; a request with no launch keeps the status’s', async () => {
  const expired = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '4', tamper: { expired: true } });
  expect(expired.html).toContain('<code>launch_expired</code>');
  expect(headingOf(expired.html)).toBe('The launch from your LMS had expired');
  const a = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '4' });
  const stranger = await stack.browser().get(`${stack.tool.url}/me?ltik=${encodeURIComponent(a.ltik!)}`);
  expect(stranger.html).toContain('<code>session_expired</code>');
  expect(headingOf(stranger.html)).toBe('Your session with the tool has ended');
  const none = await stack.browser().get(`${stack.tool.url}/me`);
  expect(none.status).toBe(401);
  expect(headingOf(none.html)).toBe('Please open this tool from your LMS');
});

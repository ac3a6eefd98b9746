/**
 * The test user agent: its cookie jar (against RFC 6265bis rules browsers apply) and its
 * following of redirects and auto-submitting forms, over real HTTP against a small express app.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { CookieJar, LtiBrowser, findAutoSubmitForm, decodeEntities } from '../../src/dev/lms';

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.get('/start', (_req, res) => {
    res.setHeader('Set-Cookie', [
      'a=1; Path=/; HttpOnly',
      'scoped=2; Path=/inner',
      'gone=4; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      'sec=5; Path=/; Secure; SameSite=None; Partitioned',
      'lax=6; Path=/; SameSite=Lax',
      'bad=7; Path=/; SameSite=None',
      'foreign=8; Path=/; Domain=example.com',
    ]);
    res.redirect(302, '/form');
  });
  app.get('/form', (_req, res) => {
    res.type('html').send(`<!doctype html><html><body>
      <form id="f" method="POST" action="/submit?x=1">
        <input type="hidden" name="plain" value="a&amp;b &lt;c&gt;">
        <input type='hidden' name='quoted' value='&quot;q&quot; &#x27;s&#39; &#233;'>
        <input type="submit" name="go" value="Go">
      </form>
      <script>document.getElementById('f').submit();</script></body></html>`);
  });
  app.post('/submit', (req, res) => {
    // 307 keeps the method and body.
    res.redirect(307, `/again?plain=${encodeURIComponent(String(req.body.plain))}`);
  });
  app.post('/again', (req, res) => {
    res.setHeader('Set-Cookie', 'a=; Path=/; Max-Age=0');
    res.redirect(303, `/final?ltik=token-${encodeURIComponent(String(req.body.quoted))}`);
  });
  app.get(['/final', '/inner/page'], (req, res) => {
    res.json({ cookie: req.get('cookie') ?? '', method: req.method });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

test('follows redirects and an auto-submitting form, keeps the right cookies, and reads the ltik', async () => {
  const browser = new LtiBrowser({ lmsUrl: base });
  const res = await browser.get(`${base}/start`);
  expect(res.history.map((h) => `${h.method} ${new URL(h.url).pathname} ${h.status}`)).toEqual([
    'GET /start 302',
    'GET /form 200',
    'POST /submit 307',
    'POST /again 303',
    'GET /final 200',
  ]);
  expect(res.status).toBe(200);
  expect(res.ltik).toBe(`token-"q" 's' é`);
  // a was deleted by Max-Age=0; scoped is for /inner; gone expired; bad (None without Secure) and
  // foreign (another domain) were refused; sec is Secure, which 127.0.0.1 over http may carry.
  expect(JSON.parse(res.html).cookie.split('; ').sort()).toEqual(['lax=6', 'sec=5']);
  expect(res.cookies.map((c) => c.name).sort()).toEqual(['lax', 'scoped', 'sec']);
  expect(res.cookies.find((c) => c.name === 'sec')).toMatchObject({
    secure: true,
    sameSite: 'none',
    partitioned: true,
    partitionKey: 'http://127.0.0.1',
  });
  const inner = await browser.get(`${base}/inner/page`);
  expect(JSON.parse(inner.html).cookie.split('; ')).toEqual(['scoped=2', 'sec=5', 'lax=6']); // longer path first, then oldest first
});

test('parses forms and decodes entities', () => {
  expect(decodeEntities('&amp;&lt;&gt;&quot;&#39;&#x41;&unknown;')).toBe(`&<>"'A&unknown;`);
  expect(findAutoSubmitForm('<form action="/x"><input name="a" value="1"></form>', 'http://h/p')).toBeUndefined();
  const form = findAutoSubmitForm(
    '<form method=post action="https://t/login"><input name=a value=1><input type="checkbox" name="c"><textarea name="t">x&amp;y</textarea></form><script>f.submit()</script>',
    'http://h/p',
  );
  expect(form).toEqual({ method: 'POST', action: 'https://t/login', fields: { a: '1', t: 'x&y' } });
});

describe('the cookie jar', () => {
  test('Max-Age wins over Expires and cookies expire with the clock', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const jar = new CookieJar(() => now);
    jar.setFromResponse('http://127.0.0.1:1/a/b', ['s=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'p=2']);
    expect(jar.header('http://127.0.0.1:2/a/c', { method: 'GET' })).toBe('s=1; p=2');
    expect(jar.header('http://127.0.0.1:2/other', { method: 'GET' })).toBeUndefined(); // default path /a
    now += 61_000;
    expect(jar.header('http://127.0.0.1:2/a/c', { method: 'GET' })).toBe('p=2');
  });

  test('Secure cookies only on https or loopback; SameSite by the site of the initiator', () => {
    const jar = new CookieJar();
    jar.setFromResponse('http://tool.example/', ['insecure=1; Secure']);
    jar.setFromResponse('http://127.0.0.1/', [
      'strict=1; SameSite=Strict',
      'lax=1; SameSite=Lax',
      'dflt=1',
      'none=1; SameSite=None; Secure',
    ]);
    expect(jar.all().map((c) => c.name)).not.toContain('insecure');
    const names = (ctx: { method: string; initiator?: string }) =>
      jar
        .cookiesFor('http://127.0.0.1/', ctx)
        .map((c) => c.name)
        .sort();
    expect(names({ method: 'POST', initiator: 'http://127.0.0.1:9/' })).toEqual(['dflt', 'lax', 'none', 'strict']);
    expect(names({ method: 'POST', initiator: 'http://localhost:9/' })).toEqual(['none']);
    expect(names({ method: 'GET', initiator: 'http://localhost:9/' })).toEqual(['dflt', 'lax', 'none']);
  });

  test('in a cross-site frame only SameSite=None cookies live, and only partitioned ones when third-party cookies are blocked', () => {
    const lms = 'http://localhost:8000/';
    const open = new CookieJar();
    const blocking = new CookieJar(Date.now, true);
    for (const jar of [open, blocking])
      jar.setFromResponse(
        'http://127.0.0.1:3000/login',
        ['state=1; Path=/; SameSite=Lax', 'none=1; Path=/; Secure; SameSite=None', 'chips=1; Path=/; Secure; SameSite=None; Partitioned'],
        { topLevelUrl: lms },
      );
    const names = (jar: CookieJar, topLevelUrl?: string) =>
      jar
        .cookiesFor('http://127.0.0.1:3000/', { method: 'POST', topLevelUrl })
        .map((c) => c.name)
        .sort();
    expect(names(open, lms)).toEqual(['chips', 'none']);
    expect(names(blocking, lms)).toEqual(['chips']);
    // The partitioned cookie belongs to the LMS's partition, not to the tool opened top-level.
    expect(names(blocking)).toEqual([]);
  });
});

/**
 * Compression over real HTTP (src/ltijsAdapter.ts, step 4): pages, JSON and CSV over 1 kB come back
 * gzip- or brotli-encoded to a browser that accepts it, and decode to what a client that accepts none
 * gets; small answers and the favicon are sent as they are; ltijs's own routes still answer; and a cold
 * roster, compressed, still arrives in parts: its progress line while isnotai is still being read,
 * long before the table (src/web/progressPage.ts flushes each part).
 *
 * The LMS emulator's agent sends no Accept-Encoding (undici's `request` would not decode), so the
 * launches go through it and the compressed requests are made here.
 */
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { request } from 'undici';
import type { LtiBrowser } from '../../src/dev/lms';
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
type Encoding = 'gzip' | 'br';
type Headers = Record<string, string | string[] | undefined>;

const STUDENT = { platform: 'moodle' as const, courseId: '2', userId: '4' };
const TEACHER = { platform: 'moodle' as const, courseId: '2', userId: '3' };

beforeAll(async () => {
  // Eight calls to isnotai at once, so that a cold roster of 100-odd learners takes several rounds.
  stack = await testStack('compression', { env: { UPSTREAM_CONCURRENCY: '8' } });
});
afterAll(async () => {
  await stack?.stop();
});

const header = (h: Headers, name: string): string => String(h[name] ?? '');

/** A GET as a browser sends it, with the agent's cookies, asking for `encoding` (or for none). */
async function get(browser: LtiBrowser, url: string, encoding: string | null) {
  const headers: Record<string, string> = { accept: 'text/html,application/json;q=0.9,*/*;q=0.8' };
  if (encoding) headers['accept-encoding'] = encoding;
  const cookie = browser.jar.header(url, { method: 'GET' });
  if (cookie) headers.cookie = cookie;
  const res = await request(url, { method: 'GET', headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers as Headers, body };
}

function decode(body: Buffer, contentEncoding: string): string {
  if (contentEncoding === 'gzip') return zlib.gunzipSync(body).toString('utf8');
  if (contentEncoding === 'br') return zlib.brotliDecompressSync(body).toString('utf8');
  if (contentEncoding === '') return body.toString('utf8');
  throw new Error(`unexpected content-encoding ${contentEncoding}`);
}

/** The page's <main>: the same for two requests of one launch (the layout around it carries nothing per request). */
function mainOf(html: string): string {
  const m = /<main[\s\S]*<\/main>/.exec(html);
  if (!m) throw new Error('no <main> in the page');
  return m[0];
}

describe('pages, JSON and CSV', () => {
  test.each<[Encoding, string]>([
    ['gzip', 'gzip'],
    ['br', 'gzip, deflate, br'],
  ])('a learner’s page asked with %s comes back compressed, and decodes to the page sent uncompressed', async (encoding, accept) => {
    const browser = stack.browser();
    const s = await browser.launch(STUDENT);
    expect(s.status).toBe(200);
    expect(s.url).toContain('/me?');
    const plain = await get(browser, s.url, null);
    const packed = await get(browser, s.url, accept);
    expect(plain.status).toBe(200);
    expect(header(plain.headers, 'content-encoding')).toBe('');
    expect(packed.status).toBe(200);
    expect(header(packed.headers, 'content-encoding')).toBe(encoding);
    expect(header(packed.headers, 'vary').toLowerCase()).toContain('accept-encoding');
    expect(packed.body.length).toBeLessThan(plain.body.length / 2);
    const html = decode(packed.body, encoding);
    expect(mainOf(html)).toBe(mainOf(plain.body.toString('utf8')));
    expect(textOf(html)).toContain('What was recorded about you');
    // Its headers are the page's: type, no-store, the CSP.
    for (const name of ['content-type', 'cache-control', 'content-security-policy', 'x-content-type-options'])
      expect({ name, value: header(packed.headers, name) }).toEqual({ name, value: header(plain.headers, name) });
  });

  test('the roster page, its JSON and its CSV come back compressed and decode to the same content', async () => {
    const browser = stack.browser();
    const t = await browser.launch(TEACHER);
    expect(t.status).toBe(200);
    const at = (path: string) => `${stack.tool.url}${path}?ltik=${encodeURIComponent(t.ltik!)}`;

    const page = await get(browser, at('/course'), 'gzip, br');
    expect(header(page.headers, 'content-encoding')).toBe('br');
    const plainPage = await get(browser, at('/course'), null);
    expect(mainOf(decode(page.body, 'br'))).toBe(mainOf(plainPage.body.toString('utf8')));
    expect(decode(page.body, 'br')).toContain('data-testid="roster"');

    const json = await get(browser, at('/course.json'), 'gzip');
    const plainJson = await get(browser, at('/course.json'), null);
    expect(json.status).toBe(200);
    expect(header(json.headers, 'content-encoding')).toBe('gzip');
    expect(header(json.headers, 'content-type')).toBe(header(plainJson.headers, 'content-type'));
    expect(header(json.headers, 'content-disposition')).toBe(header(plainJson.headers, 'content-disposition'));
    const items = JSON.parse(decode(json.body, 'gzip')) as { total: number; items: unknown[] };
    expect(items).toEqual(JSON.parse(plainJson.body.toString('utf8')));
    expect(items.items.length).toBeGreaterThan(0);

    const csv = await get(browser, at('/course.csv'), 'br;q=0.5, gzip;q=1');
    const plainCsv = await get(browser, at('/course.csv'), null);
    expect(csv.status).toBe(200);
    expect(header(csv.headers, 'content-encoding')).toBe('gzip');
    expect(header(csv.headers, 'content-type')).toBe('text/csv; charset=utf-8');
    expect(header(csv.headers, 'content-disposition')).toBe(header(plainCsv.headers, 'content-disposition'));
    expect(decode(csv.body, 'gzip')).toBe(plainCsv.body.toString('utf8'));
    expect(csv.body.length).toBeLessThan(plainCsv.body.length / 2);
  });

  test('the stylesheet is compressed, and stays cacheable', async () => {
    const res = await get(stack.browser(), `${stack.tool.url}/assets/app.css`, 'gzip, br');
    expect(res.status).toBe(200);
    expect(header(res.headers, 'content-encoding')).toBe('br');
    expect(header(res.headers, 'cache-control')).toMatch(/max-age=3600/);
    expect(decode(res.body, 'br')).toMatch(/\.progress/);
  });
});

describe('what is sent as it is', () => {
  test('an answer under 1 kB (/healthz) is not compressed', async () => {
    const res = await get(stack.browser(), `${stack.tool.url}/healthz`, 'gzip, br');
    expect(res.status).toBe(200);
    expect(res.body.length).toBeLessThan(1024);
    expect(header(res.headers, 'content-encoding')).toBe('');
    expect(JSON.parse(res.body.toString('utf8'))).toMatchObject({ ok: true });
  });

  test('the favicon is sent as it is, with its own Cache-Control', async () => {
    const res = await get(stack.browser(), `${stack.tool.url}/favicon.ico`, 'gzip, br');
    expect(res.status).toBe(200);
    expect(header(res.headers, 'content-encoding')).toBe('');
    expect(header(res.headers, 'content-type')).toBe('image/x-icon');
    expect(header(res.headers, 'cache-control')).toMatch(/^public, max-age=/);
  });

  test('a client that accepts no encoding gets none', async () => {
    const browser = stack.browser();
    const t = await browser.launch(TEACHER);
    const res = await get(browser, `${stack.tool.url}/course.csv?ltik=${encodeURIComponent(t.ltik!)}`, 'identity');
    expect(res.status).toBe(200);
    expect(header(res.headers, 'content-encoding')).toBe('');
    // The CSV as it is: its header row, in plain text.
    expect(res.body.toString('utf8')).toMatch(/^\uFEFF?[^\n]*,[^\n]*\r?\n/);
  });
});

describe('ltijs’s own routes', () => {
  test('/keys answers its key set to a client that accepts gzip', async () => {
    const res = await get(stack.browser(), `${stack.tool.url}/keys`, 'gzip');
    expect(res.status).toBe(200);
    const keys = JSON.parse(decode(res.body, header(res.headers, 'content-encoding'))) as { keys: Array<{ kid: string; n: string }> };
    expect(keys.keys.length).toBeGreaterThan(0);
    expect(keys.keys[0]!.n.length).toBeGreaterThan(100);
  });

  test('/login, asked with Accept-Encoding, still sends the browser on to the LMS', async () => {
    const browser = stack.browser();
    let login: { action: string; fields: Record<string, string> } | undefined;
    await browser.launch({
      ...STUDENT,
      stopBeforeTool: true,
      rewriteForm: (form) => {
        if (new URL(form.action).pathname === '/login') login ??= { action: form.action, fields: { ...form.fields } };
        return form.fields;
      },
    });
    expect(login).toBeDefined();
    // The tool's own redirects first (the iframe cookie check, when it runs), then ltijs's to the LMS.
    const toolOrigin = new URL(stack.tool.url).origin;
    let step: { method: 'GET' | 'POST'; url: string; body?: string } = {
      method: 'POST',
      url: login!.action,
      body: new URLSearchParams(login!.fields).toString(),
    };
    let res: Awaited<ReturnType<typeof request>> | undefined;
    for (let hop = 0; hop < 4; hop++) {
      const cookie = browser.jar.header(step.url, { method: step.method });
      res = await request(step.url, {
        method: step.method,
        headers: {
          ...(step.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          'accept-encoding': 'gzip, br',
          'sec-fetch-dest': 'document',
          'sec-fetch-mode': 'navigate',
          ...(cookie ? { cookie } : {}),
        },
        body: step.body,
      });
      await res.body.arrayBuffer();
      browser.jar.setFromResponse(step.url, res.headers['set-cookie']);
      const next = new URL(header(res.headers as Headers, 'location'), step.url);
      if (next.origin !== toolOrigin) break;
      step = res.statusCode === 307 ? step : { method: 'GET', url: next.href };
    }
    expect(res!.statusCode).toBe(302);
    const location = new URL(header(res!.headers as Headers, 'location'));
    expect(location.origin).toBe(new URL(stack.lms.platforms.moodle.authenticationEndpoint).origin);
    expect(location.searchParams.get('state')).toMatch(/\S/);
    expect(header(res!.headers as Headers, 'set-cookie')).toMatch(/state/);
  });
});

/**
 * A launch whose landing is fetched here, not by the agent: ltijs's redirect with the ltik is followed with
 * `encoding` asked, and the first answer that is not a redirect is returned with its body unread.
 */
async function launchCold(
  browser: LtiBrowser,
  launch: { platform: 'moodle' | 'canvas'; courseId: string; userId: string },
  encoding: string,
) {
  const captured = await browser.captureIdToken(launch);
  const posted = await request(captured.redirectUri, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: browser.jar.header(captured.redirectUri, { method: 'POST' }),
    },
    body: new URLSearchParams({ id_token: captured.idToken, state: captured.state }).toString(),
  });
  await posted.body.arrayBuffer();
  // ltijs's redirect with the ltik, or the landing's straight to the first page.
  expect([302, 303]).toContain(posted.statusCode);
  browser.jar.setFromResponse(captured.redirectUri, posted.headers['set-cookie']);
  let url = new URL(header(posted.headers as Headers, 'location'), captured.redirectUri).href;
  for (let hop = 0; hop < 3; hop++) {
    const res = await request(url, {
      method: 'GET',
      headers: { 'accept-encoding': encoding, cookie: browser.jar.header(url, { method: 'GET' }) },
    });
    if (res.statusCode < 300 || res.statusCode >= 400) return { url, res };
    await res.body.arrayBuffer();
    url = new URL(header(res.headers as Headers, 'location'), url).href;
  }
  throw new Error('too many redirects');
}

/** Decodes `body` as it arrives; each decoded part is kept with when it came and how many isnotai calls had been made then. */
async function readParts(
  body: Readable,
  encoding: Encoding,
  upstreamCalls: () => number,
): Promise<Array<{ text: string; at: number; upstreamCalls: number }>> {
  const decoder = encoding === 'gzip' ? zlib.createGunzip() : zlib.createBrotliDecompress();
  const parts: Array<{ text: string; at: number; upstreamCalls: number }> = [];
  decoder.on('data', (chunk: Buffer) =>
    parts.push({ text: chunk.toString('utf8'), at: performance.now(), upstreamCalls: upstreamCalls() }),
  );
  const ended = new Promise<void>((resolve, reject) => {
    decoder.on('end', resolve);
    decoder.on('error', reject);
  });
  body.pipe(decoder);
  await ended;
  return parts;
}

describe('a cold roster, compressed, still arrives in parts', () => {
  afterEach(() => stack.simulator.setLatency(0));

  test.each<[Encoding, 'moodle' | 'canvas', string]>([
    ['gzip', 'canvas', '101'],
    ['br', 'moodle', '3'],
  ])('%s: the progress line arrives while isnotai is still being read, long before the table', async (encoding, platform, courseId) => {
    const world = stack.world.platforms.find((p) => p.kind === platform)!;
    const course = world.courses.find((c) => c.id === courseId)!;
    const teacher = course.members.find((m) => m.role === 'instructor')!.person;
    const learners = course.members.filter((m) => m.role === 'learner').length;
    expect(learners).toBeGreaterThan(100);
    // Each isnotai call takes 40 ms: with 8 at once, reading the course takes well over a second.
    stack.simulator.setLatency(40);
    const browser = stack.browser();
    const callsBefore = stack.simulator.requests.length;
    const { url, res } = await launchCold(browser, { platform, courseId, userId: teacher.lmsUserId }, encoding);
    expect(new URL(url).pathname).toBe('/course');
    expect(res.statusCode).toBe(200);
    expect(header(res.headers as Headers, 'content-encoding')).toBe(encoding);
    const parts = await readParts(res.body, encoding, () => stack.simulator.requests.length - callsBefore);
    const html = parts.map((p) => p.text).join('');
    const firstWith = (s: string) => parts.findIndex((p) => p.text.includes(s));

    const progress = firstWith('class="progress"');
    const roster = firstWith('data-testid="roster"');
    expect(progress).toBeGreaterThanOrEqual(0);
    expect(roster).toBeGreaterThan(progress);
    // The progress line was on screen while the tool was still reading isnotai, and some time before the table.
    expect(parts[progress]!.upstreamCalls).toBeLessThan(learners / 2);
    expect(parts[roster]!.at - parts[progress]!.at).toBeGreaterThan(300);
    // Lines between: "n of N learners…", each arrived as it was written.
    const lines = parts.slice(progress + 1, roster).filter((p) => /\d+ of [\d,]+ learners…/.test(p.text));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    // And the whole page: the same document the uncompressed progress page ends as.
    expect(textOf(html)).toMatch(/Reading the integrity signals of \d+ learners from isnotai/);
    expect(html.indexOf('class="progress"')).toBeLessThan(html.indexOf('data-testid="roster"'));
    expect(html.trim().endsWith('</html>')).toBe(true);
  });
});

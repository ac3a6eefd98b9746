/**
 * Hostile values from upstream (isnotai) and from the LMS render as inert text on every page:
 * markup is escaped, only http(s) URLs become links, 10 kB strings are clipped, bidirectional
 * overrides cannot reorder what a reader sees, template syntax is not evaluated, and the CSV
 * exports neutralise formulas. The data is planted with the simulator's `hostileOverrides` and a
 * demo world whose learners carry hostile names, then read through the real stack over HTTP.
 */
import { buildWorld, type Person } from '../../src/dev/people';
import { buildDataset, DatasetOverrideError, HOSTILE, hostileOverrides } from '../../src/dev/simulator';
import { parseCsv } from '../support/csv';
import { attrValues, relHref, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
type B = ReturnType<S['browser']>;
let stack: S;
let teacher: { browser: B; ltik: string };
let student: { browser: B; ltik: string };
let admin: { browser: B; ltik: string };

/** Learners whose isnotai sessions are hostile (pinned demo users with at least five sessions). */
const HOSTILE_USERS = ['6', '7'];
/** The learner whose LMS name and email are hostile; also launches as the student. */
const HOSTILE_LEARNER = '6';
/** The learner whose LMS name is a spreadsheet formula. */
const FORMULA_LEARNER = '8';
const LMS_NAME = `${HOSTILE.img} ${HOSTILE.rtl}`;
const LMS_EMAIL = `"><svg onload=alert(1)>@example.edu`;
/** The learner whose LMS name is 10 kB. */
const LONG_NAME_LEARNER = '9';
/** A user id that passes the tool's id check (no whitespace, / ? #) and still carries markup. */
const HOSTILE_ID = '"><script>alert(1)<!--';

const ESCAPED_SCRIPT = '&lt;script&gt;alert(1)&lt;/script&gt;';

function moodlePerson(world: ReturnType<typeof buildWorld>, id: string): Person {
  const person = world.platforms.find((p) => p.kind === 'moodle')!.people.find((p) => p.lmsUserId === id);
  if (!person) throw new Error(`no moodle person ${id}`);
  return person;
}

beforeAll(async () => {
  const world = buildWorld();
  const learner = moodlePerson(world, HOSTILE_LEARNER);
  Object.assign(learner, { name: LMS_NAME, givenName: HOSTILE.img, familyName: HOSTILE.rtl, email: LMS_EMAIL });
  Object.assign(moodlePerson(world, LONG_NAME_LEARNER), {
    name: HOSTILE.long,
    givenName: HOSTILE.long.slice(0, 5000),
    familyName: 'L'.repeat(5000),
  });
  Object.assign(moodlePerson(world, FORMULA_LEARNER), {
    name: HOSTILE.formula,
    givenName: '=HYPERLINK("http://evil")',
    familyName: '',
    email: '@SUM(1+1)@example.edu',
  });
  stack = await testStack('hostile', { world, simulator: { overrides: hostileOverrides(HOSTILE_USERS) } });
  const launch = async (userId: string) => {
    const browser = stack.browser();
    const res = await browser.launch({ platform: 'moodle', courseId: '2', userId });
    expect(res.status).toBe(200);
    return { browser, ltik: res.ltik! };
  };
  [teacher, student, admin] = await Promise.all([launch('3'), launch(HOSTILE_LEARNER), launch('2')]);
});
afterAll(async () => {
  await stack?.stop();
});

const at = (who: { ltik: string }, path: string, params: Record<string, string> = {}) =>
  `${stack.tool.url}${path}?${new URLSearchParams({ ...params, ltik: who.ltik })}`;
const get = (who: { browser: B; ltik: string }, path: string, params: Record<string, string> = {}) =>
  who.browser.get(at(who, path, params));
const header = (res: { headers: Record<string, string | string[] | undefined> }, name: string) => String(res.headers[name] ?? '');

// ---------------------------------------------------------------------------------------------
// What "inert" means, checked on the raw HTML

/** Every start tag of the document, with its attributes (names lower-cased, values entity-decoded). */
function startTags(html: string): Array<{ name: string; attrs: Array<[string, string]>; raw: string }> {
  const tags: Array<{ name: string; attrs: Array<[string, string]>; raw: string }> = [];
  for (const m of html.matchAll(/<([a-zA-Z][\w:-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g)) {
    const attrs: Array<[string, string]> = [];
    for (const a of (m[2] ?? '').matchAll(/([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
      attrs.push([(a[1] ?? '').toLowerCase(), decode(a[2] ?? a[3] ?? a[4] ?? '')]);
    }
    tags.push({ name: (m[1] ?? '').toLowerCase(), attrs, raw: m[0] });
  }
  return tags;
}

function decode(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'data', 'srcset', 'background']);

/** Problems that would let a hostile value act: executable tags, event handlers, non-http(s) URLs. */
/** The layout's one script (Canvas's frame resize, views/assets/frame-resize.js): static, never built from data. */
const LAYOUT_SCRIPT = '<script src="/assets/frame-resize.js"></script>';

function activeMarkup(page: string): string[] {
  const problems: string[] = [];
  const parts = page.split(LAYOUT_SCRIPT);
  if (parts.length > 2) problems.push('the layout script appears more than once');
  // Anything else that would run is a problem, however it got there.
  const html = parts.join('');
  for (const tag of startTags(html)) {
    if (
      ['script', 'iframe', 'object', 'embed', 'base', 'meta', 'img', 'foreignobject', 'animate', 'set'].includes(tag.name) &&
      !(tag.name === 'meta' && tag.attrs.every(([k]) => ['charset', 'name', 'content'].includes(k)))
    ) {
      problems.push(`element <${tag.name}>: ${tag.raw.slice(0, 120)}`);
    }
    for (const [name, value] of tag.attrs) {
      if (name.startsWith('on')) problems.push(`event handler ${name}= on <${tag.name}>`);
      if (name === 'style' && /expression|url\(/i.test(value)) problems.push(`style with url/expression on <${tag.name}>`);
      if (URL_ATTRS.has(name)) {
        // Only same-site paths, fragments and http(s) URLs may be followed.
        const v = value.trim();
        const ok = v.startsWith('/') && !v.startsWith('//') ? true : v.startsWith('#') || /^https?:\/\//i.test(v);
        if (!ok) problems.push(`${name}="${v.slice(0, 80)}" on <${tag.name}>`);
      }
    }
  }
  // A raw <script in any case or spelling, wherever the tag parser above might not see it.
  if (/<script/i.test(html)) problems.push('raw <script');
  return problems;
}

/** The generated SVG charts of a page. */
function svgs(html: string): string[] {
  return [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

/** Handlebars' escaping of {{value}}, to find a value exactly as a template rendered it. */
function hbsEscaped(value: string): string {
  const map: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&#x27;',
    '`': '&#x60;',
    '=': '&#x3D;',
  };
  return value.replace(/[&<>"'`=]/g, (c) => map[c] ?? c);
}

/**
 * Two values exactly as they came, which no page may contain: an LMS name with its bidi override
 * (names go through displayText/clip), and the 10 kB flag whole (flags are clipped).
 */
const RAW_FORMS = [hbsEscaped(LMS_NAME), `<code>${hbsEscaped(HOSTILE.long)}</code>`];

/** What would make a page unsafe or unusable with hostile data, as short readable lines. */
function pageProblems(html: string): string[] {
  const problems = activeMarkup(html);
  // Bidirectional overrides are dropped from what is shown (as the charts do), so "\u202Egnp.exe"
  // reads as what it is rather than as "exe.png", and cannot reorder the text after it.
  for (const m of html.matchAll(/[\u202A-\u202E\u2066-\u2069]/g)) {
    const before = html.slice(Math.max(0, (m.index ?? 0) - 60), m.index).replace(/\s+/g, ' ');
    problems.push(`bidi control U+${m[0].codePointAt(0)!.toString(16).toUpperCase()} shown after: …${before}`);
  }
  // 10 kB values are clipped for display: no page carries a 1,000-character run of them.
  for (const m of html.matchAll(/L{1000,}/g)) {
    problems.push(
      `unclipped long value (${m[0].length} chars) after: …${html.slice(Math.max(0, (m.index ?? 0) - 80), m.index).replace(/\s+/g, ' ')}`,
    );
  }
  if (html.length > 400_000) problems.push(`page is ${html.length} characters`);
  // Charts are generated markup: no scripts, no foreign HTML, no links, no handlers (checked above
  // for every tag); "onload=" inside escaped <title> text is inert text and allowed.
  for (const svg of svgs(html)) {
    if (/<script|<foreignObject/i.test(svg)) problems.push('script or foreignObject inside an SVG chart');
    for (const tag of startTags(svg))
      if (tag.attrs.some(([k]) => k === 'href' || k === 'xlink:href')) problems.push(`link inside an SVG chart: <${tag.name}>`);
  }
  return problems;
}

/** The assertions every HTML page must pass, whatever it shows. */
function expectInertPage(
  res: { status: number; html: string; headers: Record<string, string | string[] | undefined> },
  expectedStatus = 200,
) {
  expect(res.status).toBe(expectedStatus);
  expect(header(res, 'content-type')).toMatch(/^text\/html/);
  expect(pageProblems(res.html)).toEqual([]);
}

/** The hostile text is shown, escaped (so a reader can see what upstream sent). */
function expectShownEscaped(html: string, ...values: string[]) {
  const text = textOf(html);
  for (const v of values) expect(text).toContain(v.replace(/[\u202A-\u202E\u2066-\u2069]/g, ''));
}

// ---------------------------------------------------------------------------------------------
// CSV

/** No cell of the CSV would run as a formula in a spreadsheet. */
function expectNoFormulaCells(csv: string) {
  for (const row of parseCsv(csv)) {
    for (const cell of row) {
      if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(cell)) continue;
      expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    }
  }
}

function sessionsOf(userId: string) {
  return stack.simulator.dataset.sessionsForUser(userId);
}

/** The hostile learner's session whose details have the most page history (every hostile URL). */
function richestSession(userId: string) {
  return [...sessionsOf(userId)].sort(
    (a, b) => stack.simulator.dataset.details(b.id)!.pageHistory.length - stack.simulator.dataset.details(a.id)!.pageHistory.length,
  )[0]!;
}

// ---------------------------------------------------------------------------------------------
// The pages

test('the simulator planted what the tests rely on', () => {
  for (const id of HOSTILE_USERS) {
    const sessions = sessionsOf(id);
    expect(sessions.length).toBeGreaterThanOrEqual(5);
    expect(sessions.every((s) => s.userName.includes(HOSTILE.script) && s.detectionFlags[0] === HOSTILE.formula)).toBe(true);
    expect(new Set(sessions.map((s) => s.pageUrl))).toEqual(
      new Set(
        [HOSTILE.formula, HOSTILE.jsUrl, HOSTILE.long, HOSTILE.dataUrl, HOSTILE.quotedHttpUrl].slice(0, Math.min(5, sessions.length)),
      ),
    );
  }
  expect(stack.simulator.dataset.details(richestSession(HOSTILE_LEARNER).id)!.pageHistory.length).toBeGreaterThanOrEqual(5);
  // Other learners are untouched: their data is what the plain simulator generates.
  const plain = buildDataset({ world: stack.world });
  expect(sessionsOf('4')).toEqual(plain.sessionsForUser('4'));
  expect(stack.simulator.dataset.events(sessionsOf('4')[0]!.id)).toEqual(plain.events(sessionsOf('4')[0]!.id));
  // The planted events keep their ids, times and message ids; only the type names are hostile.
  const id = sessionsOf(HOSTILE_LEARNER)[0]!.id;
  const hostileEvents = stack.simulator.dataset.events(id)!;
  expect(hostileEvents.map((e) => [e.eventId, e.timestamp, e.messageId])).toEqual(
    plain.events(id)!.map((e) => [e.eventId, e.timestamp, e.messageId]),
  );
  expect(hostileEvents.some((e) => e.eventTypeName === HOSTILE.script)).toBe(true);
});

test('a simulator override may not move a session in lists or time', () => {
  const world = buildWorld({ moodleExtraLearners: 0, moodleSecondCourseLearners: 20, canvasLearners: 0 });
  expect(() => buildDataset({ world, overrides: { session: (s) => ({ ...s, createdAt: '2020-01-01T00:00:00Z' }) } })).toThrow(
    DatasetOverrideError,
  );
  const ds = buildDataset({ world, overrides: { events: (_s, events) => events.slice(1) } });
  expect(() => ds.events(ds.allSessions()[0]!.id)).toThrow(DatasetOverrideError);
});

test('student /me: hostile sessions and a hostile LMS name are inert text', async () => {
  const res = await get(student, '/me');
  expectInertPage(res);
  // The LMS name (shown as who is signed in) and the upstream values, escaped.
  expect(res.html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
  expect(res.html).toContain(ESCAPED_SCRIPT);
  expectShownEscaped(res.html, HOSTILE.img, HOSTILE.script, HOSTILE.svg, HOSTILE.template, HOSTILE.rtl);
  expect(attrValues(res.html, 'data-session-id').sort()).toEqual(
    sessionsOf(HOSTILE_LEARNER)
      .map((s) => s.id)
      .sort(),
  );
  // javascript:/data: page URLs are shown as text, not links; the quoted http URL stays one link.
  expectShownEscaped(res.html, HOSTILE.jsUrl, HOSTILE.dataUrl.slice(0, 20));
  const links = startTags(res.html)
    .filter((t) => t.name === 'a')
    .map((t) => t.attrs.find(([k]) => k === 'href')?.[1] ?? '');
  const quoted = sessionsOf(HOSTILE_LEARNER).filter((s) => s.pageUrl === HOSTILE.quotedHttpUrl).length;
  expect(quoted).toBeGreaterThan(0);
  expect(links.filter((h) => h.startsWith('https://evil.example/'))).toEqual(
    Array(quoted).fill('https://evil.example/%22%3E%3Csvg%20onload=alert(1)%3E'),
  );
  // Template syntax in data is not evaluated.
  expect(textOf(res.html)).toContain(HOSTILE.template);
});

test('roster /course: hostile LMS names and emails, and hostile flags, are inert text', async () => {
  const res = await get(teacher, '/course', { limit: '500' });
  expectInertPage(res);
  expect(res.html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
  expect(res.html).toContain('&quot;&gt;&lt;svg onload&#x3D;alert(1)&gt;@example.edu');
  expectShownEscaped(res.html, HOSTILE.img, LMS_EMAIL, HOSTILE.formula, HOSTILE.script);
  expect(attrValues(res.html, 'data-user-id')).toEqual(expect.arrayContaining([HOSTILE_LEARNER, FORMULA_LEARNER, '7']));
  // A hostile search term is echoed in the form as a value, not as markup.
  const searched = await get(teacher, '/course', { query: HOSTILE.svg });
  expectInertPage(searched);
  expect(searched.html).toContain('value="&quot;&gt;&lt;svg onload&#x3D;alert(1)&gt;"');
  const byName = await get(teacher, '/course', { query: '<img' });
  expect(attrValues(byName.html, 'data-user-id')).toEqual([HOSTILE_LEARNER]);
});

/** An export, as the instructor downloads it: a CSV attachment with no formula cell, parsed. */
async function csvExport(path: string): Promise<string[][]> {
  const csv = await get(teacher, path, { limit: '500' });
  expect(csv.status).toBe(200);
  expect(header(csv, 'content-type')).toMatch(/^text\/csv/);
  expect(header(csv, 'content-disposition')).toMatch(/^attachment/);
  expectNoFormulaCells(csv.html);
  return parseCsv(csv.html);
}

test('roster JSON carries the values exactly, as JSON; roster CSV neutralises formulas', async () => {
  const json = await get(teacher, '/course.json', { limit: '500' });
  expect(json.status).toBe(200);
  expect(header(json, 'content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(json.html) as {
    items: Array<{ userId: string; name: string; email: string; topFlags: Array<{ flag: string }> }>;
  };
  const hostile = body.items.find((i) => i.userId === HOSTILE_LEARNER)!;
  expect(hostile.name).toBe(LMS_NAME);
  expect(hostile.email).toBe(LMS_EMAIL);
  expect(hostile.topFlags.map((f) => f.flag)).toContain(HOSTILE.script);
  expect(body.items.find((i) => i.userId === FORMULA_LEARNER)!.name).toBe(HOSTILE.formula);

  const rows = await csvExport('/course.csv');
  const head = rows[0]!;
  const nameAt = head.indexOf('name');
  const emailAt = head.indexOf('email');
  const idAt = head.indexOf('user_id');
  const formulaRow = rows.find((r) => r[idAt] === FORMULA_LEARNER)!;
  expect(formulaRow[nameAt]).toBe(`'${HOSTILE.formula}`);
  expect(formulaRow[emailAt]).toBe(`'@SUM(1+1)@example.edu`);
  // As on the pages: the name, without the bidi override that would reorder it in a spreadsheet.
  expect(rows.find((r) => r[idAt] === HOSTILE_LEARNER)![nameAt]).toBe(LMS_NAME.replace(/[\u202A-\u202E\u2066-\u2069]/g, ''));
});

test('CSV exports drop bidi controls, as the pages do; their text is otherwise kept', async () => {
  const bidi = /[\u202A-\u202E\u2066-\u2069]/;
  for (const path of ['/course.csv', `/learners/${HOSTILE_LEARNER}/sessions.csv`]) {
    const rows = await csvExport(path);
    const cells = rows.flat();
    expect({ path, withBidi: cells.filter((c) => bidi.test(c)).map((c) => c.slice(0, 40)) }).toEqual({ path, withBidi: [] });
    expect(cells.some((c) => c.includes(HOSTILE.rtl.replace(bidi, '')))).toBe(true);
  }
});

test('learner page: hostile sessions, flags and chart labels are inert; the score chart is clean SVG', async () => {
  for (const id of HOSTILE_USERS) {
    const res = await get(teacher, `/learners/${id}`);
    expectInertPage(res);
    expect(attrValues(res.html, 'data-session-id').sort()).toEqual(
      sessionsOf(id)
        .map((s) => s.id)
        .sort(),
    );
    expect(res.html).toContain(ESCAPED_SCRIPT);
    expectShownEscaped(res.html, HOSTILE.script, HOSTILE.formula, HOSTILE.jsUrl, HOSTILE.template);
    expect(svgs(res.html).length).toBeGreaterThan(0);
  }
  const own = await get(teacher, `/learners/${HOSTILE_LEARNER}`);
  expect(own.html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
});

test('learner sessions JSON is exact JSON; sessions CSV neutralises formulas in URLs and flags', async () => {
  const json = await get(teacher, `/learners/${HOSTILE_LEARNER}/sessions.json`, { limit: '500' });
  expect(json.status).toBe(200);
  expect(header(json, 'content-type')).toMatch(/^application\/json/);
  const items = (JSON.parse(json.html) as { items: Array<{ id: string; pageUrl: string; userAgentSummary: string }> }).items;
  expect(new Set(items.map((i) => i.pageUrl))).toEqual(new Set(sessionsOf(HOSTILE_LEARNER).map((s) => s.pageUrl)));
  expect(items.map((i) => i.userAgentSummary)).toContain(HOSTILE.long);

  const rows = await csvExport(`/learners/${HOSTILE_LEARNER}/sessions.csv`);
  const head = rows[0]!;
  const byUrl = rows.slice(1).map((r) => r[head.indexOf('page_url')]);
  expect(byUrl).toContain(`'${HOSTILE.formula}`);
  expect(byUrl).toContain(HOSTILE.long); // exports keep the full value
  for (const r of rows.slice(1)) expect(r[head.indexOf('flags')]!.startsWith(`'${HOSTILE.formula}; `)).toBe(true);
});

test('session page: details, page history, timeline, events and charts are inert', async () => {
  const session = richestSession(HOSTILE_LEARNER);
  for (const who of [teacher, student]) {
    const res = await get(who, `/learners/${HOSTILE_LEARNER}/sessions/${session.id}`);
    expectInertPage(res);
    expect(res.html).toContain('data-event-id');
    // Page history: javascript:/data: URLs are text; the quoted https URL is a percent-encoded link.
    const pages = /<table data-testid="pages"[^>]*>[\s\S]*?<\/table>/.exec(res.html)?.[0] ?? '';
    expect(pages).not.toBe('');
    // Types are clipped to 40 characters; the template text is 41.
    expectShownEscaped(pages, HOSTILE.jsUrl, HOSTILE.script, HOSTILE.template.slice(0, 39));
    expect(pages).toContain('javascript:alert(1)');
    const quoted = stack.simulator.dataset.details(session.id)!.pageHistory.filter((p) => p.url === HOSTILE.quotedHttpUrl).length;
    expect(attrValues(pages, 'href')).toEqual(Array(quoted).fill('https://evil.example/%22%3E%3Csvg%20onload&#x3D;alert(1)%3E'));
    // Events: hostile type names, escaped.
    const events = /<table data-testid="events"[^>]*>[\s\S]*?<\/table>/.exec(res.html)?.[0] ?? '';
    expect(events).toContain(ESCAPED_SCRIPT);
    expectShownEscaped(events, HOSTILE.svg, HOSTILE.template.slice(0, 39));
    // Timeline: hostile dominant types in the chart (escaped inside SVG) and its table.
    const charts = svgs(res.html);
    expect(charts.length).toBeGreaterThanOrEqual(2);
    expect(charts.join('')).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expectShownEscaped(res.html, HOSTILE.rtl);
  }
});

test('admin: lookup, the integration-wide session list and the audit log are inert', async () => {
  // Lookup by a hostile term: echoed in the form, matching the hostile learner, escaped.
  const lookup = await get(admin, '/admin/lookup', { q: '<img' });
  expectInertPage(lookup);
  expect(lookup.html).toContain('value="&lt;img"');
  expect(attrValues(lookup.html, 'data-user-id')).toEqual([HOSTILE_LEARNER]);
  expect(lookup.html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
  // A hostile "user id" is not of the shape of Moodle's user ids (digits): it is not offered as a
  // link at all, only echoed as text.
  const direct = await get(admin, '/admin/lookup', { q: HOSTILE.jsUrl });
  expectInertPage(direct);
  expect(direct.html).not.toContain('data-testid="direct"');
  expect(direct.html).not.toMatch(/href="[^"]*javascript/i);
  expect(direct.html).toContain('data-testid="not-an-id"');

  // The session list on the day of a hostile session.
  const s = sessionsOf(HOSTILE_LEARNER)[0]!;
  const day = s.createdAt.slice(0, 10);
  const list = await get(admin, '/admin/sessions', { created_after: day, created_before: day, limit: '100' });
  expectInertPage(list);
  expect(attrValues(list.html, 'data-session-id')).toContain(s.id);
  expect(list.html).toContain(ESCAPED_SCRIPT);
  expectShownEscaped(list.html, HOSTILE.script, HOSTILE.formula);
  const listJson = await get(admin, '/admin/sessions.json', { created_after: day, created_before: day, limit: '100' });
  expect(header(listJson, 'content-type')).toMatch(/^application\/json/);
  expect((JSON.parse(listJson.html) as { items: Array<{ id: string; userName: string }> }).items.find((i) => i.id === s.id)!.userName).toBe(
    s.userName,
  );

  // A learner page for a hostile id: not an id of this LMS, so refused with the value echoed as
  // text (and nothing fetched or audited for it); the audit search echoes it inertly too.
  const odd = await get(admin, `/learners/${encodeURIComponent(HOSTILE_ID)}`);
  expectInertPage(odd, 422);
  expect(odd.html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;!--');
  const audit = await get(admin, '/admin/audit', { subject: HOSTILE_ID });
  expectInertPage(audit);
  expect(audit.html).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;!--"');
  expect(Number(/(\d+) entries/.exec(textOf(audit.html))?.[1])).toBe(0);
});

test('error pages that echo a value show it as inert text', async () => {
  const session = sessionsOf(HOSTILE_LEARNER)[0]!;
  const badType = await get(teacher, `/learners/${HOSTILE_LEARNER}/sessions/${session.id}`, { type: HOSTILE.script });
  expectInertPage(badType, 422);
  expect(badType.html).toContain('&lt;script&gt;');
  const badList = await get(teacher, '/course', { sort_by: HOSTILE.svg, query: HOSTILE.script });
  expectInertPage(badList, 422);
  const badListJson = await get(teacher, '/course.json', { sort_by: HOSTILE.svg });
  expect(badListJson.status).toBe(422);
  expect(header(badListJson, 'content-type')).toMatch(/^application\/json/);
  const notAnId = await get(teacher, `/learners/${encodeURIComponent(HOSTILE_ID)}`);
  expectInertPage(notAnId, 422);
  expect(notAnId.html).toContain('&lt;script&gt;');
  const notFound = await teacher.browser.get(
    `${stack.tool.url}/${encodeURIComponent(HOSTILE.script)}?ltik=${encodeURIComponent(teacher.ltik)}`,
  );
  expectInertPage(notFound, 404);
});

test('pager links that carry upstream cursors stay same-site links', async () => {
  const list = await get(admin, '/admin/sessions', { limit: '5' });
  const next = relHref(list.html, 'next');
  expect(next).toMatch(/^\/admin\/sessions\?/);
});

// ---------------------------------------------------------------------------------------------
// LMS names and flags are cleaned and clipped wherever they are shown.

test('the roster cleans LMS names and clips the top flags', async () => {
  const res = await get(teacher, '/course', { limit: '500' });
  expect(res.html).not.toContain(RAW_FORMS[0]);
  expect(res.html).not.toContain(RAW_FORMS[1]);
});

test('admin lookup cleans matched LMS names', async () => {
  const res = await get(admin, '/admin/lookup', { q: '<img' });
  expect(res.html).not.toContain(RAW_FORMS[0]);
});

test('the header cleans the launching user’s LMS name', async () => {
  const res = await get(student, '/me');
  expect(res.html).not.toContain(RAW_FORMS[0]);
});

test('the learner page clips the most frequent flags', async () => {
  const res = await get(teacher, `/learners/${HOSTILE_LEARNER}`);
  expect(res.html).not.toContain(RAW_FORMS[1]);
});

test('a learner whose LMS name is 10 kB is still on the roster', async () => {
  const body = JSON.parse((await get(teacher, '/course.json', { limit: '500' })).html) as { items: Array<{ userId: string }> };
  expect(body.items.map((i) => i.userId)).toContain(LONG_NAME_LEARNER);
});

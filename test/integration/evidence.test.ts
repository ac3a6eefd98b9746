/**
 * The evidence behind a signal: on a session page, each detection flag links to the events it is
 * about (the events table narrowed to the flag's event types, and marks on the activity timeline),
 * or says in words why no recorded event stands for it.
 */
import type { IsnotaiEvent, IsnotaiSession } from '../../src/isnotai/types';
import { decodeEntities, tableRows, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let browser: ReturnType<S['browser']>;
let ltik: string;
let courseLearners: string[];

const BROWSER_PROPERTY_FLAGS = ['webdriver_present', 'headless_browser', 'automation_extension', 'devtools_open'];
const BROWSER_WORDS =
  'This signal comes from the browser’s own properties, not from recorded events, so no event in the table stands for it.';

beforeAll(async () => {
  stack = await testStack('evidence');
  const moodle = stack.world.platforms.find((p) => p.kind === 'moodle')!;
  courseLearners = moodle.courses
    .find((c) => c.id === '2')!
    .members.filter((m) => m.role === 'learner')
    .map((m) => m.person.lmsUserId);
  browser = stack.browser();
  ltik = (await browser.launch({ platform: 'moodle', courseId: '2', userId: '3' })).ltik!;
});
afterAll(async () => {
  await stack?.stop();
});

/** The first session of a learner of the launch course for which `pick` holds. */
function findSession(pick: (s: IsnotaiSession) => boolean): IsnotaiSession {
  for (const userId of courseLearners) {
    const s = stack.simulator.dataset.sessionsForUser(userId).find(pick);
    if (s) return s;
  }
  throw new Error('the demo dataset has no such session in course 2');
}

const pathOf = (s: IsnotaiSession) => `/learners/${encodeURIComponent(s.userId)}/sessions/${encodeURIComponent(s.id)}`;
const open = (path: string, query = '') =>
  browser.get(`${stack.tool.url}${path}?${query ? `${query}&` : ''}ltik=${encodeURIComponent(ltik)}`);
const follow = (href: string) => browser.get(new URL(decodeEntities(href), stack.tool.url).toString());

/** The simulator's events of the session, of one type. */
function eventsOf(s: IsnotaiSession, type: string): readonly IsnotaiEvent[] {
  return stack.simulator.dataset.events(s.id)!.filter((e) => e.eventTypeName === type);
}

/** The <li> of one flag in the Signals list. */
function signalItem(html: string, flag: string): string {
  const list = /<ul[^>]*data-testid="signals"[^>]*>([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
  return new RegExp(`<li data-flag="${flag}">([\\s\\S]*?)</li>`).exec(list)?.[1] ?? '';
}

/** Text as read: textOf leaves a space where a tag ended before punctuation ("paste : 3 events"). */
function plain(html: string): string {
  return textOf(html).replace(/ ([:;,.)])/g, '$1');
}

/** The line above the events table that says which events are shown. */
function evidenceLine(html: string): string {
  return /<div class="notice evidence-shown"[^>]*>([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';
}

function evidenceLinkOf(item: string): string | null {
  return /<a href="([^"]*)" data-testid="evidence-link">/.exec(item)?.[1] ?? null;
}

function timelineSvg(html: string): string {
  return /<figure class="chart" id="timeline">([\s\S]*?)<\/figure>/.exec(html)?.[1] ?? '';
}

test('a flag with event types links to its events: only those types, as many as isnotai has, marked on the timeline', async () => {
  const session = findSession(
    (s) => s.detectionFlags.includes('tab_switching') && s.detectionFlags.some((f) => BROWSER_PROPERTY_FLAGS.includes(f)),
  );
  const page = await open(pathOf(session));
  expect(page.status).toBe(200);
  expect(page.html).toContain('<h2 id="events">Events</h2>');

  // The flag of a browser property says so in words, and links nowhere.
  const property = session.detectionFlags.find((f) => BROWSER_PROPERTY_FLAGS.includes(f))!;
  const propertyItem = signalItem(page.html, property);
  expect(textOf(propertyItem)).toContain(BROWSER_WORDS);
  expect(propertyItem).not.toContain('<a ');

  // The flag with events: a link to them (carrying the launch), and one per event type.
  const item = signalItem(page.html, 'tab_switching');
  const href = evidenceLinkOf(item)!;
  expect(href).not.toBeNull();
  const url = new URL(decodeEntities(href), stack.tool.url);
  expect(url.pathname).toBe(pathOf(session));
  expect(url.searchParams.get('signal')).toBe('tab_switching');
  expect(url.searchParams.get('ltik')).toBe(ltik);
  expect(url.hash).toBe('#events');
  expect(textOf(item)).toContain('each kind alone:');
  const typeLinks = [...item.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [
    new URL(decodeEntities(m[1]!), stack.tool.url).searchParams.get('type'),
    m[2],
  ]);
  expect(typeLinks).toEqual([
    ['visibility', 'visibility'],
    ['blur', 'blur'],
    ['focus', 'focus'],
  ]);

  const shown = await follow(href);
  expect(shown.status).toBe(200);
  const types = ['visibility', 'blur', 'focus'];
  const expected = types
    .flatMap((t) => eventsOf(session, t))
    .slice()
    .sort((a, b) => a.timestamp - b.timestamp || (a.eventId < b.eventId ? -1 : 1));
  expect(expected.length).toBeGreaterThan(0);
  expect(expected.length).toBeLessThan(100); // so every event of each type is on its first page
  const rows = tableRows(shown.html, 'events');
  expect(rows.map((r) => r[1])).toEqual(expected.map((e) => e.eventTypeName));
  expect(rows.map((r) => r[4])).toEqual(expected.map((e) => e.eventId));
  expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(types));

  // The line above the table says what is shown, type by type, with the simulator's counts.
  const line = plain(evidenceLine(shown.html));
  const count = (t: string) => eventsOf(session, t).length;
  const words = (n: number) => `${n} ${n === 1 ? 'event' : 'events'}`;
  expect(line).toContain(
    `Showing the events behind tab_switching (Left the page or switched tabs repeatedly): visibility: ${words(count('visibility'))}; blur: ${words(count('blur'))}; focus: ${words(count('focus'))}.`,
  );
  expect(line).toContain('Show all events');
  expect(plain(signalItem(shown.html, 'tab_switching'))).toContain('(shown below, and marked on the timeline)');

  // The timeline marks the same moments: in the SVG, in its summary, and counted per interval in its table.
  const svg = timelineSvg(shown.html);
  expect(svg).toContain(`${expected.length} moments of tab_switching marked`);
  const marks = [...svg.matchAll(/<g class="mark"><title>([^<]*)<\/title>/g)].map((m) => m[1]!);
  expect(marks.length).toBeGreaterThan(0);
  expect(marks.length).toBeLessThanOrEqual(expected.length);
  const first = new Date(expected[0]!.timestamp).toISOString().slice(11, 19);
  expect(marks[0]).toMatch(new RegExp(`${first} UTC`));
  const perInterval = tableRows(shown.html, 'timeline').map((r) => Number(r[4]));
  expect(perInterval.reduce((a, b) => a + b, 0)).toBe(expected.length);
  // Without a signal, nothing is marked.
  expect(timelineSvg(page.html)).not.toContain('class="mark"');
  expect(tableRows(page.html, 'timeline')[0]).toHaveLength(4);

  // Back to the whole list.
  const allHref = /<a href="([^"]*)">Show all events<\/a>/.exec(shown.html)![1]!;
  const all = await follow(allHref);
  expect(all.status).toBe(200);
  expect(new URL(decodeEntities(allHref), stack.tool.url).searchParams.has('signal')).toBe(false);
  expect(tableRows(all.html, 'events')).toHaveLength(Math.min(100, stack.simulator.dataset.events(session.id)!.length));
});

test('a type with more than a page shows its first page and links to its full list', async () => {
  const session = findSession((s) => s.detectionFlags.includes('paste_burst'));
  const pastes = eventsOf(session, 'paste').length;
  const inputs = eventsOf(session, 'form_input');
  expect(inputs.length).toBeGreaterThan(pastes); // each pasted text is also a form input
  // A page as long as the pastes: all of them fit, the form inputs do not.
  const shown = await open(pathOf(session), `signal=paste_burst&limit=${pastes}`);
  expect(shown.status).toBe(200);
  const rows = tableRows(shown.html, 'events');
  expect(rows.filter((r) => r[1] === 'paste')).toHaveLength(pastes);
  expect(rows.filter((r) => r[1] === 'form_input').map((r) => r[4])).toEqual(inputs.slice(0, pastes).map((e) => e.eventId));
  expect(rows).toHaveLength(2 * pastes);
  expect(shown.html).not.toContain('rel="next"');
  const line = evidenceLine(shown.html);
  expect(plain(line)).toContain(`paste: ${pastes} events; form_input: first ${pastes} shown — open the full list of form_input events.`);
  const full = /<a href="([^"]*)">open the full list of form_input events<\/a>/.exec(line)![1]!;
  const next = await follow(full);
  expect(next.status).toBe(200);
  expect(next.html).toMatch(/id="f-type" name="type" value="form_input"/);
  expect(tableRows(next.html, 'events').map((r) => r[4])).toEqual(inputs.slice(0, pastes).map((e) => e.eventId));
  expect(next.html).toContain('rel="next"');

  // The time window narrows the signal's events too.
  const half = eventsOf(session, 'paste')[Math.floor(pastes / 2)]!;
  const after = new Date(half.timestamp).toISOString();
  const windowed = await open(pathOf(session), `signal=paste_burst&created_after=${encodeURIComponent(after)}`);
  expect(windowed.status).toBe(200);
  const windowedPastes = tableRows(windowed.html, 'events').filter((r) => r[1] === 'paste');
  expect(windowedPastes).toHaveLength(eventsOf(session, 'paste').filter((e) => e.timestamp >= half.timestamp).length);
  expect(windowedPastes.length).toBeLessThan(pastes);
});

test('a signal no event stands for says so in words, and shows no events', async () => {
  const session = findSession((s) => s.detectionFlags.includes('webdriver_present'));
  const res = await open(pathOf(session), 'signal=webdriver_present');
  expect(res.status).toBe(200);
  const line = plain(evidenceLine(res.html));
  expect(line).toContain('No recorded event stands for webdriver_present');
  expect(line).toContain(BROWSER_WORDS);
  expect(tableRows(res.html, 'events')).toEqual([['No events match.']]);
  expect(timelineSvg(res.html)).not.toContain('class="mark"');
});

test('an unknown signal, or a signal with type or cursor, is refused with the problem named (422)', async () => {
  const session = findSession((s) => s.detectionFlags.includes('tab_switching'));
  const nonsense = await open(pathOf(session), 'signal=nonsense');
  expect(nonsense.status).toBe(422);
  expect(nonsense.html).not.toContain('data-testid="events"');
  expect(textOf(nonsense.html)).toMatch(
    /signal must be one of this session’s signals \([^)]*tab_switching[^)]*\) or a signal this tool knows \(you gave “nonsense”\)/,
  );

  const withCursor = await open(pathOf(session), 'signal=tab_switching&cursor=abc');
  expect(withCursor.status).toBe(422);
  expect(withCursor.html).not.toContain('data-testid="events"');
  expect(textOf(withCursor.html)).toContain('cursor cannot be used with signal');

  const withType = await open(pathOf(session), 'signal=tab_switching&type=paste');
  expect(withType.status).toBe(422);
  expect(textOf(withType.html)).toContain('signal and type cannot be combined');

  const twice = await open(pathOf(session), 'signal=tab_switching&signal=paste_burst');
  expect(twice.status).toBe(422);
  expect(textOf(twice.html)).toContain('signal was given 2 times; give it once');

  // A known signal this session does not have is still a question with an answer.
  const other = await open(pathOf(session), 'signal=superhuman_typing_cadence');
  expect(other.status).toBe(200);
  expect(tableRows(other.html, 'events').every((r) => r[1] === 'keydown' || r[1] === 'keypress')).toBe(true);
});

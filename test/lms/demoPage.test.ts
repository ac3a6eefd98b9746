/**
 * The demo LMS page: both platforms, their courses and people with "Launch as …" buttons aimed
 * at the embedded frame, large courses folded behind a <details>, admins per course; and no
 * accessibility violations (axe-core in Debian's chromium).
 */
import { buildWorld } from '../../src/dev/people';
import { startLmsEmulator, parseForms, type LmsEmulator } from '../../src/dev/lms';
import { launchChromium } from '../browser/support/chromium';
import { httpGet } from './helpers';

let emulator: LmsEmulator;
const world = buildWorld();

beforeAll(async () => {
  emulator = await startLmsEmulator({ world, toolUrl: 'http://127.0.0.1:3000' });
});
afterAll(() => emulator.close());

test('lists each platform, course and person with a launch into the frame and a new-window link', async () => {
  const res = await httpGet(`${emulator.url}/`);
  expect(res.status).toBe(200);
  const html = res.text;
  expect(html).toContain('<h2 id="platform-moodle">Demo Moodle 4.4');
  expect(html).toContain('<h2 id="platform-canvas">Demo Canvas');
  expect(html).toContain('<caption>People in LTI101: LTI Harness Course</caption>');
  expect(html).toContain('<summary>Show all 151 people in LTI101</summary>');
  expect(html).toContain('<iframe name="lms-tool-frame"');
  // Canvas's hidden platform storage frame, which the tool reaches as parent.frames.post_message_forwarding.
  expect(html).toContain('<iframe name="post_message_forwarding" src="/platform-storage" title="LMS platform storage" hidden></iframe>');
  const storage = await httpGet(`${emulator.url}/platform-storage`);
  expect(storage.status).toBe(200);
  expect(storage.text).toContain("data.subject === 'lti.put_data'");

  const forms = parseForms(html, `${emulator.url}/`);
  const everyone = world.platforms.reduce(
    (n, p) => n + p.courses.reduce((m, c) => m + c.members.length, 0) + p.admins.length * p.courses.length,
    0,
  );
  expect(forms).toHaveLength(everyone);
  const sam = forms.find((f) => f.fields.user === '4' && f.fields.course === '2')!;
  expect(sam).toEqual({ method: 'GET', action: `${emulator.url}/moodle/launch`, fields: { course: '2', user: '4', target: 'iframe' } });
  expect(html).toMatch(
    /target="lms-tool-frame">\s*<input type="hidden" name="course" value="2">\s*<input type="hidden" name="user" value="4">/,
  );
  expect(html).toContain('>Launch as Sam Student</button>');
  expect(html).toContain(`href="/moodle/launch?course=2&amp;user=4&amp;target=window" target="_blank"`);
  // The site admin can launch from every Moodle course without being enrolled.
  expect(forms.filter((f) => f.fields.user === '2').map((f) => f.fields.course)).toEqual(['2', '3']);
  // Each button opens a real launch.
  const launch = await httpGet(`${sam.action}?${new URLSearchParams(sam.fields).toString()}`);
  expect(launch.status).toBe(200);
  expect(launch.text).toContain('action="http://127.0.0.1:3000/login"');
});

test('has no axe-core violations', async () => {
  // Debian's Chromium, as every browser test: a missing browser fails with how to install it.
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${emulator.url}/`);
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    // A string, because the test project has no DOM types.
    const violations = (await page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => v.id + ' (' + v.nodes.length + ')'))`,
    )) as string[];
    expect(violations).toEqual([]);
  } finally {
    await browser.close();
  }
}, 60000);

/**
 * Placing the tool by Deep Linking over real HTTP (docs/product.md "Placements", src/web/deepLinking.ts).
 *
 * - Through the static Moodle and Canvas registrations, with the LMS's own id_token made a Deep Linking request (signed
 *   again with the LMS's real key, so ltijs accepts it): who may place the tool, the form and its refusals (422 with what
 *   was typed kept, 403 csrf_failed), the signed answer (checked against the tool's keyset), a double submit, and
 *   `target_link_uri` on another host at login and in the id_token.
 * - End to end with the emulated Moodle 4.4: the tool registered by Dynamic Registration, "Select content" as the
 *   teacher, "One activity", the LMS verifies the answer and makes the activity, whose launch opens the grading view
 *   with only that activity's sessions; the same answer posted again is refused by the LMS.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { decodeJwt, findAutoSubmitForm, parseForms, verifyJwt, type FormSubmission } from '../../src/dev/lms';
import { MOODLE_BASE_URL } from '../../src/dev/simulator/dataset';
import { DEFAULT_THRESHOLDS, learnerRiskSummary } from '../../src/risk';
import { sessionInPlacement } from '../../src/risk/placement';
import { createPlacementStore, createRegistrationStore } from '../../src/store';
import { decodeEntities, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const KEY = crypto.randomBytes(32).toString('base64url');
const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/';
const DL_CLAIM = 'https://purl.imsglobal.org/spec/lti-dl/claim/';
const TEACHER = { platform: 'moodle' as const, courseId: '2', userId: '3' };
const STUDENT = { platform: 'moodle' as const, courseId: '2', userId: '4' };
const CANVAS_TA = { platform: 'canvas' as const, courseId: '101', userId: '20002' };
const CANVAS_DESIGNER = { platform: 'canvas' as const, courseId: '101', userId: '20003' };

beforeAll(async () => {
  stack = await testStack('deeplinking', { encryptionKey: KEY, env: { AUTO_ACTIVATE: 'true' } });
});
afterAll(async () => {
  await stack?.stop();
});

const returnUrl = () => `${stack.lms.url}/moodle/mod/lti/contentitem_return.php?course=2&id=1&sesskey=fixture`;

/** The launch's id_token made an LtiDeepLinkingRequest (as Moodle sends one: no resource_link), signed again by the LMS. */
function deepLinking(platform: 'moodle' | 'canvas', change: (p: Record<string, unknown>) => void = () => undefined) {
  return (form: FormSubmission): Record<string, string> => {
    if (!('id_token' in form.fields)) return form.fields;
    const p = { ...decodeJwt(form.fields.id_token!).payload };
    p[`${CLAIM}message_type`] = 'LtiDeepLinkingRequest';
    delete p[`${CLAIM}resource_link`];
    p[`${DL_CLAIM}deep_linking_settings`] = {
      deep_link_return_url: returnUrl(),
      accept_types: ['ltiResourceLink'],
      accept_presentation_document_targets: ['frame', 'iframe', 'window'],
      accept_multiple: true,
      auto_create: false,
      title: 'Quiz 7 integrity',
      text: '',
    };
    change(p);
    return { ...form.fields, id_token: stack.lms.signIdToken(platform, p) };
  };
}

async function openForm(
  who: { platform: 'moodle' | 'canvas'; courseId: string; userId: string },
  change?: (p: Record<string, unknown>) => void,
) {
  const browser = stack.browser();
  const res = await browser.launch({ ...who, rewriteForm: deepLinking(who.platform, change) });
  return { browser, res };
}

function hiddenField(html: string, name: string): string {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no hidden ${name}`);
  return decodeEntities(m[1]!);
}
const inputValue = (html: string, id: string) => {
  const m = new RegExp(`<input[^>]*id="${id}"[^>]*value="([^"]*)"`).exec(html);
  return m ? decodeEntities(m[1]!) : null;
};
const invalid = (html: string, id: string) => new RegExp(`<input[^>]*id="${id}"[^>]*aria-invalid="true"`).test(html);

/** The answer page's form to the LMS (the layout's sign-out form is another). */
const returnForm = (page: { html: string; url: string }) => parseForms(page.html, page.url).find((f) => 'JWT' in f.fields);

async function placements(): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM placement`.execute(stack.tool.store.db);
  return Number(rows[0]!.n);
}

const QUIZ7 = `${MOODLE_BASE_URL}/mod/quiz/*cmid=7`;
const form = (page: string, fields: Record<string, string>) => ({
  ltik: hiddenField(page, 'ltik'),
  csrf: hiddenField(page, 'csrf'),
  title: 'Quiz 7 integrity',
  scope: 'activity',
  pattern: QUIZ7,
  start: '',
  end: '',
  high: '',
  elevated: '',
  ...fields,
});

describe('who may place the tool', () => {
  test('an instructor gets the form: the LMS’s suggested title, the two choices, the hint with examples, UTC said', async () => {
    const { res } = await openForm(TEACHER);
    expect(res.status).toBe(200);
    expect(res.html).toContain('data-testid="placement-form"');
    expect(inputValue(res.html, 'dl-title')).toBe('Quiz 7 integrity');
    const text = textOf(res.html);
    expect(text).toContain('What does this placement cover?');
    expect(text).toContain('The whole course');
    expect(text).toContain('One activity');
    expect(text).toContain('https://moodle.example.edu/mod/quiz/*cmid=12');
    expect(text).toContain('https://school.instructure.com/courses/101/quizzes/7 (quiz 7 and its pages, not quiz 70)');
    // The rule in plain words: up to the end, or up to a /, ?, & or # (each in its own code element).
    expect(text).toMatch(/up to its end, or up to a \/ , \? , & or # /);
    expect(text).toMatch(/Times are in UTC/);
    expect(text).toMatch(/High ≥ 0\.70, Elevated ≥ 0\.40/);
    // The whole course is chosen until the instructor says otherwise.
    expect(res.html).toMatch(/id="dl-scope-course"[^>]*checked/);
  });

  test('without a suggested title the form offers “Integrity signals”', async () => {
    const { res } = await openForm(TEACHER, (p) => {
      const s = p[`${DL_CLAIM}deep_linking_settings`] as Record<string, unknown>;
      delete s.title;
    });
    expect(inputValue(res.html, 'dl-title')).toBe('Integrity signals');
  });

  test('a student gets 403 placement_not_allowed, and the session opens no page', async () => {
    const { browser, res } = await openForm(STUDENT);
    expect(res.status).toBe(403);
    expect(res.html).toContain('<code>placement_not_allowed</code>');
    expect(textOf(res.html)).toMatch(/Only the course’s instructors \(and administrators\) add this tool/);
    const course = await browser.get(`${stack.tool.url}/course?ltik=${encodeURIComponent(res.ltik!)}`);
    expect(course.status).toBe(403);
    expect(course.html).toContain('deep_linking_session');
  });

  test('a teaching assistant and a designer get 403 too (Canvas)', async () => {
    for (const who of [CANVAS_TA, CANVAS_DESIGNER]) {
      const { res } = await openForm(who);
      expect({ who: who.userId, status: res.status }).toEqual({ who: who.userId, status: 403 });
      expect(res.html).toContain('<code>placement_not_allowed</code>');
    }
  });

  test('a return address that is not http(s) is refused (400), as is a request for content other than a link', async () => {
    const bad = await openForm(TEACHER, (p) => {
      (p[`${DL_CLAIM}deep_linking_settings`] as Record<string, unknown>).deep_link_return_url = 'javascript:alert(1)';
    });
    expect(bad.res.status).toBe(400);
    expect(bad.res.html).toContain('<code>deep_link_return_invalid</code>');
    const files = await openForm(TEACHER, (p) => {
      (p[`${DL_CLAIM}deep_linking_settings`] as Record<string, unknown>).accept_types = ['file'];
    });
    expect(files.res.status).toBe(400);
    expect(files.res.html).toContain('<code>deep_link_type_not_accepted</code>');
  });

  test('a resource link session cannot post the form (403 not_deep_linking_session)', async () => {
    const browser = stack.browser();
    const launched = await browser.launch(TEACHER);
    const res = await browser.post(`${stack.tool.url}/deep-linking`, { ltik: launched.ltik!, title: 'x', scope: 'course' });
    expect(res.status).toBe(403);
    expect(res.html).toContain('<code>not_deep_linking_session</code>');
  });
});

describe('target_link_uri on another host', () => {
  test('is refused at login', async () => {
    const browser = stack.browser();
    const page = await browser.get(browser.launchUrl(TEACHER), { followForms: false });
    const login = findAutoSubmitForm(page.html, page.url)!;
    const res = await browser.post(login.action, { ...login.fields, target_link_uri: 'https://evil.example/' });
    expect(res.status).toBe(400);
    expect(res.html).toContain('<code>launch_target_not_this_tool</code>');
    expect(res.history.every((h) => h.url.startsWith(stack.tool.url))).toBe(true);
  });

  test('is refused in a Deep Linking id_token', async () => {
    const { res } = await openForm(TEACHER, (p) => (p[`${CLAIM}target_link_uri`] = 'https://evil.example/'));
    expect(res.status).toBe(401);
    expect(res.html).toContain('<code>launch_target_not_this_tool</code>');
    expect(res.ltik).toBeUndefined();
  });
});

describe('the form', () => {
  test('a bad pattern and a lone threshold: 422 invalid_placement, everything typed kept, the fields marked, nothing made', async () => {
    const { browser, res } = await openForm(TEACHER);
    const before = await placements();
    const sent = form(res.html, {
      title: 'Quiz 7 <integrity> “check”',
      pattern: 'moodle.example.edu/mod/quiz/*cmid=7',
      start: '2026-03-01T09:00',
      end: '2026-02-01T09:00',
      high: '0.9',
    });
    const answer = await browser.post(`${stack.tool.url}/deep-linking`, sent);
    expect(answer.status).toBe(422);
    expect(answer.html).toContain('<code>invalid_placement</code>');
    expect(answer.html).toContain('data-testid="placement-errors"');
    expect(inputValue(answer.html, 'dl-title')).toBe('Quiz 7 <integrity> “check”');
    expect(inputValue(answer.html, 'dl-pattern')).toBe('moodle.example.edu/mod/quiz/*cmid=7');
    expect(inputValue(answer.html, 'dl-start')).toBe('2026-03-01T09:00');
    expect(inputValue(answer.html, 'dl-end')).toBe('2026-02-01T09:00');
    expect(inputValue(answer.html, 'dl-high')).toBe('0.9');
    expect(answer.html).toMatch(/id="dl-scope-activity"[^>]*checked/);
    for (const id of ['dl-pattern', 'dl-end', 'dl-elevated'])
      expect({ id, invalid: invalid(answer.html, id) }).toEqual({ id, invalid: true });
    for (const id of ['dl-title', 'dl-start', 'dl-high']) expect({ id, invalid: invalid(answer.html, id) }).toEqual({ id, invalid: false });
    expect(textOf(answer.html)).toMatch(/Start with http:\/\/ or https:\/\//);
    expect(textOf(answer.html)).toMatch(/The end must be later than the start/);
    expect(await placements()).toBe(before);
  });

  test('thresholds go by the registration’s rule (elevated below high)', async () => {
    const { browser, res } = await openForm(TEACHER);
    const answer = await browser.post(`${stack.tool.url}/deep-linking`, form(res.html, { high: '0.5', elevated: '0.8' }));
    expect(answer.status).toBe(422);
    expect(invalid(answer.html, 'dl-elevated')).toBe(true);
    expect(textOf(answer.html)).toMatch(/Elevated: Elevated \(0\.8\) must be below High \(0\.5\)/);
  });

  test('a missing or wrong CSRF token: 403 csrf_failed, nothing made, the text kept', async () => {
    const { browser, res } = await openForm(TEACHER);
    const before = await placements();
    const answer = await browser.post(`${stack.tool.url}/deep-linking`, form(res.html, { csrf: 'forged', title: 'Kept title' }));
    expect(answer.status).toBe(403);
    expect(answer.html).toContain('<code>csrf_failed</code>');
    expect(inputValue(answer.html, 'dl-title')).toBe('Kept title');
    expect(inputValue(answer.html, 'dl-pattern')).toBe(QUIZ7);
    expect(await placements()).toBe(before);
  });

  test('a valid form: the placement and its audit row, then the signed answer to the LMS’s return address', async () => {
    const { browser, res } = await openForm(TEACHER);
    const sent = form(res.html, { start: '2026-03-01T09:00', end: '2026-03-08T09:00', high: '0.8', elevated: '0.5' });
    const answer = await browser.post(`${stack.tool.url}/deep-linking`, sent);
    expect(answer.status).toBe(200);
    const back = returnForm(answer);
    expect(back!.method).toBe('POST');
    expect(back!.action).toBe(returnUrl());
    expect(answer.html).toContain('<script src="/assets/auto-submit.js"></script>');
    expect(answer.html).toContain('Return to the LMS');
    const csp = String(answer.headers['content-security-policy']);
    expect(csp).toMatch(new RegExp(`form-action [^;]*${stack.lms.url.replace(/[.:/]/g, '\\$&')}`));
    expect(csp).toMatch(/script-src [^;]*'self'/);

    const keys = JSON.parse((await browser.get(`${stack.tool.url}/keys`)).html) as { keys: unknown[] };
    const { payload } = verifyJwt(back!.fields.JWT!, keys, Math.floor(Date.now() / 1000));
    const moodle = stack.lms.platforms.moodle;
    expect(payload.iss).toBe(moodle.clientId);
    expect(payload.aud).toBe(moodle.issuer);
    expect(payload[`${CLAIM}message_type`]).toBe('LtiDeepLinkingResponse');
    expect(payload[`${CLAIM}deployment_id`]).toBe(moodle.deploymentId);
    const items = payload[`${DL_CLAIM}content_items`] as Array<Record<string, unknown>>;
    expect(items).toHaveLength(1);
    const item = items[0]!;
    expect(item).toMatchObject({ type: 'ltiResourceLink', title: 'Quiz 7 integrity', url: `${stack.tool.url}/` });
    expect(String(item.text)).toContain(QUIZ7);
    const id = (item.custom as Record<string, string>).placement!;
    const made = await createPlacementStore(stack.tool.store.db).get(id);
    expect(made).toMatchObject({
      scope: 'activity',
      urlPattern: QUIZ7,
      windowStart: new Date('2026-03-01T09:00:00Z'),
      windowEnd: new Date('2026-03-08T09:00:00Z'),
      thresholds: { high: 0.8, elevated: 0.5 },
      contextId: '2',
      resourceLinkId: null,
      createdByUserId: '3',
    });
    const { rows } = await sql<{
      n: string;
    }>`SELECT count(*) AS n FROM audit_log WHERE action = 'placement.create' AND resource_id = ${`placement ${id}`}`.execute(
      stack.tool.store.db,
    );
    expect(Number(rows[0]!.n)).toBe(1);

    // The same form again (a double submit): the same placement, nothing new made, a fresh answer.
    const before = await placements();
    const again = await browser.post(`${stack.tool.url}/deep-linking`, sent);
    expect(again.status).toBe(200);
    const second = verifyJwt(returnForm(again)!.fields.JWT!, keys, Math.floor(Date.now() / 1000)).payload;
    expect((second[`${DL_CLAIM}content_items`] as Array<Record<string, Record<string, string>>>)[0]!.custom!.placement).toBe(id);
    expect(await placements()).toBe(before);
  });

  test('the whole course: a placement of scope course, the activity’s fields not kept', async () => {
    const { browser, res } = await openForm(TEACHER);
    const answer = await browser.post(
      `${stack.tool.url}/deep-linking`,
      form(res.html, { scope: 'course', title: 'Course signals', high: 'x' }),
    );
    expect(answer.status).toBe(200);
    const jwt = returnForm(answer)!.fields.JWT!;
    const item = (decodeJwt(jwt).payload[`${DL_CLAIM}content_items`] as Array<Record<string, Record<string, string>>>)[0]!;
    const made = await createPlacementStore(stack.tool.store.db).get(item.custom!.placement!);
    expect(made).toMatchObject({ scope: 'course', urlPattern: null, thresholds: null, title: 'Course signals' });
  });
});

describe('end to end with the emulated Moodle 4.4', () => {
  let typeId: string;

  beforeAll(async () => {
    const browser = stack.browser();
    const registered = await browser.get(stack.lms.registrationUrl(`${stack.tool.url}/register`));
    expect(registered.status).toBe(200);
    const type = stack.lms.toolTypes()[0]!;
    typeId = type.id;
    stack.lms.activateToolType(typeId);
    // The registration's admin adds the isnotai key (the tool's admin pages do the same through this store).
    const registrations = createRegistrationStore(stack.tool.store.db, { secret: KEY });
    const reg = (await registrations.find(stack.lms.platforms.moodle.issuer, type.clientId))!;
    expect(reg.status).toBe('active');
    const changed = await registrations.change(reg.id, { apiKey: 'aik_v1_sim_pro', isnotaiBaseUrl: stack.simulator.url }, reg.version, {
      platformIss: reg.issuer,
      platformClientId: reg.clientId,
      actorUserId: 'test',
      actorRole: 'admin',
      action: 'registration.change',
    });
    expect(changed.kind).toBe('saved');
  });

  test('“One activity”: the LMS verifies the answer, makes the activity, and its launch opens the grading view', async () => {
    const teacher = stack.browser();
    const opened = await teacher.get(stack.lms.deepLinkingUrl({ courseId: '2', typeId, userId: '3' }));
    expect(opened.status).toBe(200);
    expect(opened.html).toContain('data-testid="placement-form"');
    const answer = await teacher.post(
      `${stack.tool.url}/deep-linking`,
      form(opened.html, { title: 'Quiz 7 grading', high: '0.8', elevated: '0.5' }),
    );
    expect(answer.status).toBe(200);
    const back = returnForm(answer)!;
    expect(back.action.startsWith(`${stack.lms.url}/moodle/mod/lti/contentitem_return.php?`)).toBe(true);
    const made = await teacher.post(back.action, back.fields);
    expect(made.status).toBe(200);
    const activity = stack.lms.activities('2').find((a) => a.name === 'Quiz 7 grading')!;
    expect(activity).toBeDefined();
    expect(activity.customParameters).toMatch(/^placement=[A-Za-z0-9_-]{16,64}$/);

    // The same response again: the LMS refuses it (a response is accepted once).
    const replayed = await teacher.post(back.action, back.fields);
    expect(replayed.status).toBe(409);
    expect(replayed.html).toContain('deep_link_replayed');

    const graded = await teacher.get(stack.lms.activityLaunchUrl({ cmid: activity.cmid, userId: '3' }));
    expect(graded.status).toBe(200);
    expect(graded.url).toContain('/course?');
    expect(graded.html).toContain('data-testid="placement-banner"');
    expect(textOf(graded.html)).toContain(`sessions on pages matching ${QUIZ7}`);
    const json = JSON.parse((await teacher.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(graded.ltik!)}`)).html);
    const lens = { scope: 'activity' as const, urlPattern: QUIZ7, windowStart: null, windowEnd: null, thresholds: null };
    const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === '2')!;
    for (const m of course.members.filter((x) => x.role === 'learner')) {
      const mine = stack.simulator.dataset.sessionsForUser(m.person.lmsUserId).filter((s) => sessionInPlacement(s, lens));
      const item = json.items.find((i: { userId: string }) => i.userId === m.person.lmsUserId);
      expect({ userId: m.person.lmsUserId, sessions: item?.sessions, risk: item?.risk }).toEqual({
        userId: m.person.lmsUserId,
        sessions: mine.length,
        risk: learnerRiskSummary(mine, { thresholds: { high: 0.8, elevated: 0.5 } }).level,
      });
    }
    expect(json.thresholds).toEqual({ high: 0.8, elevated: 0.5 });

    // A student opening the same activity sees all of their own sessions.
    const student = stack.browser();
    const own = await student.get(stack.lms.activityLaunchUrl({ cmid: activity.cmid, userId: '4' }));
    expect(own.status).toBe(200);
    expect(own.url).toContain('/me?');
    const mine = JSON.parse(
      (await student.get(`${stack.tool.url}/learners/4/sessions.json?limit=500&ltik=${encodeURIComponent(own.ltik!)}`)).html,
    );
    expect(mine.total).toBe(stack.simulator.dataset.sessionsForUser('4').length);
    expect(DEFAULT_THRESHOLDS).toEqual({ high: 0.7, elevated: 0.4 });
  });
});

/**
 * The student's side over real HTTP, real PostgreSQL, through the LMS emulator (issue 13; docs/product.md "Student
 * visibility", "Writes"): a student reads what their record means on /me in every visibility mode (the bot score, the
 * platform's thresholds in words, the innocent causes of their own signals, what happens next, how to answer), with an
 * accommodation on record said in the student's words and counted in their level; a student answers a flagged session
 * (POST → 303 → the session page with "Saved." and the response); a double submit writes one response and one audit row;
 * another student, a forged session id, a missing CSRF token, 5,001 characters, staff and an outage are each refused with
 * the text kept and nothing written; and hostile text in a response is shown as text in its own direction.
 */
import { sql } from 'kysely';
import { canvasContextId } from '../../src/dev/lms';
import type { IsnotaiSession } from '../../src/isnotai/types';
import { ACCOMMODATION_KINDS, accommodatedSignals, innocentCauses, knownFlags, learnerRiskSummary } from '../../src/risk';
import { createAccommodationStore } from '../../src/store/accommodations';
import { ACCOMMODATION_ON_RECORD } from '../../src/web/guidanceView';
import { reviewSeeder, unisolated } from '../support/reviews';
import { decodeEntities, testStack, textOf } from '../support/stack';
import { hidden, textarea, toolClient, type Launched } from '../support/tool';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;

/** Someone launched, with their LMS user id. */
type Who = Launched;
const { launch, page, post } = toolClient(() => stack);
/** Active Canvas learners of BIO 101 with a flagged session: one per test, so the tests do not depend on each other's records. */
let learners: string[];
let teacher: Who;
/** BIO 101's context id, as Canvas sends it (opaque). */
let bioContext: string;

beforeAll(async () => {
  // Moodle shows students a summary only (its mode is switched to "notice" in one test); Canvas shows everything.
  stack = await testStack('student-response', { moodleStudentVisibility: 'summary' });
  const bio = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === '101')!;
  learners = bio.members
    .filter((m) => m.role === 'learner' && m.status !== 'Inactive')
    .map((m) => m.person.lmsUserId)
    .filter((id) => flagged(id).length > 0);
  expect(learners.length).toBeGreaterThanOrEqual(8);
  bioContext = canvasContextId(bio);
  teacher = await launch('canvas', '101', '20001');
});
afterAll(async () => {
  await stack?.stop();
});

const sessionsOf = (userId: string): IsnotaiSession[] => stack.simulator.dataset.sessionsForUser(userId) as IsnotaiSession[];
const flagged = (userId: string) => sessionsOf(userId).filter((s) => s.detectionFlags.length > 0);

const sessionPage = (who: Who, sessionId: string, params: Record<string, string> = {}) =>
  page(who, `/learners/${who.userId}/sessions/${sessionId}`, params);
const respond = (who: Who, sessionId: string, form: Record<string, string>) => post(who, `/me/sessions/${sessionId}/response`, form);

/** The inner HTML of the element marked data-testid=… (up to its closing tag of the same name). */
function part(html: string, testId: string, tag = 'section'): string {
  const m = new RegExp(`<${tag}[^>]*data-testid="${testId}"[^>]*>([\\s\\S]*?)</${tag}>`).exec(html);
  return m ? m[1]! : '';
}
/** The headings' levels in document order: they must never skip a level going down. */
function headingLevels(html: string): number[] {
  return [...html.matchAll(/<h([1-6])[\s>]/g)].map((m) => Number(m[1]));
}
function skipsLevel(levels: number[]): boolean {
  return levels.some((l, i) => i > 0 && l > levels[i - 1]! + 1);
}
async function responsesIn(userId: string, sessionId?: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM student_response WHERE user_id = ${userId} AND (${sessionId ?? null}::text IS NULL OR session_id = ${sessionId ?? null})`.execute(
    stack.tool.store.db,
  );
  return Number(rows[0]!.n);
}
async function responseAudit(userId: string) {
  const { rows } = await sql<{ actor_user_id: string; actor_role: string; resource_id: string | null; context_id: string }>`
    SELECT actor_user_id, actor_role, resource_id, context_id FROM audit_log
    WHERE subject_user_id = ${userId} AND action = 'response.write' ORDER BY id`.execute(stack.tool.store.db);
  return rows;
}
/** The student's session form: its CSRF token, as the session page gives it. */
async function formOf(who: Who, sessionId: string) {
  const res = await sessionPage(who, sessionId);
  expect(res.status).toBe(200);
  return { csrf: hidden(res.html, 'csrf'), html: res.html };
}

describe('guidance', () => {
  test('on /me (full): what the bot score is and is not, the thresholds in words, their own signals’ innocent causes, what happens next, how to answer', async () => {
    const who = await launch('canvas', '101', learners[0]!);
    const guidance = part(who.html, 'guidance');
    expect(guidance).not.toBe('');
    const text = textOf(guidance);
    expect(text).toContain('It does not measure whether your work is your own');
    // The platform's lines (Canvas: the defaults, 0.70 and 0.40), in words.
    expect(textOf(part(guidance, 'guidance-thresholds', 'div'))).toContain(
      'Your institution calls a session “High” when its score is 0.70 or more, and “Elevated” when it is from 0.40 to below 0.70. Below 0.40 it is “Low”.',
    );
    // Their own signals first, each with its ordinary causes; every other known signal under "Other signals".
    const theirs = [...new Set(sessionsOf(who.userId).flatMap((s) => s.detectionFlags))];
    const listed = [...part(guidance, 'guidance-theirs', 'dl').matchAll(/data-signal="([^"]*)"/g)].map((m) => decodeEntities(m[1]!));
    expect(listed.sort()).toEqual([...theirs].sort());
    for (const flag of theirs)
      for (const cause of innocentCauses(flag)) expect(textOf(part(guidance, 'guidance-theirs', 'dl'))).toContain(cause);
    const others = [...part(guidance, 'guidance-others', 'details').matchAll(/data-signal="([^"]*)"/g)].map((m) => m[1]!);
    expect(others.sort()).toEqual(
      knownFlags()
        .filter((f) => !theirs.includes(f))
        .sort(),
    );
    expect(text).toContain('A person reviews it');
    expect(text).toContain('A signal is not a finding.');
    expect(textOf(part(guidance, 'guidance-respond', 'div'))).toContain('Open a session and write your response under “Your response”');
    // No accommodation is on record for this student: nothing is said about one.
    expect(who.html).not.toContain('data-testid="guidance-accommodation"');
    expect(skipsLevel(headingLevels(who.html))).toBe(false);

    // Their own learner page says the same.
    const own = await page(who, `/learners/${who.userId}`);
    expect(own.status).toBe(200);
    expect(textOf(part(own.html, 'guidance'))).toContain('A signal is not a finding.');
    expect(skipsLevel(headingLevels(own.html))).toBe(false);
  });

  test('in "summary" and "notice": the same words, every signal’s causes, and "ask your instructor"; no form, and a response is refused (403)', async () => {
    const moodle = stack.lms.platforms.moodle;
    const sessionId = sessionsOf('4')[0]!.id;
    const check = async (mode: 'summary' | 'notice') => {
      const who = await launch('moodle', '2', '4');
      expect(who.html.includes('data-testid="session-count"')).toBe(mode === 'summary');
      if (mode === 'notice') expect(textOf(who.html)).toContain('Browser activity is recorded during assessments');
      const guidance = part(who.html, 'guidance');
      expect(textOf(part(guidance, 'guidance-thresholds', 'div'))).toContain('when its score is 0.70 or more');
      // No signal is singled out as theirs (the platform shows no more than a summary); every known one is explained.
      expect(guidance).not.toContain('data-testid="guidance-theirs"');
      const listed = [...part(guidance, 'guidance-others', 'details').matchAll(/data-signal="([^"]*)"/g)].map((m) => m[1]!);
      expect(listed.sort()).toEqual([...knownFlags()].sort());
      expect(textOf(guidance)).toContain(innocentCauses('no_pointer_movement')[0]!);
      expect(textOf(part(guidance, 'guidance-respond', 'div'))).toContain('Ask your instructor');
      expect(textOf(guidance)).not.toContain('Open a session and write your response');
      expect(who.html).not.toContain('data-testid="response-form"');
      expect(skipsLevel(headingLevels(who.html))).toBe(false);
      // There is no session page to answer from, and a response sent anyway is refused: nothing is written.
      const sent = await respond(who, sessionId, { response: 'My side of it.', csrf: 'x' });
      expect(sent.status).toBe(403);
      expect(sent.html).toContain('<code>forbidden</code>');
      expect(textOf(sent.html)).toContain('Your institution shows students a summary only.');
    };
    await check('summary');
    const setMode = (mode: string) =>
      sql`UPDATE platform_settings SET student_visibility = ${mode} WHERE issuer = ${moodle.issuer} AND client_id = ${moodle.clientId}`.execute(
        stack.tool.store.db,
      );
    await setMode('notice');
    try {
      await check('notice');
    } finally {
      await setMode('summary');
    }
    expect(await responsesIn('4')).toBe(0);
  });

  test('an accommodation on record is said in the student’s words (never the staff’s), its signals shown as explained, and the level counts it', async () => {
    // A learner (none of the other tests') and an accommodation that lowers their level: every signal of their high
    // sessions is one it explains (dictation explains superhuman typing; a screen reader, no pointer movement).
    const thresholds = { high: 0.7, elevated: 0.4 };
    const pick = learners
      .slice(8)
      .flatMap((userId) => ACCOMMODATION_KINDS.map((k) => ({ userId, kind: k.kind, signals: accommodatedSignals([k.kind]) })))
      .find((c) => {
        const s = learnerRiskSummary(sessionsOf(c.userId), { thresholds, accommodated: c.signals });
        return s.levelWithoutAccommodations !== null && s.levelWithoutAccommodations !== s.level;
      })!;
    expect(pick).toBeDefined();
    const { userId, kind } = pick;
    const canvas = stack.lms.platforms.canvas;
    const written = await createAccommodationStore(stack.tool.store.db).change({
      scope: {
        platformIss: canvas.issuer,
        platformClientId: canvas.clientId,
        userId,
        course: { deploymentId: canvas.deploymentId, contextId: bioContext },
      },
      author: {
        lmsUserId: '20001',
        name: 'Theo Lindqvist',
        roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor'],
        audience: 'instructor',
      },
      expectedVersion: 0,
      add: { kind, detail: 'Staff wording: uses JAWS, agreed with the disability office' },
      audit: {
        platformIss: canvas.issuer,
        platformClientId: canvas.clientId,
        actorUserId: '20001',
        actorRole: 'instructor',
        subjectUserId: userId,
        action: 'accommodation.add',
        contextId: bioContext,
      },
    });
    expect(written.outcome).toBe('written');
    const who = await launch('canvas', '101', userId);
    // Said once, at the top of the page, near the level it changes.
    expect(textOf(part(who.html, 'guidance-accommodation', 'p'))).toBe(ACCOMMODATION_ON_RECORD);
    expect(who.html.split('data-testid="guidance-accommodation"')).toHaveLength(2);
    expect(who.html.indexOf('data-testid="guidance-accommodation"')).toBeLessThan(who.html.indexOf('data-testid="own-level"'));
    expect(who.html).not.toContain('Staff wording');
    expect(who.html).not.toContain('JAWS');
    expect(who.html).not.toContain('Theo Lindqvist');
    expect(who.html).toContain('explained by an accommodation on record');
    // Their own learner page says it too, and nothing of the register's entry either.
    const own = await page(who, `/learners/${userId}`);
    expect(textOf(part(own.html, 'guidance-accommodation', 'p'))).toBe(ACCOMMODATION_ON_RECORD);
    for (const staffOnly of ['Staff wording', 'JAWS', 'Theo Lindqvist']) expect(own.html).not.toContain(staffOnly);
    // The level the student sees is the one their accommodations give (the staff's, src/risk/summary.ts).
    // Lower than the score alone gives, and both are shown: "Low (High without the accommodated signals)".
    const expected = learnerRiskSummary(sessionsOf(userId), { thresholds, accommodated: pick.signals });
    const level = /data-testid="own-level"><span class="risk risk-([a-z]+)" data-without="([a-z]+)"/.exec(who.html)!;
    expect([level[1], level[2]]).toEqual([expected.level, expected.levelWithoutAccommodations]);
    expect(textOf(who.html)).toMatch(/Highest level . \w+ \(\w+ without the accommodated signals\)/);
  });
});

describe('answering a session', () => {
  test('a student answers a flagged session: 303 to its page, which says “Saved.” and shows the response; /me counts it', async () => {
    const who = await launch('canvas', '101', learners[1]!);
    const session = flagged(who.userId)[0]!;
    // The course's staff marked it, with a note: the student never sees either (docs/product.md "Who reads and writes").
    const staff = reviewSeeder(stack, 'canvas', bioContext);
    const author = { lmsUserId: '20001', name: 'Theo Lindqvist', roles: ['Instructor'], audience: 'instructor' as const };
    await staff.write(who.userId, author, { note: { body: 'Staff-only note about the pastes.', correctsId: null } });
    await staff.write(who.userId, author, { mark: { sessionId: session.id, mark: 'concern', note: 'Staff-only mark note.' } });
    const form = await formOf(who, session.id);
    for (const staffOnly of ['Staff-only', 'Review mark', 'data-testid="marks"', 'Theo Lindqvist'])
      expect(form.html).not.toContain(staffOnly);
    // Beside each signal, its common innocent causes; the form, labelled, says a response is for good and seen by staff.
    expect(form.html.match(/data-testid="signal-causes"/g)?.length).toBe(Math.min(session.detectionFlags.length, 20));
    expect(form.html).toContain('<label for="response-text">Your response to this session</label>');
    expect(textOf(form.html)).toMatch(/cannot be edited or deleted[\s\S]*course staff see it beside this session’s signals/);
    expect(form.html).toContain('<h2 id="response-h">Your response</h2>');
    expect(textOf(form.html)).toContain('You have not responded to this session.');
    expect(skipsLevel(headingLevels(form.html))).toBe(false);

    const text = 'I use dictation software; the long pastes are from my own draft in Word.';
    const res = await respond(who, session.id, { response: `  ${text}\r\n`, csrf: form.csrf });
    expect(res.history.map((h) => [h.method, h.status])).toEqual([
      ['POST', 303],
      ['GET', 200],
    ]);
    const saved = new URL(res.url).searchParams.get('saved')!;
    expect(saved).toMatch(/^\d+$/);
    expect(new URL(res.url).pathname).toBe(`/learners/${who.userId}/sessions/${session.id}`);
    expect(res.html).toMatch(
      /<p class="notice review-saved" id="response" tabindex="-1" role="status"[^>]*>Saved\. Your response is recorded\.<\/p>/,
    );
    const list = part(res.html, 'response-list', 'ol');
    expect(list).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+">/);
    expect(list).toContain(`<div class="review-text" dir="auto">${text}</div>`);
    expect(await responsesIn(who.userId, session.id)).toBe(1);
    expect(await responseAudit(who.userId)).toEqual([
      { actor_user_id: who.userId, actor_role: 'student', resource_id: `response ${saved} session ${session.id}`, context_id: bioContext },
    ]);

    // A reload of the page's own links, or a crafted link naming no response of theirs on this session, confirms nothing.
    expect((await sessionPage(who, session.id)).html).not.toContain('data-testid="response-saved"');
    expect((await sessionPage(who, session.id, { saved: String(Number(saved) + 1000) })).html).not.toContain(
      'data-testid="response-saved"',
    );
    const otherSession = sessionsOf(who.userId).find((s) => s.id !== session.id);
    if (otherSession) expect((await sessionPage(who, otherSession.id, { saved })).html).not.toContain('data-testid="response-saved"');

    // /me counts it on the session's row.
    const me = await page(who, '/me', { limit: '500' });
    const row = new RegExp(`<tr data-session-id="${session.id}">[\\s\\S]*?</tr>`).exec(me.html)![0];
    expect(textOf(part(row, 'response-count', 'td'))).toBe('1 response');
  });

  test('a double submit writes one response and one audit row; a second response is kept after the first, both shown', async () => {
    const who = await launch('canvas', '101', learners[2]!);
    const session = flagged(who.userId)[0]!;
    const { csrf } = await formOf(who, session.id);
    const form = { response: 'I was reading the question aloud with a screen reader.', csrf };
    const [a, b] = await Promise.all([respond(who, session.id, form), respond(who, session.id, form)]);
    const again = await respond(who, session.id, form);
    for (const r of [a, b, again]) expect(r.history[0]).toMatchObject({ method: 'POST', status: 303 });
    const ids = [a, b, again].map((r) => new URL(r.url).searchParams.get('saved'));
    expect(new Set(ids).size).toBe(1);
    expect(again.html).toContain('data-testid="response-saved"');
    expect(await responsesIn(who.userId)).toBe(1);
    expect(await responseAudit(who.userId)).toHaveLength(1);

    const second = await respond(who, session.id, { response: 'And I took a rest break at 10:15.', csrf });
    expect(second.history[0]!.status).toBe(303);
    expect(await responsesIn(who.userId)).toBe(2);
    expect(await responseAudit(who.userId)).toHaveLength(2);
    expect(second.html).toContain('<h2 id="response-h">Your responses</h2>');
    const bodies = [...part(second.html, 'response-list', 'ol').matchAll(/<div class="review-text" dir="auto">([^<]*)<\/div>/g)].map(
      (m) => m[1],
    );
    expect(bodies).toEqual(['I was reading the question aloud with a screen reader.', 'And I took a rest break at 10:15.']);
  });
});

describe('refusals: the text kept, nothing written', () => {
  test('another student posting to the first student’s session: 403, the text to copy', async () => {
    const owner = await launch('canvas', '101', learners[3]!);
    const intruder = await launch('canvas', '101', learners[4]!);
    const session = flagged(owner.userId)[0]!;
    const { csrf } = await formOf(intruder, flagged(intruder.userId)[0]!.id);
    const typed = 'Posted to someone else’s session.';
    const res = await respond(intruder, session.id, { response: typed, csrf });
    expect(res.status).toBe(403);
    expect(res.html).toContain('<code>forbidden</code>');
    expect(textOf(res.html)).toContain('That session is not one isnotai recorded for you');
    expect(textarea(res.html, 'data-testid="copy-response"')).toBe(typed);
    expect(res.html).toMatch(/<textarea id="copy-response"[^>]*readonly/);
    expect(res.html).not.toContain('data-testid="response-form"');
    expect(await responsesIn(owner.userId)).toBe(0);
    expect(await responsesIn(intruder.userId)).toBe(0);
    // Nor can they read the owner's session page.
    expect((await page(intruder, `/learners/${owner.userId}/sessions/${session.id}`)).status).toBe(403);
  });

  test('a forged session id, a missing or wrong CSRF token, an empty text and 5,001 characters: each a clear refusal', async () => {
    const who = await launch('canvas', '101', learners[5]!);
    const session = flagged(who.userId)[0]!;
    const { csrf } = await formOf(who, session.id);

    const forged = await respond(who, 'sess_forged_0001', { response: 'On a session that does not exist.', csrf });
    expect(forged.status).toBe(403);
    expect(forged.html).toContain('<code>forbidden</code>');
    expect(textarea(forged.html, 'data-testid="copy-response"')).toBe('On a session that does not exist.');

    for (const token of [undefined, 'tampered']) {
      const form: Record<string, string> = { response: 'Sent without the form’s token.' };
      if (token) form.csrf = token;
      const res = await respond(who, session.id, form);
      expect(res.status).toBe(403);
      expect(res.html).toContain('<code>csrf_failed</code>');
      expect(textOf(res.html)).toContain('nothing was saved');
      expect(textarea(res.html, 'data-testid="copy-response"')).toBe('Sent without the form’s token.');
      expect(res.html).not.toContain('data-testid="response-form"');
    }

    const over = 'é'.repeat(5001);
    const long = await respond(who, session.id, { response: over, csrf });
    expect(long.status).toBe(422);
    expect(long.html).toContain('<code>invalid_response</code>');
    expect(textarea(long.html, 'name="response"')).toBe(over);
    expect(long.html).toMatch(
      /<textarea id="response-text"[^>]*aria-describedby="response-hint response-text-error"[^>]*aria-invalid="true"/,
    );
    expect(long.html).toMatch(/<a href="#response-text">Your response is 5,001 characters long; at most 5,000 are kept\./);
    expect(skipsLevel(headingLevels(long.html))).toBe(false);

    const empty = await respond(who, session.id, { response: ' \r\n\u0000 ', csrf });
    expect(empty.status).toBe(422);
    expect(textOf(empty.html)).toContain('Write your response before sending it: the form was empty.');
    expect(await responsesIn(who.userId)).toBe(0);
    expect(await responseAudit(who.userId)).toHaveLength(0);

    // 5,000 characters, counted as PostgreSQL counts them (code points), are kept.
    const ok = await respond(who, session.id, { response: '😀'.repeat(5000), csrf });
    expect(ok.history[0]!.status).toBe(303);
    expect(await responsesIn(who.userId)).toBe(1);
  });

  test('isnotai cannot say whose the session is: 503, the form again with the text as typed, nothing written', async () => {
    const who = await launch('canvas', '101', learners[6]!);
    const { csrf } = await formOf(who, flagged(who.userId)[0]!.id);
    stack.simulator.setFaults({ errorRate503: 1 });
    let res;
    try {
      // A session not in the cached list: the tool asks isnotai again, which is not answering.
      res = await respond(who, 'sess_not_cached_yet', { response: 'Typed during an outage.', csrf });
    } finally {
      stack.simulator.setFaults({});
    }
    expect(res.status).toBe(503);
    expect(res.html).toContain('<code>upstream_unavailable</code>');
    expect(textarea(res.html, 'name="response"')).toBe('Typed during an outage.');
    expect(hidden(res.html, 'csrf')).toBe(csrf);
    expect(await responsesIn(who.userId)).toBe(0);
  });

  test('staff posting to /me/…: 403, nothing written', async () => {
    const session = flagged(learners[7]!)[0]!;
    const res = await post(teacher, `/me/sessions/${session.id}/response`, { response: 'Staff do not write here.', csrf: 'x' });
    expect(res.status).toBe(403);
    expect(res.html).toContain('<code>forbidden</code>');
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM student_response WHERE author_lms_user_id = '20001'`.execute(
      stack.tool.store.db,
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });
});

test('hostile text in a response is shown as text, in its own direction, on the student’s page', async () => {
  const who = await launch('canvas', '101', learners[7]!);
  const session = flagged(who.userId)[0]!;
  const { csrf } = await formOf(who, session.id);
  const markup = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
  const bidi = '\u202Egnp.exe';
  const res = await respond(who, session.id, { response: `${bidi} ${markup}\n${'x'.repeat(300)}`, csrf });
  expect(res.history.map((h) => h.status)).toEqual([303, 200]);
  expect(res.html).not.toContain('<script>alert');
  expect(res.html).not.toContain('<img src=x');
  expect(res.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(2)&gt;');
  expect(res.html).toMatch(/<div class="review-text" dir="auto">\u202Egnp\.exe/);
  const isolated = unisolated(res.html, '\u202E');
  expect(isolated.shown).toBeGreaterThan(0);
  expect(isolated.problems).toEqual([]);
  // The page goes on after it.
  expect(res.html).toContain('<h2>Details</h2>');
  expect(res.html).toContain('</html>');
});

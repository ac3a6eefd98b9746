import fs from 'node:fs';
import path from 'node:path';
import { audienceFor } from '../../src/lti/roles';
import {
  defaultIdentityPattern,
  describeIdentityProblem,
  identityPatternProblem,
  isIdShaped,
  mapLaunchIdentity,
  mapMemberIdentity,
} from '../../src/lti/identity';

const FIX = path.join(__dirname, '../lms/fixtures/moodle-4.4');
const fixture = (f: string) => JSON.parse(fs.readFileSync(path.join(FIX, f), 'utf8'));
const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/';
const ROLES = 'https://purl.imsglobal.org/spec/lti/claim/roles';

describe('audienceFor', () => {
  test('real Moodle 4.4 launches: student, teacher, site admin', () => {
    expect(audienceFor(fixture('launch-student.json').id_token_payload[ROLES])).toBe('student');
    expect(audienceFor(fixture('launch-teacher.json').id_token_payload[ROLES])).toBe('instructor');
    expect(audienceFor(fixture('launch-admin.json').id_token_payload[ROLES])).toBe('admin');
  });

  test('Canvas roles', () => {
    expect(audienceFor([`${LIS}membership#Instructor`])).toBe('instructor');
    expect(audienceFor([`${LIS}membership/Instructor#TeachingAssistant`, `${LIS}membership#Instructor`])).toBe('instructor');
    expect(audienceFor([`${LIS}membership/Instructor#TeachingAssistant`])).toBe('instructor');
    expect(audienceFor([`${LIS}membership#Learner`, 'http://purl.imsglobal.org/vocab/lti/system/person#TestUser'])).toBe('student');
    expect(audienceFor([`${LIS}institution/person#Administrator`])).toBe('admin');
    expect(audienceFor([`${LIS}system/person#SysAdmin`])).toBe('admin');
  });

  test('roles the tool grants nothing to', () => {
    expect(audienceFor([`${LIS}membership#ContentDeveloper`])).toBeNull();
    expect(audienceFor([`${LIS}membership#Mentor`])).toBeNull();
    expect(audienceFor([`${LIS}system/person#User`, `${LIS}institution/person#Student`])).toBeNull();
    expect(audienceFor([])).toBeNull();
    // A course-level Administrator is not an institution admin: no tool-wide lookup.
    expect(audienceFor([`${LIS}membership#Administrator`])).toBeNull();
    expect(audienceFor(['Administrator'])).toBeNull();
    expect(audienceFor(undefined)).toBeNull();
  });

  test('short forms, as Names and Roles sends them', () => {
    expect(audienceFor(['Instructor'])).toBe('instructor');
    expect(audienceFor(['Learner'])).toBe('student');
    // A member who is also the course's teacher is not one of its learners.
    expect(audienceFor(['Instructor', 'Learner'])).toBe('instructor');
  });
});

describe('identity mapping', () => {
  test('Moodle: sub is the user id, for the launch and for roster members alike', () => {
    const p = fixture('launch-student.json').id_token_payload;
    expect(mapLaunchIdentity({ sub: p.sub }, 'sub').userId).toBe('4');
    const members = fixture('nrps-members.json').members.members;
    const sam = members.find((m: { user_id: string }) => m.user_id === '4');
    expect(mapMemberIdentity(sam, 'sub').userId).toBe('4');
    expect(mapMemberIdentity(sam, 'lis_person_sourcedid').userId).toBe('STUDENT1');
  });

  test('Canvas: the numeric id comes from the custom claim and from the member message', () => {
    expect(mapLaunchIdentity({ sub: '0b8d…uuid', custom: { canvas_user_id: '30001' } }, 'custom:canvas_user_id').userId).toBe('30001');
    expect(mapLaunchIdentity({ sub: 'x', custom: { canvas_user_id: '$Canvas.user.id' } }, 'custom:canvas_user_id').userId).toBeNull();
    const member = {
      user_id: 'uuid-1',
      message: [{ 'https://purl.imsglobal.org/spec/lti/claim/custom': { canvas_user_id: '30002' } }],
    };
    expect(mapMemberIdentity(member, 'custom:canvas_user_id').userId).toBe('30002');
    expect(
      mapMemberIdentity({ user_id: 'uuid-2', 'https://www.instructure.com/canvas_user_id': 30003 }, 'custom:canvas_user_id').userId,
    ).toBe('30003');
    expect(mapMemberIdentity({ user_id: 'uuid-3' }, 'custom:canvas_user_id').userId).toBeNull();
  });
});

describe('identity shape', () => {
  const canvas = { strategy: 'custom:canvas_user_id' as const, pattern: defaultIdentityPattern('custom:canvas_user_id', 'canvas') };
  test('Canvas ids are digits by default; Moodle sub too; other mappings have no default shape', () => {
    expect(canvas.pattern).toBe('[0-9]+');
    expect(defaultIdentityPattern('sub', 'moodle')).toBe('[0-9]+');
    expect(defaultIdentityPattern('lis_person_sourcedid', 'moodle')).toBeNull();
    expect(defaultIdentityPattern('sub', 'other')).toBeNull();
  });
  test('a value that fails the shape is reported with the mapping and the value, never used', () => {
    const r = mapLaunchIdentity({ sub: 'x', custom: { canvas_user_id: 'abc' } }, canvas);
    expect(r).toEqual({ userId: null, problem: { kind: 'malformed', value: 'abc', pattern: '[0-9]+' } });
    expect(describeIdentityProblem('custom:canvas_user_id', r.problem!)).toBe(
      'This platform maps users by “custom:canvas_user_id”, and the LMS sent “abc”, which is not an id of that mapping (digits only).',
    );
    expect(mapLaunchIdentity({ sub: 'x', custom: { canvas_user_id: '30001' } }, canvas)).toEqual({ userId: '30001', problem: null });
    // The pattern must match the whole id.
    expect(mapLaunchIdentity({ sub: 'x', custom: { canvas_user_id: '30001abc' } }, canvas).userId).toBeNull();
  });
  test('a member: the first usable value wins; otherwise the value that failed is reported', () => {
    const msg = (v: string) => ({ 'https://purl.imsglobal.org/spec/lti/claim/custom': { canvas_user_id: v } });
    expect(mapMemberIdentity({ user_id: 'u', message: [msg('abc'), msg('30002')] }, canvas)).toEqual({ userId: '30002', problem: null });
    expect(mapMemberIdentity({ user_id: 'u', message: [msg('abc')] }, canvas).problem).toEqual({
      kind: 'malformed',
      value: 'abc',
      pattern: '[0-9]+',
    });
  });
  test('admin text is id-shaped only by the platform’s pattern', () => {
    expect(isIdShaped('Silva', { strategy: 'sub', pattern: '[0-9]+' })).toBe(false);
    expect(isIdShaped('30005', { strategy: 'sub', pattern: '[0-9]+' })).toBe(true);
    expect(isIdShaped('Silva', { strategy: 'sub', pattern: null })).toBe(true);
    expect(isIdShaped('a b', { strategy: 'sub', pattern: null })).toBe(false);
  });
  test('an unusable pattern is named', () => {
    expect(identityPatternProblem('[0-9')).toMatch(/not a valid regular expression/);
    expect(identityPatternProblem('x'.repeat(201))).toMatch(/1 to 200 characters/);
    expect(identityPatternProblem('S[0-9]{6}')).toBeNull();
    // RE2 has no backreferences or lookarounds: such a pattern is refused, not run by a backtracking engine.
    expect(identityPatternProblem('(a)\\1')).toMatch(/not a valid regular expression/);
    expect(identityPatternProblem('(?=x)x')).toMatch(/not a valid regular expression/);
  });
  test('a pattern an admin types cannot freeze the process: matching is linear in the id (RE2)', () => {
    // With JavaScript's backtracking engine this pattern against 27 digits took about 4 s; against 255, for ever.
    const evil = { strategy: 'custom:student_number' as const, pattern: '(\\d+)+x' };
    const started = process.hrtime.bigint();
    const mapped = mapLaunchIdentity({ sub: 's', custom: { student_number: '1'.repeat(255) } }, evil);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(mapped.problem).toMatchObject({ kind: 'malformed' });
    expect(ms).toBeLessThan(1000);
  });
});

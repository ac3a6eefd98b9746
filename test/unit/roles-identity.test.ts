import fs from 'node:fs';
import path from 'node:path';
import { audienceFor, isLearnerMember } from '../../src/lti/roles';
import { userIdFromLaunch, userIdFromMember } from '../../src/lti/identity';

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
    expect(isLearnerMember(['Learner'])).toBe(true);
    expect(isLearnerMember(['Instructor', 'Learner'])).toBe(false);
  });
});

describe('identity mapping', () => {
  test('Moodle: sub is the user id, for the launch and for roster members alike', () => {
    const p = fixture('launch-student.json').id_token_payload;
    expect(userIdFromLaunch({ sub: p.sub }, 'sub')).toBe('4');
    const members = fixture('nrps-members.json').members.members;
    const sam = members.find((m: { user_id: string }) => m.user_id === '4');
    expect(userIdFromMember(sam, 'sub')).toBe('4');
    expect(userIdFromMember(sam, 'lis_person_sourcedid')).toBe('STUDENT1');
  });

  test('Canvas: the numeric id comes from the custom claim and from the member message', () => {
    expect(userIdFromLaunch({ sub: '0b8d…uuid', custom: { canvas_user_id: '30001' } }, 'custom:canvas_user_id')).toBe('30001');
    expect(userIdFromLaunch({ sub: 'x', custom: { canvas_user_id: '$Canvas.user.id' } }, 'custom:canvas_user_id')).toBeNull();
    const member = {
      user_id: 'uuid-1',
      message: [{ 'https://purl.imsglobal.org/spec/lti/claim/custom': { canvas_user_id: '30002' } }],
    };
    expect(userIdFromMember(member, 'custom:canvas_user_id')).toBe('30002');
    expect(userIdFromMember({ user_id: 'uuid-2', 'https://www.instructure.com/canvas_user_id': 30003 }, 'custom:canvas_user_id')).toBe('30003');
    expect(userIdFromMember({ user_id: 'uuid-3' }, 'custom:canvas_user_id')).toBeNull();
  });
});

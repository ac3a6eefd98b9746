/**
 * The demo world: two LMS platforms (one Moodle-shaped, one Canvas-shaped), their courses and
 * people. The LMS emulator serves these people (launches, Names and Roles) and the isnotai
 * simulator generates sessions for their `isnotaiUserId`, so both sides agree on who exists.
 *
 * Identity, as the real LMSs send it (docs/product.md "Identity"):
 * - Moodle: `sub` is the numeric Moodle user id; the isnotai userId is that same id.
 * - Canvas: `sub` is an opaque UUID (the user's lti_id); the numeric Canvas user id arrives only
 *   in a custom claim (`canvas_user_id` = `$Canvas.user.id`), and the isnotai userId is that id.
 *
 * The first Moodle people are exactly the ones in test/lms/fixtures/moodle-4.4 (ids 2..10).
 */
import { hashSeed, pick, seededRng } from './random';

export type PlatformKind = 'moodle' | 'canvas';
export type CourseRole = 'learner' | 'instructor' | 'ta' | 'designer' | 'observer' | 'teststudent';
export type InstitutionRole = 'admin' | 'sysadmin' | null;

export interface Person {
  /** The LMS's numeric user id; this is the isnotai `userId`. */
  lmsUserId: string;
  /** The LTI `sub` claim (Moodle: lmsUserId; Canvas: an opaque UUID). */
  sub: string;
  name: string;
  givenName: string;
  familyName: string;
  email: string;
  username: string;
  /** lis person_sourcedid (Moodle idnumber / Canvas SIS id). */
  sourcedId: string;
  institutionRole: InstitutionRole;
}

export interface Membership {
  person: Person;
  role: CourseRole;
  /** Names and Roles `status`: a suspended or concluded enrolment is Inactive (default Active). */
  status?: 'Active' | 'Inactive';
}

export interface Course {
  id: string;
  label: string;
  title: string;
  members: Membership[];
}

export interface DemoPlatform {
  kind: PlatformKind;
  key: string;
  name: string;
  courses: Course[];
  /** Site admins: not enrolled in any course, may launch from any course. */
  admins: Person[];
  people: Person[];
}

export interface DemoWorld {
  platforms: DemoPlatform[];
}

const GIVEN = [
  'Ada',
  'Ben',
  'Chloé',
  'Dev',
  'Eun-ji',
  'Farah',
  'Gus',
  'Hana',
  'Ivan',
  'Jia',
  'Kofi',
  'Lena',
  'Mateo',
  'Nia',
  'Omar',
  'Priya',
  'Quinn',
  'Rosa',
  'Sven',
  'Tariq',
  'Uma',
  'Viktor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoë',
  'Aroha',
  'Bjørn',
  'Carmen',
  'Dmitri',
];
const FAMILY = [
  'Adeyemi',
  'Brown',
  'Castillo',
  'Dubois',
  'Eriksen',
  'Fujita',
  'García',
  'Haddad',
  'Ibrahim',
  'Jensen',
  'Kowalski',
  'Lopez',
  'Müller',
  'Nguyen',
  'Okafor',
  'Park',
  'Quispe',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Usman',
  'Varga',
  'Wang',
  'Xu',
  'Yilmaz',
  'Zhang',
  "O'Neill",
  'Ó Briain',
  'Smith',
  'Kim',
];

function uuidFrom(seed: string): string {
  const rng = seededRng(hashSeed(seed));
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function makePerson(kind: PlatformKind, lmsUserId: string, rngSeed: string, fixed?: Partial<Person>): Person {
  const rng = seededRng(hashSeed(rngSeed));
  const givenName = fixed?.givenName ?? pick(rng, GIVEN);
  const familyName = fixed?.familyName ?? pick(rng, FAMILY);
  const username =
    fixed?.username ??
    `${givenName}.${familyName}.${lmsUserId}`
      .toLowerCase()
      .normalize('NFD')
      .replace(/[^a-z0-9.]/g, '');
  return {
    lmsUserId,
    sub: kind === 'moodle' ? lmsUserId : uuidFrom(`canvas-sub-${lmsUserId}`),
    name: fixed?.name ?? `${givenName} ${familyName}`,
    givenName,
    familyName,
    email: fixed?.email ?? `${username}@example.edu`,
    username,
    sourcedId: fixed?.sourcedId ?? `SIS${lmsUserId.padStart(6, '0')}`,
    institutionRole: fixed?.institutionRole ?? null,
  };
}

/** The people of test/lms/fixtures/moodle-4.4, as that Moodle sent them. */
const MOODLE_FIXTURE_PEOPLE: Array<Partial<Person> & { lmsUserId: string; role: CourseRole | 'admin' }> = [
  {
    lmsUserId: '2',
    givenName: 'Admin',
    familyName: 'User',
    name: 'Admin User',
    email: 'admin@example.edu',
    username: 'admin',
    sourcedId: '',
    role: 'admin',
  },
  {
    lmsUserId: '3',
    givenName: 'Tina',
    familyName: 'Teacher',
    name: 'Tina Teacher',
    email: 'teacher1@example.edu',
    username: 'teacher1',
    sourcedId: 'TEACHER1',
    role: 'instructor',
  },
  {
    lmsUserId: '4',
    givenName: 'Sam',
    familyName: 'Student',
    name: 'Sam Student',
    email: 'student1@example.edu',
    username: 'student1',
    sourcedId: 'STUDENT1',
    role: 'learner',
  },
  {
    lmsUserId: '5',
    givenName: 'Sara',
    familyName: 'Smith',
    name: 'Sara Smith',
    email: 'student2@example.edu',
    username: 'student2',
    sourcedId: 'STUDENT2',
    role: 'learner',
  },
  {
    lmsUserId: '6',
    givenName: 'Steve',
    familyName: 'Stone',
    name: 'Steve Stone',
    email: 'student3@example.edu',
    username: 'student3',
    sourcedId: 'STUDENT3',
    role: 'learner',
  },
  {
    lmsUserId: '7',
    givenName: 'Stella',
    familyName: 'Snow',
    name: 'Stella Snow',
    email: 'student4@example.edu',
    username: 'student4',
    sourcedId: 'STUDENT4',
    role: 'learner',
  },
  {
    lmsUserId: '8',
    givenName: 'Simon',
    familyName: 'Shaw',
    name: 'Simon Shaw',
    email: 'student5@example.edu',
    username: 'student5',
    sourcedId: 'STUDENT5',
    role: 'learner',
  },
  {
    lmsUserId: '9',
    givenName: 'Sofia',
    familyName: 'Silva',
    name: 'Sofia Silva',
    email: 'student6@example.edu',
    username: 'student6',
    sourcedId: 'STUDENT6',
    role: 'learner',
  },
  {
    lmsUserId: '10',
    givenName: 'Stan',
    familyName: 'Sutter',
    name: 'Stan Sutter',
    email: 'student7@example.edu',
    username: 'student7',
    sourcedId: 'STUDENT7',
    role: 'learner',
  },
];

export interface WorldOptions {
  /** Extra learners in the Moodle course LTI101 beyond the fixture's seven (default 143). */
  moodleExtraLearners?: number;
  /** Learners in the Moodle course HIST210 (default 110; 20 of them also in LTI101). */
  moodleSecondCourseLearners?: number;
  /** Learners in the Canvas course BIO 101 (default 160). */
  canvasLearners?: number;
  /** If set, adds a Canvas course "BIG 1000" with this many learners (benchmarks). */
  bigCourseLearners?: number;
}

export function buildWorld(options: WorldOptions = {}): DemoWorld {
  const moodleExtra = options.moodleExtraLearners ?? 143;
  const moodleSecond = options.moodleSecondCourseLearners ?? 110;
  const canvasLearners = options.canvasLearners ?? 160;

  // Moodle ---------------------------------------------------------------------------------
  const moodlePeople: Person[] = [];
  const moodleAdmins: Person[] = [];
  const lti101: Course = { id: '2', label: 'LTI101', title: 'LTI Harness Course', members: [] };
  const hist210: Course = { id: '3', label: 'HIST210', title: 'Modern History', members: [] };
  for (const f of MOODLE_FIXTURE_PEOPLE) {
    const { role, ...fixed } = f;
    const p = makePerson('moodle', f.lmsUserId, `moodle-${f.lmsUserId}`, { ...fixed, institutionRole: role === 'admin' ? 'admin' : null });
    moodlePeople.push(p);
    if (role === 'admin') moodleAdmins.push(p);
    else lti101.members.push({ person: p, role });
  }
  let nextMoodleId = 11;
  for (let i = 0; i < moodleExtra; i++) {
    const p = makePerson('moodle', String(nextMoodleId++), `moodle-${nextMoodleId}`);
    moodlePeople.push(p);
    lti101.members.push({ person: p, role: 'learner' });
  }
  // The last generated learner's enrolment is suspended (Moodle reports it as Inactive); the
  // fixture's people stay exactly as captured.
  if (moodleExtra > 0) lti101.members[lti101.members.length - 1]!.status = 'Inactive';
  const histTeacher = makePerson('moodle', String(nextMoodleId++), 'moodle-hist-teacher');
  moodlePeople.push(histTeacher);
  hist210.members.push({ person: histTeacher, role: 'instructor' });
  // 20 learners of LTI101 also take HIST210: an instructor of one course must still not see the
  // other course's learners who are not shared.
  for (const m of lti101.members.filter((x) => x.role === 'learner').slice(10, 30))
    hist210.members.push({ person: m.person, role: 'learner' });
  for (let i = 0; i < moodleSecond - 20; i++) {
    const p = makePerson('moodle', String(nextMoodleId++), `moodle-h-${nextMoodleId}`);
    moodlePeople.push(p);
    hist210.members.push({ person: p, role: 'learner' });
  }

  // Canvas ---------------------------------------------------------------------------------
  const canvasPeople: Person[] = [];
  const canvasAdmin = makePerson('canvas', '1', 'canvas-admin', {
    givenName: 'Avery',
    familyName: 'Admin',
    name: 'Avery Admin',
    institutionRole: 'admin',
    username: 'avery.admin',
  });
  canvasPeople.push(canvasAdmin);
  const bio101: Course = { id: '101', label: 'BIO 101', title: 'Introduction to Biology', members: [] };
  const teacher = makePerson('canvas', '20001', 'canvas-teacher', { givenName: 'Theo', familyName: 'Lindqvist' });
  const ta = makePerson('canvas', '20002', 'canvas-ta', { givenName: 'Tamsin', familyName: 'Achebe' });
  const designer = makePerson('canvas', '20003', 'canvas-designer', { givenName: 'Dana', familyName: 'Designer' });
  const observer = makePerson('canvas', '20004', 'canvas-observer', { givenName: 'Olu', familyName: 'Observer' });
  const testStudent = makePerson('canvas', '20005', 'canvas-test-student', {
    givenName: 'Test',
    familyName: 'Student',
    name: 'Test Student',
  });
  canvasPeople.push(teacher, ta, designer, observer, testStudent);
  bio101.members.push(
    { person: teacher, role: 'instructor' },
    { person: ta, role: 'ta' },
    { person: designer, role: 'designer' },
    { person: observer, role: 'observer' },
    { person: testStudent, role: 'teststudent' },
  );
  for (let i = 0; i < canvasLearners; i++) {
    const id = String(30001 + i);
    const p = makePerson('canvas', id, `canvas-${id}`);
    canvasPeople.push(p);
    bio101.members.push({ person: p, role: 'learner' });
  }
  // The last learner's enrolment is concluded, as Canvas reports it.
  if (canvasLearners > 0) bio101.members[bio101.members.length - 1]!.status = 'Inactive';
  const canvasCourses = [bio101];
  if (options.bigCourseLearners) {
    const big: Course = { id: '900', label: 'BIG 1000', title: 'Large Lecture', members: [{ person: teacher, role: 'instructor' }] };
    for (let i = 0; i < options.bigCourseLearners; i++) {
      const id = String(500001 + i);
      const p = makePerson('canvas', id, `canvas-big-${id}`);
      canvasPeople.push(p);
      big.members.push({ person: p, role: 'learner' });
    }
    canvasCourses.push(big);
  }

  return {
    platforms: [
      { kind: 'moodle', key: 'moodle', name: 'Demo Moodle 4.4', courses: [lti101, hist210], admins: moodleAdmins, people: moodlePeople },
      { kind: 'canvas', key: 'canvas', name: 'Demo Canvas', courses: canvasCourses, admins: [canvasAdmin], people: canvasPeople },
    ],
  };
}

/** Every isnotai userId in the world, once per platform (the simulator seeds sessions for these). */
export function allUserIds(world: DemoWorld): Array<{ platform: PlatformKind; userId: string; name: string; email: string }> {
  const out: Array<{ platform: PlatformKind; userId: string; name: string; email: string }> = [];
  for (const p of world.platforms)
    for (const person of p.people) out.push({ platform: p.kind, userId: person.lmsUserId, name: person.name, email: person.email });
  return out;
}

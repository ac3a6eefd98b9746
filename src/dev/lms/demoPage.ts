/**
 * The demo LMS page: both platforms, their courses and people, and a "Launch as …" button per
 * person that opens the tool in an iframe on this page (as Canvas and Moodle embed tools), plus
 * a new-window link. Large courses show their first people and the rest behind a <details>.
 *
 * The page also holds a hidden frame that answers the 1EdTech LTI Client Side postMessages
 * (lti.capabilities, lti.put_data, lti.get_data) from the embedded tool, as Canvas's
 * `post_message_forwarding` frame does (`lti_storage_target=post_message_forwarding`), so a tool
 * can keep its OIDC state without third-party cookies.
 */
import type { CourseRole, DemoPlatform, DemoWorld, Membership, Person } from '../people';
import { BASE_CSS, escapeHtml } from './html';

const VISIBLE_PEOPLE = 10;

const ROLE_LABEL: Record<CourseRole, string> = {
  learner: 'Student',
  instructor: 'Teacher',
  ta: 'Teaching assistant',
  designer: 'Designer',
  observer: 'Observer',
  teststudent: 'Test student',
};

const PAGE_CSS = `
  header { background: #23395d; color: #fff; padding: .75rem 1.5rem; }
  header h1 { margin: 0; font-size: 1.35rem; }
  header p { margin: .25rem 0 0; }
  .layout { display: grid; grid-template-columns: minmax(24rem, 38rem) 1fr; gap: 1.5rem; align-items: start; }
  .frame { position: sticky; top: 1rem; }
  .frame iframe { width: 100%; height: calc(100vh - 6rem); border: 1px solid #8a94a6; border-radius: 6px; background: #fff; }
  section.platform { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; padding: .25rem 1rem 1rem; margin-bottom: 1.25rem; }
  table { border-collapse: collapse; width: 100%; margin: .25rem 0 .5rem; }
  caption { text-align: left; font-weight: 600; padding: .25rem 0; }
  th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid #e3e6eb; vertical-align: middle; }
  th[scope=col] { background: #eef0f3; }
  form { display: inline; margin: 0; }
  button { font: inherit; padding: .2rem .6rem; border: 1px solid #23395d; border-radius: 4px; background: #fff; color: #23395d; cursor: pointer; }
  button:hover, button:focus-visible { background: #23395d; color: #fff; }
  a { color: #1f4e9c; }
  :focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
  .muted { color: #4a5565; font-size: .9rem; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  details summary { cursor: pointer; color: #1f4e9c; margin: .25rem 0; }
  @media (max-width: 60rem) { .layout { grid-template-columns: 1fr; } .frame { position: static; } }
`;

const FRAME_NAME = 'lms-tool-frame';

function launchControls(kind: string, courseId: string, person: Person): string {
  const q = new URLSearchParams({ course: courseId, user: person.lmsUserId, target: 'window' });
  return `<form method="get" action="/${kind}/launch" target="${FRAME_NAME}">
        <input type="hidden" name="course" value="${escapeHtml(courseId)}">
        <input type="hidden" name="user" value="${escapeHtml(person.lmsUserId)}">
        <input type="hidden" name="target" value="iframe">
        <button type="submit">Launch as ${escapeHtml(person.name)}</button>
      </form>
      <a href="/${kind}/launch?${escapeHtml(q.toString())}" target="_blank" rel="noopener">new window<span class="visually-hidden"> as ${escapeHtml(person.name)}</span></a>`;
}

function peopleTable(kind: string, courseId: string, caption: string, members: Membership[]): string {
  const rows = members
    .map(
      (m) => `<tr>
      <th scope="row">${escapeHtml(m.person.name)} <span class="muted">(id ${escapeHtml(m.person.lmsUserId)})</span></th>
      <td>${ROLE_LABEL[m.role]}</td>
      <td>${launchControls(kind, courseId, m.person)}</td>
    </tr>`,
    )
    .join('\n    ');
  return `<table>
    <caption>${escapeHtml(caption)}</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Open the tool</th></tr></thead>
    <tbody>
    ${rows}
    </tbody>
  </table>`;
}

function platformSection(platform: DemoPlatform): string {
  const kind = platform.kind;
  const courses = platform.courses
    .map((course) => {
      // Staff first, so the people an instructor demo needs are always visible.
      const ordered = [...course.members].sort((a, b) => Number(a.role === 'learner') - Number(b.role === 'learner'));
      const first = ordered.slice(0, VISIBLE_PEOPLE);
      const rest = ordered.slice(VISIBLE_PEOPLE);
      const heading = `${course.label}: ${course.title}`;
      return `<h3 id="${kind}-course-${escapeHtml(course.id)}">${escapeHtml(heading)} <span class="muted">(${course.members.length} people)</span></h3>
  ${peopleTable(kind, course.id, `People in ${heading}`, first)}
  ${
    rest.length > 0
      ? `<details>
    <summary>Show all ${course.members.length} people in ${escapeHtml(course.label)}</summary>
    ${peopleTable(kind, course.id, `More people in ${heading}`, rest)}
  </details>`
      : ''
  }`;
    })
    .join('\n');
  const admins = platform.admins
    .map((admin) => {
      const rows = platform.courses
        .map(
          (course) => `<tr>
      <th scope="row">${escapeHtml(course.label)}: ${escapeHtml(course.title)}</th>
      <td>${launchControls(kind, course.id, admin)}</td>
    </tr>`,
        )
        .join('\n    ');
      return `<table>
    <caption>${escapeHtml(admin.name)} (site administrator, id ${escapeHtml(admin.lmsUserId)}), not enrolled</caption>
    <thead><tr><th scope="col">Launch from course</th><th scope="col">Open the tool</th></tr></thead>
    <tbody>
    ${rows}
    </tbody>
  </table>`;
    })
    .join('\n');
  return `<section class="platform" aria-labelledby="platform-${kind}">
  <h2 id="platform-${kind}">${escapeHtml(platform.name)} <span class="muted">(${kind === 'moodle' ? 'Moodle-shaped' : 'Canvas-shaped'})</span></h2>
  ${admins ? `<h3>Site administrators</h3>\n  ${admins}` : ''}
  ${courses}
</section>`;
}

/** The frame name Canvas gives its platform storage frame (`lti_storage_target`). */
export const STORAGE_FRAME_NAME = 'post_message_forwarding';

/**
 * Answers LTI Client Side postMessages (platform storage) from a tool framed on the page, as
 * Canvas's hidden `post_message_forwarding` frame does: values are kept per tool origin, and each
 * answer goes back to the asking window, at its origin.
 */
const PLATFORM_STORAGE_SCRIPT = `
(function () {
  var stores = {};
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (typeof data === 'string') { try { data = JSON.parse(data); } catch (e) { return; } }
    if (!data || typeof data.subject !== 'string' || !event.source || event.origin === 'null') return;
    var store = stores[event.origin] || (stores[event.origin] = {});
    var reply = { subject: data.subject + '.response', message_id: data.message_id };
    if (data.subject === 'lti.capabilities') {
      reply.supported_messages = [{ subject: 'lti.capabilities' }, { subject: 'lti.put_data' }, { subject: 'lti.get_data' }];
    } else if (data.subject === 'lti.put_data') {
      if (data.value === undefined || data.value === null) delete store[data.key]; else store[data.key] = String(data.value);
      reply.key = data.key; reply.value = data.value;
    } else if (data.subject === 'lti.get_data') {
      reply.key = data.key; reply.value = Object.prototype.hasOwnProperty.call(store, data.key) ? store[data.key] : null;
    } else {
      reply.error = { code: 'unsupported_subject', message: 'Unsupported subject ' + data.subject };
    }
    event.source.postMessage(reply, event.origin);
  });
})();`;

/** The storage frame's own page (served by the emulator at /platform-storage). */
export function renderStorageFrame(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Platform storage</title></head>
<body><script>${PLATFORM_STORAGE_SCRIPT}</script></body></html>`;
}

export function renderDemoPage(world: DemoWorld, base: string, toolUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo LMS: launch the isnotai tool</title>
<style>${BASE_CSS}${PAGE_CSS}</style>
</head>
<body>
<header>
  <h1>Demo LMS</h1>
  <p>Pick a person and launch the tool as them. It opens in the frame on this page, as an LMS embeds it.</p>
</header>
<main>
  <p class="muted">LMS emulator at <code>${escapeHtml(base)}</code>; tool at <code>${escapeHtml(toolUrl)}</code>.</p>
  <div class="layout">
    <div>
      ${world.platforms.map(platformSection).join('\n')}
    </div>
    <div class="frame">
      <h2 id="frame-heading">Tool</h2>
      <iframe name="${FRAME_NAME}" title="isnotai tool, launched from the demo LMS" aria-labelledby="frame-heading" src="about:blank" allow="clipboard-write"></iframe>
    </div>
  </div>
</main>
<iframe name="${STORAGE_FRAME_NAME}" src="/platform-storage" title="LMS platform storage" hidden></iframe>
</body>
</html>`;
}

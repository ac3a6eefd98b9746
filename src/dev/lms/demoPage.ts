/**
 * The demo LMS page: both platforms, their courses and people, and a "Launch as …" button per
 * person that opens the tool in an iframe on this page (as Canvas and Moodle embed tools), plus
 * a new-window link. Large courses show their first people and the rest behind a <details>.
 *
 * The page also holds a hidden frame that answers the 1EdTech LTI Client Side postMessages
 * (lti.capabilities, lti.put_data, lti.get_data) from the embedded tool, as Canvas's
 * `post_message_forwarding` frame does (`lti_storage_target=post_message_forwarding`), so a tool
 * can keep its OIDC state without third-party cookies.
 *
 * Two sections act as the Moodle platform's administrator and teachers do with a dynamically
 * registered tool (Moodle 4.4's Manage tools page and "Select content"):
 * - "Register the tool": a Tool URL field (prefilled with the tool's /register) and "Add LTI
 *   Advantage", which opens startltiadvregistration.php in an iframe on the page, as Moodle does;
 *   the page's script (/assets/demo-lms.js, no inline script) removes the iframe when the tool posts
 *   `{subject: "org.imsglobal.lti.close"}` and reloads the tool types, each with its state and an
 *   Activate (or Deactivate) button.
 * - "Add to an activity": per course, a teacher picks an active tool type and presses "Select
 *   content", which opens contentitem.php in the tool frame; after the tool's deep linking return
 *   the activities made are listed with a launch link per member of the course.
 * These hold no <form>: the buttons work through the script.
 */
import type { CourseRole, DemoPlatform, DemoWorld, Membership, Person } from '../people';
import { activityLaunchLinks, type LtiActivity } from './deepLinking';
import { BASE_CSS, escapeHtml } from './html';
import { TOOL_STATE_TEXT, type ToolType } from './registration';

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
  .field { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }
  .field input, .field select { font: inherit; padding: .2rem .4rem; border: 1px solid #6b7687; border-radius: 4px; }
  .field input[type=url] { min-width: 20rem; flex: 1; }
  #registration iframe { display: block; width: 100%; height: 22rem; border: 1px solid #8a94a6; border-radius: 6px; background: #fff; margin-top: .5rem; }
  .tool-types { list-style: none; padding: 0; margin: .25rem 0; }
  .tool-card { border: 1px solid #d5d9e0; border-radius: 6px; padding: .5rem .75rem; margin-bottom: .5rem; }
  .tool-card dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; margin: .35rem 0; }
  .tool-card dt { font-weight: 600; } .tool-card dd { margin: 0; }
  .badge { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: .85rem; border: 1px solid currentColor; }
  .badge.pending { color: #7a4d00; } .badge.active { color: #1d6b2f; } .badge.rejected { color: #a4262c; }
  .launch-links { margin: .25rem 0 .5rem; padding-left: 1.25rem; }
  .activity-card { border-left: 3px solid #23395d; padding-left: .75rem; margin: .5rem 0 1rem; }
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

/** The tool types, as Moodle's Manage tools cards: name, state, ids, and Activate or Deactivate. */
export function renderToolTypesFragment(types: ToolType[]): string {
  if (types.length === 0) return '<p class="muted">No tool registered yet.</p>';
  const cards = types
    .map((t) => {
      const action = t.state === 'active' ? 'deactivate' : 'activate';
      const label = t.state === 'active' ? 'Deactivate' : 'Activate';
      return `<li class="tool-card" data-type-id="${escapeHtml(t.id)}" data-state="${t.state}">
      <strong>${escapeHtml(t.name)}</strong> <span class="badge ${t.state}">${TOOL_STATE_TEXT[t.state]}</span>
      ${t.description ? `<p>${escapeHtml(t.description)}</p>` : ''}
      <dl>
        <dt>Type id (deployment id)</dt><dd>${escapeHtml(t.id)}</dd>
        <dt>Client id</dt><dd><code>${escapeHtml(t.clientId)}</code></dd>
        <dt>Tool URL</dt><dd><code>${escapeHtml(t.toolUrl)}</code></dd>
        <dt>Deep linking</dt><dd>${t.contentItem ? 'yes' : 'no'}</dd>
      </dl>
      <button type="button" data-action="${action}" data-type-id="${escapeHtml(t.id)}">${label}<span class="visually-hidden"> ${escapeHtml(t.name)}</span></button>
    </li>`;
    })
    .join('\n    ');
  return `<ul class="tool-types">
    ${cards}
  </ul>`;
}

/** Teachers of a course who may add activities (Moodle's editing teachers), then the site admins. */
function contentSelectors(platform: DemoPlatform, members: Membership[]): Person[] {
  const teachers = members.filter((m) => m.role === 'instructor' || m.role === 'designer').map((m) => m.person);
  return [...teachers, ...platform.admins.filter((a) => !teachers.some((t) => t.lmsUserId === a.lmsUserId))];
}

/** Per Moodle course: "Select content" with an active tool type, and the activities deep linking made. */
export function renderActivitiesFragment(platform: DemoPlatform, types: ToolType[], activities: LtiActivity[]): string {
  const usable = types.filter((t) => t.state === 'active' && t.contentItem);
  return platform.courses
    .map((course) => {
      const heading = `${course.label}: ${course.title}`;
      const id = escapeHtml(course.id);
      const controls =
        usable.length === 0
          ? '<p class="muted">No active tool offers content selection yet: register one and activate it above.</p>'
          : `<div class="field">
      <label for="dl-type-${id}">Tool</label>
      <select id="dl-type-${id}">${usable.map((t) => `<option value="${escapeHtml(t.id)}">${escapeHtml(t.name)} (type ${escapeHtml(t.id)})</option>`).join('')}</select>
      <label for="dl-user-${id}">Teacher</label>
      <select id="dl-user-${id}">${contentSelectors(platform, course.members)
        .map((p) => `<option value="${escapeHtml(p.lmsUserId)}">${escapeHtml(p.name)}</option>`)
        .join('')}</select>
      <button type="button" data-action="select-content" data-course="${id}">Select content<span class="visually-hidden"> for ${escapeHtml(course.label)}</span></button>
    </div>`;
      const made = activities.filter((a) => a.courseId === course.id);
      const list =
        made.length === 0
          ? '<p class="muted">No activity added by deep linking yet.</p>'
          : made
              .map((a) => {
                const type = types.find((t) => t.id === a.typeId);
                return `<div class="activity-card" data-cmid="${escapeHtml(a.cmid)}">
      <h4>${escapeHtml(a.name)} <span class="muted">(cmid ${escapeHtml(a.cmid)}, ${escapeHtml(type?.name ?? `type ${a.typeId}`)})</span></h4>
      ${a.customParameters ? `<p class="muted">Custom parameters: <code>${escapeHtml(a.customParameters.replace(/\r\n/g, '; '))}</code></p>` : ''}
      ${activityLaunchLinks(a, course, FRAME_NAME)}
    </div>`;
              })
              .join('\n    ');
      return `<h3 id="activities-course-${id}">${escapeHtml(heading)}</h3>
    ${controls}
    ${list}`;
    })
    .join('\n  ');
}

function moodleToolSections(platform: DemoPlatform, toolUrl: string, types: ToolType[], activities: LtiActivity[]): string {
  return `<section class="platform" aria-labelledby="register-heading">
  <h2 id="register-heading">Register the tool <span class="muted">(${escapeHtml(platform.name)}: Manage tools)</span></h2>
  <p>As a Moodle administrator does: paste the tool's registration URL and press “Add LTI Advantage”. The tool registers itself in a frame here, then Moodle lists it as Pending until you activate it.</p>
  <div class="field">
    <label for="tool-url">Tool URL</label>
    <input id="tool-url" type="url" value="${escapeHtml(`${toolUrl}/register`)}" placeholder="Tool URL..." autocomplete="url">
    <button type="button" id="register-tool">Add LTI Advantage</button>
  </div>
  <p id="register-status" class="muted" role="status"></p>
  <div id="registration" hidden>
    <button type="button" id="registration-cancel">Cancel</button>
  </div>
  <h3 id="tool-types-heading">Tool types</h3>
  <div id="tool-types">${renderToolTypesFragment(types)}</div>
</section>
<section class="platform" aria-labelledby="activities-heading">
  <h2 id="activities-heading">Add to an activity <span class="muted">(${escapeHtml(platform.name)}: deep linking)</span></h2>
  <p>As a teacher adding the tool to a course: pick the tool and press “Select content”. The tool's content selection opens in the tool frame; what it returns becomes an activity, listed here with a launch link per member.</p>
  <div id="activities">${renderActivitiesFragment(platform, types, activities)}</div>
</section>`;
}

export function renderDemoPage(
  world: DemoWorld,
  base: string,
  toolUrl: string,
  moodleTools: { toolTypes: ToolType[]; activities: LtiActivity[] } = { toolTypes: [], activities: [] },
): string {
  const moodle = world.platforms.find((p) => p.kind === 'moodle');
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
<main aria-label="Demo LMS: courses, people and tools">
  <p class="muted">LMS emulator at <code>${escapeHtml(base)}</code>; tool at <code>${escapeHtml(toolUrl)}</code>.</p>
  <div class="layout">
    <div>
      ${moodle ? moodleToolSections(moodle, toolUrl, moodleTools.toolTypes, moodleTools.activities) : ''}
      ${world.platforms.map(platformSection).join('\n')}
    </div>
    <div class="frame">
      <h2 id="frame-heading">Tool</h2>
      <iframe name="${FRAME_NAME}" title="isnotai tool, launched from the demo LMS" aria-labelledby="frame-heading" src="about:blank" allow="clipboard-write"></iframe>
    </div>
  </div>
</main>
<iframe name="${STORAGE_FRAME_NAME}" src="/platform-storage" title="LMS platform storage" hidden></iframe>
<script src="/assets/demo-lms.js"></script>
</body>
</html>`;
}

/**
 * The demo page's script (served at /assets/demo-lms.js): the registration iframe and Moodle's
 * close-message handling, the Activate buttons, and "Select content".
 */
export const DEMO_SCRIPT = `(function () {
  'use strict';
  function byId(id) { return document.getElementById(id); }
  function say(text) { var s = byId('register-status'); if (s) s.textContent = text; }
  function refresh(id, path) {
    return fetch(path, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.text(); })
      .then(function (html) { var el = byId(id); if (el) el.innerHTML = html; });
  }
  function refreshAll() {
    return Promise.all([refresh('tool-types', '/demo/fragments/tool-types'), refresh('activities', '/demo/fragments/activities')]);
  }
  function closeRegistration() {
    var frame = byId('registration-frame');
    if (frame) frame.parentNode.removeChild(frame);
    var holder = byId('registration');
    if (holder) holder.hidden = true;
  }

  var register = byId('register-tool');
  if (register) register.addEventListener('click', function () {
    var input = byId('tool-url');
    var url = input.value.trim();
    if (!/^https?:\\/\\//.test(url)) { say('Type the tool URL (http or https) first.'); input.focus(); return; }
    closeRegistration();
    var holder = byId('registration');
    var frame = document.createElement('iframe');
    frame.id = 'registration-frame';
    frame.name = 'registration-frame';
    frame.title = 'Tool registration';
    frame.src = '/moodle/mod/lti/startltiadvregistration.php?url=' + encodeURIComponent(url);
    holder.appendChild(frame);
    holder.hidden = false;
    say('Registering the tool: it answers in the frame below.');
  });
  var cancel = byId('registration-cancel');
  if (cancel) cancel.addEventListener('click', function () { closeRegistration(); say('Registration closed.'); refreshAll(); });

  // As Moodle's Manage tools page: the tool posts this to window.parent (from its own origin).
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (typeof data === 'string') { try { data = JSON.parse(data); } catch (e) { return; } }
    if (!data || typeof data.subject !== 'string') return;
    if (data.subject === 'org.imsglobal.lti.close') {
      if (!byId('registration-frame')) return;
      closeRegistration();
      say('The tool finished its registration. It is listed below; activate it to use it.');
      refreshAll();
    } else if (data.subject === 'lms.content_items_added' && event.origin === window.location.origin) {
      refresh('activities', '/demo/fragments/activities');
    }
  });

  document.addEventListener('click', function (event) {
    var button = event.target && event.target.closest ? event.target.closest('button[data-action]') : null;
    if (!button) return;
    var action = button.getAttribute('data-action');
    if (action === 'activate' || action === 'deactivate') {
      button.disabled = true;
      var body = new URLSearchParams({ action: action, id: button.getAttribute('data-type-id') });
      fetch('/moodle/mod/lti/toolconfigure.php', { method: 'POST', body: body, credentials: 'same-origin' })
        .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
        .then(function (type) { say(type.name + ' is now ' + type.state.text + '.'); return refreshAll(); })
        .catch(function (e) { say('Could not change the tool: ' + e.message); button.disabled = false; });
    } else if (action === 'select-content') {
      var course = button.getAttribute('data-course');
      var url = '/moodle/mod/lti/contentitem.php?' + new URLSearchParams({
        course: course, id: byId('dl-type-' + course).value, user: byId('dl-user-' + course).value
      }).toString();
      var frame = document.querySelector('iframe[name="${FRAME_NAME}"]');
      if (frame) { frame.src = url; frame.scrollIntoView({ block: 'nearest' }); } else { window.open(url, '_blank'); }
    }
  });
})();
`;

/** The top navigation of every page: the pages each audience may open, each link carrying the ltik. */
import type { Actor } from './actor';
import { hrefWithLtik } from './actor';

/** The top navigation for each audience. */
export function navFor(actor: Actor, current: string): Array<{ label: string; href: string; current: boolean }> {
  const items: Array<[string, string, string]> =
    actor.audience === 'student'
      ? [['me', 'My sessions', '/me']]
      : actor.audience === 'instructor'
        ? [['roster', 'Course roster', '/course']]
        : [
            ['roster', 'Course roster', '/course'],
            ['lookup', 'Find a student', '/admin/lookup'],
            ['sessions', 'All sessions', '/admin/sessions'],
            ['audit', 'Audit log', '/admin/audit'],
            ['registrations', 'Registrations', '/admin/registrations'],
            // The launch's own registration (src/web/registrations.ts).
            ['settings', 'Settings', `/admin/registrations/${encodeURIComponent(actor.platform.id)}`],
          ];
  return items.map(([key, label, path]) => ({ label, href: hrefWithLtik(path, actor.ltik), current: key === current }));
}

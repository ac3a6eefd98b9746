/**
 * Review records seeded through the real store (src/store/review.ts) on a test stack's own database, each write with the
 * audit row the review routes would write with it (docs/product.md "Writes"): what a test needs in place before it
 * reads the pages, without going through the forms those tests are not about.
 */
import type { Stack } from '../../src/dev/stack';
import { createReviewStore, type ReviewAuthor, type ReviewKey, type ReviewStore, type ReviewWrite } from '../../src/store';

/** One write: a status, a note, both, or a session's mark. */
export type ReviewChange = Pick<ReviewWrite, 'status' | 'note' | 'mark'>;

export interface ReviewSeeder {
  store: ReviewStore;
  /** The record key of `userId` in the seeder's course. */
  keyOf(userId: string): ReviewKey;
  /** Writes one change at the record's current version, with its audit row; answers the record's new version. */
  write(userId: string, author: ReviewAuthor, change: ReviewChange): Promise<number>;
}

/** The audit action the review routes write for a change (src/web/review.ts). */
function actionOf(change: ReviewChange): string {
  if (change.mark) return 'review.session_mark';
  if (change.status && change.note) return 'review.status_and_note';
  return change.status ? 'review.status' : 'review.note';
}

/** Writes the review records of one course of the stack's emulated LMS. */
export function reviewSeeder(stack: Pick<Stack, 'lms' | 'tool'>, platform: 'moodle' | 'canvas', contextId: string): ReviewSeeder {
  const store = createReviewStore(stack.tool.store.db);
  const p = stack.lms.platforms[platform];
  const keyOf = (userId: string): ReviewKey => ({
    platformIss: p.issuer,
    platformClientId: p.clientId,
    deploymentId: p.deploymentId,
    contextId,
    userId,
  });
  return {
    store,
    keyOf,
    async write(userId, author, change) {
      const key = keyOf(userId);
      const { version } = await store.read(key);
      const result = await store.write({
        key,
        author,
        expectedVersion: version,
        ...change,
        audit: {
          platformIss: p.issuer,
          platformClientId: p.clientId,
          actorUserId: author.lmsUserId,
          actorRole: author.audience,
          subjectUserId: userId,
          action: actionOf(change),
          contextId,
        },
      });
      if (result.outcome !== 'written') throw new Error(`seeding a review of ${userId}: ${result.outcome}`);
      return result.version;
    },
  };
}

const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

/**
 * Where `needle` (plain text, nothing Handlebars escapes) is shown in the page's content (its `<main>`, the breadcrumb
 * left out) outside any `<bdi>` or element with a `dir`: a name or note shown there could have its direction spill into
 * the text around it (docs/product.md "Writes"). Answers how often it is shown, and a line for each place not isolated.
 */
export function unisolated(html: string, needle: string): { shown: number; problems: string[] } {
  const main = /<main[^>]*>([\s\S]*)<\/main>/.exec(html)?.[1] ?? '';
  const content = main.replace(/<nav aria-label="Breadcrumb"[\s\S]*?<\/nav>/, '');
  const open: Array<{ name: string; isolates: boolean }> = [];
  const problems: string[] = [];
  let shown = 0;
  for (const m of content.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:"[^"]*"|'[^']*'|[^'">])*)>|([^<]+)/g)) {
    const text = m[4];
    if (text !== undefined) {
      const count = text.split(needle).length - 1;
      shown += count;
      if (count > 0 && !open.some((o) => o.isolates))
        problems.push(`“${needle}” in <${open.map((o) => o.name).join('> <')}>: ${text.trim().slice(0, 80)}`);
      continue;
    }
    const name = m[2]!.toLowerCase();
    if (m[1]) {
      const at = open.map((o) => o.name).lastIndexOf(name);
      if (at >= 0) open.length = at;
    } else if (!VOID_ELEMENTS.has(name) && !m[3]!.endsWith('/')) {
      open.push({ name, isolates: name === 'bdi' || /\sdir="[^"]+"/.test(m[3]!) });
    }
  }
  return { shown, problems };
}

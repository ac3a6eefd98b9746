/**
 * The tool as an integration test reaches it over real HTTP: a person launched through the LMS emulator (their own
 * `LtiBrowser`, with its cookies, and the launch's ltik), a tool page fetched with that ltik, a form posted with it, and
 * the fields a page's forms carry (the CSRF token, the version) read back from the HTML.
 */
import { LtiBrowser } from '../../src/dev/lms';
import type { Stack } from '../../src/dev/stack';
import { decodeEntities } from './stack';

/** Someone launched into the tool: their browser and the launch's ltik. */
export interface Who {
  browser: LtiBrowser;
  ltik: string;
}
/** What `launch` answers: the person, their LMS user id and the page the launch landed on. */
export interface Launched extends Who {
  userId: string;
  html: string;
}

type Params = Record<string, string> | string;

/**
 * The helpers of one test file, bound to its stack. `stackOf` is read on each call (the stack starts in `beforeAll`), so
 * the helpers can be made at the top of the file.
 */
export function toolClient(stackOf: () => Pick<Stack, 'lms' | 'tool'>) {
  /** A tool URL with `params` (an object, or a query string whose repeated keys stay repeated) and the ltik of `who`. */
  const url = (path: string, who: Pick<Who, 'ltik'>, params: Params = {}): string => {
    const u = new URL(path, stackOf().tool.url);
    if (typeof params === 'string') for (const [k, v] of new URLSearchParams(params)) u.searchParams.append(k, v);
    else for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    u.searchParams.set('ltik', who.ltik);
    return u.href;
  };
  return {
    /** Launches `userId` into the course from the LMS emulator in a browser of their own; the launch must answer 200. */
    launch: async (platform: 'canvas' | 'moodle', courseId: string, userId: string): Promise<Launched> => {
      const browser = new LtiBrowser({ lmsUrl: stackOf().lms.url });
      const res = await browser.launch({ platform, courseId, userId });
      expect(res.status).toBe(200);
      return { browser, ltik: res.ltik!, userId, html: res.html };
    },
    url,
    /** GET a tool page as `who` (redirects followed). */
    page: (who: Who, path: string, params: Params = {}) => who.browser.get(url(path, who, params)),
    /** POST a form to the tool as `who`, with their ltik; the CSRF token is one of the form's fields (see `hidden`). */
    post: (who: Who, path: string, form: Record<string, string>) =>
      who.browser.post(new URL(path, stackOf().tool.url).href, { ltik: who.ltik, ...form }),
  };
}

/** A hidden input's value in `html` (a page or one of its forms), entities decoded; null when there is none. */
export function hiddenOrNull(html: string, name: string): string | null {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html);
  return m ? decodeEntities(m[1]!) : null;
}

/** A hidden input's value in `html` (a page or one of its forms), entities decoded; throws when there is none. */
export function hidden(html: string, name: string): string {
  const value = hiddenOrNull(html, name);
  if (value === null) throw new Error(`no hidden ${name} in the page`);
  return value;
}

/** The text of the first textarea whose tag contains `attr` (e.g. `id="review-note"`), entities decoded; null when none. */
export function textarea(html: string, attr: string): string | null {
  const m = new RegExp(`<textarea[^>]*${attr}[^>]*>([\\s\\S]*?)</textarea>`).exec(html);
  return m ? decodeEntities(m[1]!) : null;
}

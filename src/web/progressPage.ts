/**
 * Sends a page whose data takes seconds to gather (a cold roster of hundreds of learners) in parts:
 * the layout's top and a progress line at once, then lines as the work advances, then the page.
 *
 * No JavaScript: the progress block is hidden by CSS once the content after it has arrived
 * (`main:has(.page-ready) .progress { display: none }`). The status is 200 from the first byte, so
 * anything that decides the status (access, parameters, a refused key) is checked before. Each part is
 * flushed through the compression (src/ltijsAdapter.ts, step 4), which would otherwise hold it back
 * until its buffer fills or the page ends.
 */
import type { Response } from 'express';
import Handlebars from 'handlebars';
import { HttpError } from './errors';

const MARK = '<!--progress-page-content-->';

/** Writes a part and sends it now: `res.flush` is compression's (absent where it is not installed). */
function send(res: Response, part: string): void {
  res.write(part);
  (res as Partial<Pick<Response, 'flush'>>).flush?.();
}

function renderToString(res: Response, view: string, vm: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    res.app.render(view, vm, (err: Error | null, html?: string) => (err ? reject(err) : resolve(html ?? '')));
  });
}

export interface ProgressWriter {
  /** Reports progress; written at most every `intervalMs`, and always for the last step. */
  step(done: number, total: number): void;
}

export async function progressPage(
  res: Response,
  shell: Record<string, unknown> & { title: string },
  opening: string,
  work: (progress: ProgressWriter) => Promise<{ view: string; vm: Record<string, unknown> }>,
  options: { intervalMs?: number; unit?: string } = {},
): Promise<void> {
  // app.render does not see res.locals: the layout's placement banner (src/web/deepLinkingView.ts) is passed on.
  const page = await renderToString(res, 'pages/progress-shell', {
    placementBanner: res.locals.placementBanner as unknown,
    ...shell,
    mark: new Handlebars.SafeString(MARK),
  });
  const at = page.indexOf(MARK);
  const top = page.slice(0, at);
  const bottom = page.slice(at + MARK.length);
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.status(200);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  send(res, `${top}<div class="progress" role="status" aria-live="polite"><p>${esc(opening)}</p><p class="progress-steps">`);
  const interval = options.intervalMs ?? 250;
  let last = 0;
  const writer: ProgressWriter = {
    step(done, total) {
      const now = Date.now();
      if (done < total && now - last < interval) return;
      last = now;
      send(
        res,
        `<span>${done.toLocaleString('en-GB')} of ${total.toLocaleString('en-GB')}${options.unit ? ` ${esc(options.unit)}` : ''}… </span>`,
      );
    },
  };
  try {
    const { view, vm } = await work(writer);
    const body = await renderToString(res, view, { ...vm, layout: false });
    send(res, `</p></div><div class="page-ready">${body}</div>${bottom}`);
  } catch (err) {
    const message = err instanceof HttpError ? err.message : 'The page could not be completed. Please try again.';
    send(
      res,
      `</p></div><section class="notice notice-error page-ready" role="alert"><h1>This page could not be completed</h1><p>${esc(message)}</p></section>${bottom}`,
    );
  }
  res.end();
}

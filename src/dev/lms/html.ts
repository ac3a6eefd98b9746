/** Small HTML pieces of the emulator: escaping, auto-submitting forms, error pages. */

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export const BASE_CSS = `
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1b1b1b; background: #f6f7f9; line-height: 1.45; }
  main { padding: 1rem 1.5rem; }
  h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
  h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
  h3 { font-size: 1.05rem; margin: 1rem 0 .5rem; }
  .error { background: #fff; border: 2px solid #a4262c; border-radius: 6px; padding: 1rem 1.25rem; max-width: 40rem; }
  code { background: #eef0f3; padding: 0 .25rem; border-radius: 3px; }
`;

/** An LMS-style page that POSTs `fields` to `action` at once (with a button if scripts are off). */
export function autoSubmitForm(action: string, fields: Record<string, string>, title: string): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n    ');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${BASE_CSS}</style></head>
<body>
<main>
  <form id="lti-autosubmit" method="post" action="${escapeHtml(action)}">
    ${inputs}
    <noscript><button type="submit">Continue</button></noscript>
  </form>
  <p>${escapeHtml(title)}…</p>
</main>
<script>document.getElementById('lti-autosubmit').submit();</script>
</body>
</html>`;
}

export function errorPage(status: number, code: string, message: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>LMS error: ${escapeHtml(code)}</title><style>${BASE_CSS}</style></head>
<body>
<main>
  <div class="error" role="alert">
    <h1>The LMS refused this request (${status})</h1>
    <p><strong>${escapeHtml(code)}</strong>: ${escapeHtml(message)}</p>
  </div>
</main>
</body>
</html>`;
}

/**
 * Just enough HTML reading for the test user agent: find a form that the page submits by script
 * (`form.submit()`, as LMS launch pages and OIDC form_post responses do) and read its method,
 * action and named fields, decoding HTML entities.
 */

export interface HtmlForm {
  method: 'GET' | 'POST';
  /** Absolute URL the form submits to. */
  action: string;
  fields: Record<string, string>;
}

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  sol: '/',
  equals: '=',
  colon: ':',
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body.startsWith('#x') || body.startsWith('#X')) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
    return NAMED[body.toLowerCase()] ?? whole;
  });
}

export function parseAttributes(tagBody: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(tagBody)) !== null) {
    const name = (m[1] as string).toLowerCase();
    if (!(name in attrs)) attrs[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** All forms in the page, in document order. */
export function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
  let m: RegExpExecArray | null;
  while ((m = formRe.exec(html)) !== null) {
    const attrs = parseAttributes(m[1] as string);
    const inner = m[2] as string;
    const fields: Record<string, string> = {};
    const inputRe = /<input\b([^>]*)>/gi;
    let im: RegExpExecArray | null;
    while ((im = inputRe.exec(inner)) !== null) {
      const a = parseAttributes(im[1] as string);
      const type = (a.type ?? 'text').toLowerCase();
      if (!a.name || ['submit', 'button', 'image', 'reset', 'file'].includes(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
      fields[a.name] = a.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : '');
    }
    const textareaRe = /<textarea\b([^>]*)>([\s\S]*?)<\/textarea\s*>/gi;
    let tm: RegExpExecArray | null;
    while ((tm = textareaRe.exec(inner)) !== null) {
      const a = parseAttributes(tm[1] as string);
      if (a.name) fields[a.name] = decodeEntities(tm[2] as string);
    }
    const method = (attrs.method ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET';
    forms.push({ method, action: new URL(attrs.action || pageUrl, pageUrl).href, fields });
  }
  return forms;
}

/** The form a page submits on load, if any: a page with a form and a script calling `.submit()`. */
export function findAutoSubmitForm(html: string, pageUrl: string): HtmlForm | undefined {
  const scripts = html.match(/<script\b[^>]*>[\s\S]*?<\/script\s*>/gi) ?? [];
  if (!scripts.some((s) => /\.submit\s*\(\s*\)/.test(s))) return undefined;
  return parseForms(html, pageUrl)[0];
}

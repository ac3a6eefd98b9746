/**
 * A strict, minimal XML reader for checking chart output: elements, double-quoted attributes,
 * text and the five predefined entities plus numeric references. Anything else (comments, CDATA,
 * processing instructions, unknown entities, unbalanced tags, duplicate attributes) throws, so a
 * test passes only if the SVG is well-formed and contains no markup we did not write.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: Array<XmlElement | string>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string, at: number): string {
  return s.replace(/&([^;]*);?/g, (m, body: string) => {
    if (!m.endsWith(';')) throw new Error(`bare & near ${at}`);
    if (body in ENTITIES) return ENTITIES[body];
    const num = /^#(\d+)$/.exec(body) ?? /^#x([0-9a-f]+)$/i.exec(body);
    if (num) return String.fromCodePoint(parseInt(num[1], body[1] === 'x' || body[1] === 'X' ? 16 : 10));
    throw new Error(`unknown entity &${body}; near ${at}`);
  });
}

export function parseXml(text: string): XmlElement {
  let i = 0;
  const root: XmlElement = { name: '#root', attrs: {}, children: [] };
  const stack: XmlElement[] = [root];
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = lt === -1 ? text.slice(i) : text.slice(i, lt);
    if (chunk.includes('>')) throw new Error(`stray > near ${i}`);
    if (chunk) stack[stack.length - 1].children.push(decode(chunk, i));
    if (lt === -1) break;
    const gt = text.indexOf('>', lt);
    if (gt === -1) throw new Error(`unterminated tag at ${lt}`);
    const tag = text.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1);
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`mismatched </${name}> at ${lt}`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z][A-Za-z0-9:_-]*)((?:\s+[A-Za-z][A-Za-z0-9:_-]*="[^"<]*")*)\s*$/.exec(body);
      if (!m) throw new Error(`malformed tag <${tag.slice(0, 60)}> at ${lt}`);
      const el: XmlElement = { name: m[1], attrs: {}, children: [] };
      for (const a of m[2].matchAll(/([A-Za-z][A-Za-z0-9:_-]*)="([^"]*)"/g)) {
        if (a[1] in el.attrs) throw new Error(`duplicate attribute ${a[1]} at ${lt}`);
        el.attrs[a[1]] = decode(a[2], lt);
      }
      stack[stack.length - 1].children.push(el);
      if (!selfClosing) stack.push(el);
    }
    i = gt + 1;
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  const elements = root.children.filter((c): c is XmlElement => typeof c !== 'string');
  if (elements.length !== 1 || root.children.length !== 1) throw new Error('expected exactly one root element');
  return elements[0];
}

export function walk(el: XmlElement, visit: (e: XmlElement) => void): void {
  visit(el);
  for (const c of el.children) if (typeof c !== 'string') walk(c, visit);
}

export function all(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  walk(el, (e) => {
    if (e.name === name) out.push(e);
  });
  return out;
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

/** Elements and attributes our charts may contain; anything else means injected markup. */
const ALLOWED_ELEMENTS = new Set(['svg', 'title', 'desc', 'g', 'line', 'path', 'rect', 'circle', 'text']);
const ALLOWED_ATTRS = new Set([
  'xmlns',
  'class',
  'width',
  'height',
  'viewBox',
  'role',
  'aria-labelledby',
  'aria-hidden',
  'font-family',
  'font-size',
  'id',
  'x',
  'y',
  'x1',
  'x2',
  'y1',
  'y2',
  'cx',
  'cy',
  'r',
  'd',
  'fill',
  'stroke',
  'stroke-width',
  'stroke-dasharray',
  'text-anchor',
]);

/** Throws if the SVG has an element or attribute outside the charts' vocabulary (e.g. script, onload, href). */
export function assertInert(root: XmlElement): void {
  walk(root, (e) => {
    if (!ALLOWED_ELEMENTS.has(e.name)) throw new Error(`unexpected element <${e.name}>`);
    for (const a of Object.keys(e.attrs)) {
      if (!ALLOWED_ATTRS.has(a)) throw new Error(`unexpected attribute ${a} on <${e.name}>`);
    }
  });
}

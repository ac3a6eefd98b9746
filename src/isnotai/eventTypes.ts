/**
 * The table of the API's event message types (number, short name, category, description), which the
 * API uses but does not publish: the simulator serves it, and the events table checks its `type` filter by it.
 *
 * The API documents that `type` accepts "message-type byte as decimal/hex (e.g. 1, 0x01) or short
 * name (e.g. init, mouse_move, keypress)" but does not publish the table, so this is our table. The
 * simulator counts events by its categories, which match the buckets of `details.eventCounts`. The
 * client never validates `type` against it, so a real API with more types still works.
 */
export type EventCategory = 'mouse' | 'scroll' | 'keyboard' | 'touch' | 'form' | 'other';

export interface EventTypeInfo {
  id: number;
  name: string;
  category: EventCategory;
  description: string;
}

export const EVENT_TYPES: readonly EventTypeInfo[] = [
  { id: 0x01, name: 'init', category: 'other', description: 'tracker initialised on the page' },
  { id: 0x02, name: 'mouse_move', category: 'mouse', description: 'pointer moved' },
  { id: 0x03, name: 'mouse_click', category: 'mouse', description: 'pointer button clicked' },
  { id: 0x04, name: 'scroll', category: 'scroll', description: 'page or element scrolled' },
  { id: 0x05, name: 'keydown', category: 'keyboard', description: 'key pressed down' },
  { id: 0x06, name: 'keypress', category: 'keyboard', description: 'printable character typed' },
  { id: 0x07, name: 'touch', category: 'touch', description: 'touch start/move/end' },
  { id: 0x08, name: 'form_input', category: 'form', description: 'form field value changed' },
  { id: 0x09, name: 'paste', category: 'form', description: 'clipboard paste into a field' },
  { id: 0x0a, name: 'focus', category: 'other', description: 'window or tab gained focus' },
  { id: 0x0b, name: 'blur', category: 'other', description: 'window or tab lost focus' },
  { id: 0x0c, name: 'visibility', category: 'other', description: 'page visibility changed (tab hidden/shown)' },
  { id: 0x0d, name: 'page_view', category: 'other', description: 'a page was loaded or navigated to' },
];

const BY_ID = new Map(EVENT_TYPES.map((t) => [t.id, t]));
const BY_NAME = new Map(EVENT_TYPES.map((t) => [t.name, t]));

export function eventTypeByName(name: string): EventTypeInfo | undefined {
  return BY_NAME.get(name);
}

/**
 * Reads a `type` parameter spelled as decimal (`2`), hex (`0x02`) or short name (`mouse_move`).
 * Returns undefined for anything else (including a byte that is not in the table).
 */
export function parseEventType(input: string): EventTypeInfo | undefined {
  const s = input.trim();
  if (/^\d{1,3}$/.test(s)) return BY_ID.get(Number(s));
  if (/^0x[0-9a-f]{1,2}$/i.test(s)) return BY_ID.get(Number.parseInt(s.slice(2), 16));
  return BY_NAME.get(s.toLowerCase());
}

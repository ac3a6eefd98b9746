/**
 * Keyboard-only walks in real Chromium: where the focus is, and Tab (or Shift+Tab) until it is somewhere. Used by the
 * review and student keyboard tests, which take every step with a key press and check the focus along the way.
 */
import type { Frame, Page } from 'playwright-core';

export interface Focused {
  tag: string;
  id: string;
  text: string;
  /** A checkbox's or radio button's state; null for anything that is not an input. */
  checked: boolean | null;
  inMain: boolean;
  /** The focus indicator: an outline or a box shadow is drawn. */
  visible: boolean;
}

/** What has the keyboard focus in `where` (null when its document does not have it). */
export async function focused(where: Frame): Promise<Focused | null> {
  return (await where.evaluate(`(() => {
    const el = document.activeElement;
    if (!document.hasFocus() || !el || el === document.body) return null;
    const s = getComputedStyle(el);
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      text: (el.getAttribute('aria-label') || el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 80),
      checked: el.tagName === 'INPUT' ? el.checked : null,
      inMain: !!el.closest('main'),
      visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none',
    };
  })()`)) as Focused | null;
}

/** Presses Tab (or Shift+Tab) until the element focused in `where` matches `selector`; how many presses it took. */
export async function tabTo(page: Page, where: Frame, selector: string, options: { back?: boolean; max?: number } = {}): Promise<number> {
  const max = options.max ?? 80;
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(options.back ? 'Shift+Tab' : 'Tab');
    const there = await where.evaluate(
      `document.hasFocus() && !!document.activeElement && document.activeElement.matches(${JSON.stringify(selector)})`,
    );
    if (there) return i;
  }
  throw new Error(`${options.back ? 'Shift+Tab' : 'Tab'} did not reach ${selector} in ${max} presses`);
}

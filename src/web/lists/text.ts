/** Text folding for search and filter matching: case- and accent-insensitive. */

/**
 * "Émilie" → "emilie", "ÅSA" → "asa": NFD splits letters from their combining marks, which are
 * then dropped; NFKC first folds compatibility forms (full-width letters, ligatures like "ﬁ").
 */
export function foldText(value: string): string {
  return value
    .normalize('NFKC')
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

const COLLATOR = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

/** Compares names the way people expect: case- and accent-insensitive, "item 2" before "item 10". */
export function compareText(a: string | null | undefined, b: string | null | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return COLLATOR.compare(a, b);
}

/** Numbers ascending; null, undefined and NaN sort first (so last in descending order). */
export function compareNumber(a: number | null | undefined, b: number | null | undefined): number {
  const an = a === null || a === undefined || Number.isNaN(a);
  const bn = b === null || b === undefined || Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? -1 : 1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Dates (or ISO strings) ascending; missing or unreadable ones first. */
export function compareDate(a: Date | string | null | undefined, b: Date | string | null | undefined): number {
  const t = (v: Date | string | null | undefined): number | null => {
    if (v === null || v === undefined) return null;
    const n = v instanceof Date ? v.getTime() : Date.parse(v);
    return Number.isNaN(n) ? null : n;
  };
  return compareNumber(t(a), t(b));
}

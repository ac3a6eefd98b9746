/**
 * axe-core run in a page or frame of real Chromium, its violations as one readable line each. axe's
 * source is evaluated in the page (as a DevTools console would), not added as a script tag, so it runs
 * under the tool's real CSP too: a browser context need not bypass it.
 */
import fs from 'node:fs';
import type { Frame, Page } from 'playwright-core';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

const AXE_PATH = require.resolve('axe-core/axe.min.js');
let axeSource: string | undefined;

type Impact = 'minor' | 'moderate' | 'serious' | 'critical';

/** Every violation axe finds (or only those of the given impacts), e.g. "serious color-contrast: … — [".x"]". */
export async function axeViolations(where: Page | Frame, impacts?: readonly Impact[]): Promise<string[]> {
  await where.evaluate((axeSource ??= fs.readFileSync(AXE_PATH, 'utf8')));
  const result = (await where.evaluate('axe.run(document).then((r) => ({ violations: r.violations, passes: r.passes.length }))')) as {
    violations: AxeViolation[];
    passes: number;
  };
  if (result.passes <= 10) throw new Error(`axe passed only ${result.passes} checks: it did not really look at the page`);
  return result.violations
    .filter((v) => !impacts || impacts.includes(v.impact as Impact))
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} — ${v.nodes
          .map((n) => JSON.stringify(n.target))
          .slice(0, 5)
          .join(', ')}`,
    );
}

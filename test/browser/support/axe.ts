/**
 * axe-core run in a page or frame of real Chromium, its violations as one readable line each. The
 * tool's CSP forbids injected scripts, so the browser context must be created with `bypassCSP`.
 */
import type { Frame, Page } from 'playwright-core';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

const AXE_PATH = require.resolve('axe-core/axe.min.js');

type Impact = 'minor' | 'moderate' | 'serious' | 'critical';

/** Every violation axe finds (or only those of the given impacts), e.g. "serious color-contrast: … — [".x"]". */
export async function axeViolations(where: Page | Frame, impacts?: readonly Impact[]): Promise<string[]> {
  await where.addScriptTag({ path: AXE_PATH });
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

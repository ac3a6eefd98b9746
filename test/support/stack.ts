/** Starts the real stack (simulator, LMS emulator, tool, PostgreSQL) for an integration test file. */
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log';
import { startStack, type Stack, type StackOptions } from '../../src/dev/stack';
import { LtiBrowser } from '../../src/dev/lms';
import { freshDatabaseUrl } from './db';

export async function testStack(
  label: string,
  options: Partial<Omit<StackOptions, 'databaseUrl'>> = {},
): Promise<Stack & { databaseUrl: string; browser(opts?: { blockThirdPartyCookies?: boolean }): LtiBrowser }> {
  const databaseUrl = await freshDatabaseUrl(label);
  const stack = await startStack({
    databaseUrl,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    encryptionKey: crypto.randomBytes(32).toString('base64url'),
    ...options,
  });
  return Object.assign(stack, {
    /** The test file's own database (for an operator's command run against it). */
    databaseUrl,
    browser: (opts: { blockThirdPartyCookies?: boolean } = {}) => new LtiBrowser({ lmsUrl: stack.lms.url, ...opts }),
  });
}

/** A logger whose JSON lines are kept in `lines`, for tests that read what the tool logged. */
export function capturingLogger(level: string): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

/** The text content of the rows of a table marked data-testid=…, as arrays of cell texts. */
export function tableRows(html: string, testId: string): string[][] {
  const table = new RegExp(`<table[^>]*data-testid="${testId}"[^>]*>([\\s\\S]*?)</table>`).exec(html);
  if (!table) return [];
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table[1] ?? '')?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((r) =>
    [...(r[1] ?? '').matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => textOf(c[1] ?? '')),
  );
}

export function textOf(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&#x3D;/g, '=')
    .replace(/&#x60;/g, '`')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

export function attrValues(html: string, attr: string): string[] {
  return [...html.matchAll(new RegExp(`${attr}="([^"]*)"`, 'g'))].map((m) => m[1] ?? '');
}

/** The href of the link with rel="…" (HTML entities decoded), or null. */
export function relHref(html: string, rel: string): string | null {
  const m = new RegExp(`href="([^"]*)"[^>]*rel="${rel}"`).exec(html);
  return m ? decodeEntities(m[1] ?? '') : null;
}

export function decodeEntities(s: string): string {
  return s
    .replace(/&#x3D;/g, '=')
    .replace(/&#x27;/g, "'")
    .replace(/&#x60;/g, '`')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

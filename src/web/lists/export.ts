/**
 * The JSON and CSV forms of a list are sent as attachments with a file name, so a link to one
 * downloads it instead of opening raw data inside the LMS's frame (a failed one, followed as a link,
 * is an error page: src/web/errorHandler.ts). An export that outlives its own deadline for isnotai is
 * answered with a clear error, not as an outage.
 */
import type { Response } from 'express';
import { IsnotaiAbortError } from '../../isnotai/errors';
import { HttpError } from '../errors';

/** `roster-LTI 101` → `roster-LTI_101.csv`: letters, digits, `-` and `_` only, at most 80 characters. */
export function exportFileName(base: string, extension: 'csv' | 'json'): string {
  const safe = base.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80) || 'export';
  return `${safe}.${extension}`;
}

export function sendJsonExport(res: Response, base: string, body: unknown): void {
  res.attachment(exportFileName(base, 'json'));
  res.json(body);
}

export function sendCsvExport(res: Response, base: string, csv: string): void {
  res.attachment(exportFileName(base, 'csv'));
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.send(csv);
}

export const EXPORT_TIMED_OUT = 'export_timed_out';

/**
 * Runs the reading of an export that has its own deadline (UPSTREAM_EXPORT_DEADLINE_MS, which the
 * bound upstream carries): past it, a 504 `export_timed_out` whose hints say what to do (`narrow`:
 * how this list can be exported in parts), instead of the 503 of an isnotai outage.
 */
export async function withinExportDeadline<T>(deadlineMs: number | undefined, narrow: string | null, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof IsnotaiAbortError)) throw err;
    const within =
      deadlineMs === undefined
        ? 'in the time the tool waits for one'
        : `within the ${(deadlineMs / 1000).toLocaleString('en-GB', { maximumFractionDigits: 1 })} seconds the tool waits for one`;
    throw new HttpError(
      504,
      EXPORT_TIMED_OUT,
      `isnotai did not send the whole export ${within}, so no file was made.`,
      deadlineMs === undefined ? undefined : { deadline_ms: deadlineMs },
      [...(narrow ? [narrow] : []), 'Or try again later: isnotai may be slow just now.'],
    );
  }
}

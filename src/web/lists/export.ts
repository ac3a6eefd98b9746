/**
 * The JSON and CSV forms of a list are sent as attachments with a file name, so a link to one
 * downloads it instead of opening raw data inside the LMS's frame.
 */
import type { Response } from 'express';

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

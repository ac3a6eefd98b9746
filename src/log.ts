/**
 * Structured logs (pino). Secrets and student data never reach them: API keys, ltiks, tokens and
 * cookies are redacted wherever they appear; callers log ids, not names or emails.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

/** A request in a log line: its id, method and path. Query strings carry ltiks and cursors,
 * headers carry cookies: neither is logged. */
export function requestSummary(req: { id?: unknown; method?: string; url?: string }): { id: unknown; method?: string; path: string } {
  return { id: req.id, method: req.method, path: String(req.url ?? '').split('?')[0] ?? '' };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'isnotai-lti' },
      redact: {
        paths: [
          'apiKey',
          '*.apiKey',
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          'req.query.ltik',
          'req.body.id_token',
          'ltik',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
      serializers: { req: requestSummary },
    },
    destination,
  );
}

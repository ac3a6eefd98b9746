/**
 * `npm run platforms -- list | activate <id> | deactivate <id> | tool-wide <id> on|off`: the operator's command for the
 * LMS registrations (docs/product.md "Installing the tool"). A registration made by Dynamic Registration is pending
 * until the operator activates it here (or an admin of a tool-wide registration does so in the tool); `tool-wide`
 * marks a registration whose admins may activate and deactivate every registration.
 *
 * It works on DATABASE_URL (or, in development, the embedded database), with ENCRYPTION_KEY (in development, the key
 * kept in .data/ when there is one), which must be the key the tool runs with. Every change goes through the
 * registration store (src/store/registrations.ts: the status also written for ltijs's own login check) and is audited
 * as made by the operator. It never shows or changes an isnotai API key: only whether one is set.
 *
 * Exit codes: 0 done, 1 refused (an unknown id, a key that is not the tool's), 2 bad usage (with the usage text).
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from './app';
import { withCommandDatabase } from './bootstrap';
import { createLogger, type Logger } from './log';
import {
  createRegistrationStore,
  keyCheckDecrypts,
  migrateToLatest,
  MIN_SECRET_LENGTH,
  type Registration,
  type RegistrationStore,
  type RegistrationStatus,
} from './store';

export const PLATFORMS_USAGE = [
  'Usage: npm run platforms -- <command>',
  '  list                      every LMS registration: id, status, source, kind, name, issuer, client id, API key set, tool-wide',
  '  activate <id>             let the registration’s launches in',
  '  deactivate <id>           refuse its launches (its open sessions end at their next page)',
  '  tool-wide <id> on|off     whether its admins may activate and deactivate every registration',
  'Runs on DATABASE_URL (development: the embedded database) with ENCRYPTION_KEY, the key the tool runs with.',
].join('\n');

export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
}

type Parsed =
  | { command: 'list' }
  | { command: 'activate' | 'deactivate'; id: string }
  | { command: 'tool-wide'; id: string; on: boolean }
  | { problem: string };

const ID = /^\d{1,18}$/;

function parse(args: readonly string[]): Parsed {
  const [command, id, flag, ...rest] = args;
  if (command === 'list') return args.length === 1 ? { command } : { problem: '`list` takes no argument' };
  if (command === 'activate' || command === 'deactivate') {
    if (args.length !== 2 || !id) return { problem: `\`${command}\` takes one registration id` };
    if (!ID.test(id)) return { problem: `“${id.slice(0, 40)}” is not a registration id (a number, as \`list\` shows it)` };
    return { command, id };
  }
  if (command === 'tool-wide') {
    if (!id || !flag || rest.length > 0 || (flag !== 'on' && flag !== 'off'))
      return { problem: '`tool-wide` takes a registration id and on or off' };
    if (!ID.test(id)) return { problem: `“${id.slice(0, 40)}” is not a registration id (a number, as \`list\` shows it)` };
    return { command, id, on: flag === 'on' };
  }
  return { problem: command ? `unknown command “${command.slice(0, 40)}”` : 'name a command' };
}

/** ENCRYPTION_KEY, or in development the key the tool keeps in .data/ (src/bootstrap.ts); null when there is none. */
function encryptionKeyOf(env: NodeJS.ProcessEnv): string | null {
  if (env.ENCRYPTION_KEY) return env.ENCRYPTION_KEY;
  if (env.NODE_ENV === 'production') return null;
  const file = path.join(projectRoot(), '.data', 'encryption-key');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : null;
}

/** One line per registration, tab-separated, with a header. */
export function formatList(registrations: readonly Registration[]): string {
  const rows = [
    ['id', 'status', 'source', 'kind', 'name', 'issuer', 'client id', 'api key', 'tool-wide'],
    ...registrations.map((r) => [
      r.id,
      r.status,
      r.source,
      r.kind,
      oneLine(r.displayName),
      oneLine(r.issuer),
      oneLine(r.clientId),
      r.hasApiKey ? 'set' : 'not set',
      r.toolWide ? 'yes' : 'no',
    ]),
  ];
  return `${rows.map((row) => row.join('\t')).join('\n')}\n`;
}

/** What came from an LMS is printed on one line, without control characters (a terminal would obey them). */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is matched here
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

function describe(r: Registration): string {
  return `registration ${r.id} (${oneLine(r.displayName)}, issuer ${oneLine(r.issuer)}, client id ${oneLine(r.clientId)})`;
}

const CONFIG_NOTE =
  'Note: this registration comes from PLATFORMS_JSON, which the tool applies again at every start (as active); change it there to keep the change.\n';

async function setStatus(registrations: RegistrationStore, id: string, status: RegistrationStatus, io: CommandOutput): Promise<number> {
  // The store changes a registration at the version it was read at; one retry if someone changed it in between.
  for (let attempt = 0; attempt < 2; attempt++) {
    const current = await registrations.get(id);
    if (!current) {
      io.err(`There is no registration ${id}. \`npm run platforms -- list\` shows them.\n`);
      return 1;
    }
    const result = await registrations.change(id, { status }, current.version, {
      platformIss: current.issuer,
      platformClientId: current.clientId,
      actorUserId: 'operator',
      actorRole: 'operator',
      action: 'registration.status',
      detail: { via: 'npm run platforms' },
    });
    if (result.kind === 'not_found') {
      io.err(`There is no registration ${id}. \`npm run platforms -- list\` shows them.\n`);
      return 1;
    }
    if (result.kind === 'conflict') continue;
    const r = result.registration;
    io.out(result.kind === 'saved' ? `${describe(r)} is now ${status}.\n` : `${describe(r)} was already ${status}; nothing changed.\n`);
    if (r.source === 'config') io.out(CONFIG_NOTE);
    if (status === 'active' && !r.hasApiKey)
      io.out('It has no isnotai API key yet: an administrator of that LMS adds one in the tool’s settings.\n');
    return 0;
  }
  io.err(`Registration ${id} kept changing while the command ran; run it again.\n`);
  return 1;
}

/** Runs the command; answers the exit code (0 done, 1 refused, 2 bad usage). */
export async function runPlatformsCommand(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
  io: CommandOutput,
  logger: Logger = createLogger(env.LOG_LEVEL ?? 'warn'),
): Promise<number> {
  const parsed = parse(args);
  if ('problem' in parsed) {
    io.err(`${parsed.problem}.\n\n${PLATFORMS_USAGE}\n`);
    return 2;
  }
  const problems: string[] = [];
  if (!env.DATABASE_URL && env.NODE_ENV === 'production') problems.push('DATABASE_URL: required in production');
  const key = encryptionKeyOf(env);
  if (!key) problems.push('ENCRYPTION_KEY: required (the key the tool runs with)');
  else if (key.length < MIN_SECRET_LENGTH) problems.push(`ENCRYPTION_KEY: must be at least ${MIN_SECRET_LENGTH} characters`);
  if (problems.length > 0 || !key) {
    io.err(`Cannot run the command:\n${problems.map((p) => `  - ${p}`).join('\n')}\n\n${PLATFORMS_USAGE}\n`);
    return 2;
  }

  return withCommandDatabase(env, logger, async (store) => {
    await migrateToLatest(store.db, logger);
    const registrations = createRegistrationStore(store.db, { secret: key });
    const all = await registrations.list();
    // A key that is not the tool's would be refused by the tool; so it is here (nothing is read or written under it).
    if (all.length > 0 && !(await keyCheckDecrypts(store.db, key))) {
      io.err('ENCRYPTION_KEY is not the key this tool’s database was written with: nothing was done. Use the key the tool runs with.\n');
      return 1;
    }
    if (parsed.command === 'list') {
      if (all.length === 0) io.out('No LMS is registered yet.\n');
      else io.out(formatList(all));
      return 0;
    }
    if (parsed.command === 'tool-wide') {
      const current = all.find((x) => x.id === parsed.id);
      const r =
        current &&
        (await registrations.setToolWide(parsed.id, parsed.on, {
          platformIss: current.issuer,
          platformClientId: current.clientId,
          actorUserId: 'operator',
          actorRole: 'operator',
          action: 'registration.tool_wide',
          detail: { via: 'npm run platforms' },
        }));
      if (!r) {
        io.err(`There is no registration ${parsed.id}. \`npm run platforms -- list\` shows them.\n`);
        return 1;
      }
      io.out(
        parsed.on
          ? `${describe(r)} is now tool-wide: its administrators may activate and deactivate every registration.\n`
          : `${describe(r)} is no longer tool-wide.\n`,
      );
      if (r.source === 'config') io.out(CONFIG_NOTE.replace('(as active)', '(with its toolWide)'));
      return 0;
    }
    return setStatus(registrations, parsed.id, parsed.command === 'activate' ? 'active' : 'inactive', io);
  });
}

if (require.main === module) {
  const io: CommandOutput = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  runPlatformsCommand(process.env, process.argv.slice(2), io).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

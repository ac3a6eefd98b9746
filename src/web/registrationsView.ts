/**
 * LMS registrations as the admin pages show them (docs/product.md "Installing the tool"): the list, one registration's
 * values, its settings form as sent and as refused, and its history read back from the audit log. The routes are
 * src/web/registrations.ts; who may do what, src/web/access.ts.
 *
 * The form's text is read into each setting's one rule (src/settingRules.ts, shared with PLATFORMS_JSON): numbers as
 * numbers, deployment ids one per line, the region or a custom address as the isnotai base URL. Nothing here decides
 * whether a value is valid; the rule does, and its message is shown beside the field.
 *
 * The isnotai API key is write-only: no view-model here ever holds it, only whether one is stored.
 */
import type { z } from 'zod';
import { ISNOTAI_REGIONS } from '../isnotai/regions';
import { describePattern, defaultIdentityPattern, isIdentityStrategy } from '../lti/identity';
import { SETTING_RULES } from '../settingRules';
import type { AuditEntry } from '../store/audit';
import type { Registration, RegistrationChanges } from '../store/registrations';
import { clip, formatDateTime } from './format';

export const registrationPath = (id: string) => `/admin/registrations/${encodeURIComponent(id)}`;

/** The audit actions of a registration's writes (docs/product.md "Audit"). */
export const SETTINGS_ACTION = 'registration.settings';
export const STATUS_ACTION = 'registration.status';

// ---------------------------------------------------------------------------------------------------------------------
// Words

const STATUS_WORDS: Record<Registration['status'], { label: string; detail: string }> = {
  pending: { label: 'Pending', detail: 'not activated yet: its launches are refused' },
  active: { label: 'Active', detail: 'its launches open the tool' },
  inactive: { label: 'Inactive', detail: 'deactivated: its launches are refused' },
};

const SOURCE_WORDS: Record<Registration['source'], string> = {
  config: 'PLATFORMS_JSON: read-only here',
  dynamic: 'Registered by the LMS',
};

const VISIBILITY_WORDS: Record<Registration['studentVisibility'], string> = {
  full: 'Full: their sessions, scores and signals',
  summary: 'Summary: their sessions and levels, without scores or signals',
  notice: 'Notice: only that the tool is in use',
};

const KIND_WORDS: Record<Registration['kind'], string> = { moodle: 'Moodle', canvas: 'Canvas', other: 'Other LMS' };

/** The names an audit row's `changed` lists (src/store/registrations.ts), in words. */
const SETTING_WORDS: Readonly<Record<string, string>> = {
  display_name: 'display name',
  isnotai_base_url: 'isnotai region or address',
  api_key: 'API key',
  identity: 'identity mapping',
  identity_pattern: 'identity pattern',
  student_visibility: 'what students see',
  thresholds: 'risk lines',
  deployment_ids: 'deployment ids',
  retention_days: 'retention',
  status: 'status',
  tool_wide: 'tool-wide mark',
};

/** "display name, API key" from an audit row's `changed` (unknown names clipped, never a value). */
export function changedWords(changed: unknown): string | null {
  if (!Array.isArray(changed)) return null;
  const names = changed.filter((x): x is string => typeof x === 'string').map((x) => SETTING_WORDS[x] ?? clip(x.replace(/_/g, ' '), 40));
  return names.length ? names.join(', ') : null;
}

/**
 * A registration write's audit detail in words, for the audit page (src/web/admin.ts): "changed: display name, API key",
 * "changed: status (now inactive), from registration 1". Null when the detail is not a registration write's.
 */
export function registrationDetailWords(detail: Record<string, unknown>): string | null {
  const changed = changedWords(detail.changed);
  if (!changed) return null;
  const status = typeof detail.status === 'string' && detail.status in STATUS_WORDS ? detail.status : null;
  const from = typeof detail.fromRegistration === 'string' ? clip(detail.fromRegistration, 20) : null;
  return [`changed: ${changed}${status ? ` (now ${status})` : ''}`, ...(from ? [`from registration ${from}`] : [])].join(', ');
}

const regionOf = (baseUrl: string): keyof typeof ISNOTAI_REGIONS | null =>
  (Object.keys(ISNOTAI_REGIONS) as Array<keyof typeof ISNOTAI_REGIONS>).find((r) => ISNOTAI_REGIONS[r] === baseUrl) ?? null;

function addressWords(baseUrl: string): string {
  const region = regionOf(baseUrl);
  return region ? `Region ${region.toUpperCase()} (${baseUrl})` : `Another address: ${clip(baseUrl, 200)}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// The list and one registration's values

/** One registration's row on the list, and the summary at the top of its page. */
export function registrationSummary(reg: Registration) {
  const status = STATUS_WORDS[reg.status];
  return {
    id: reg.id,
    name: clip(reg.displayName, 120),
    kind: KIND_WORDS[reg.kind],
    issuer: clip(reg.issuer, 300),
    clientId: clip(reg.clientId, 200),
    deployments: reg.deploymentIds.length ? reg.deploymentIds.map((d) => clip(d, 120)).join(', ') : 'any',
    status: reg.status,
    statusLabel: status.label,
    statusDetail: status.detail,
    pending: reg.status === 'pending',
    source: reg.source,
    sourceWords: SOURCE_WORDS[reg.source],
    apiKey: reg.hasApiKey ? 'set' : 'not set',
    toolWide: reg.toolWide ? 'Yes' : 'No',
  };
}

/** Every value of a registration, read-only (a configured registration, or another one for a tool-wide admin). */
export function registrationValues(reg: Registration) {
  const pattern =
    reg.identityPattern ?? defaultIdentityPattern(isIdentityStrategy(reg.identityStrategy) ? reg.identityStrategy : 'sub', reg.kind);
  return {
    name: clip(reg.displayName, 200),
    address: addressWords(reg.isnotaiBaseUrl),
    apiKey: reg.hasApiKey ? 'set' : 'not set',
    identity: clip(reg.identityStrategy, 120),
    pattern: pattern ? describePattern(clip(pattern, 200)) : 'no spaces or slashes',
    high: String(reg.riskThresholds.high),
    elevated: String(reg.riskThresholds.elevated),
    visibility: VISIBILITY_WORDS[reg.studentVisibility],
    deployments: reg.deploymentIds.length ? reg.deploymentIds.map((d) => clip(d, 120)).join(', ') : 'any',
    cacheTtl: reg.cacheTtlSeconds,
    retentionDays: reg.retentionDays.toLocaleString('en-GB'),
    updated: formatDateTime(reg.updatedAt),
    version: reg.version,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The settings form

export type SettingsField =
  | 'displayName'
  | 'region'
  | 'baseUrl'
  | 'apiKey'
  | 'identity'
  | 'identityPattern'
  | 'studentVisibility'
  | 'high'
  | 'elevated'
  | 'deploymentIds'
  | 'retentionDays'
  | 'version';

/** Where an error summary's link takes the keyboard: the field itself (a radio group: its first radio). */
export const SETTINGS_FIELD_IDS: Record<SettingsField, string> = {
  displayName: 'reg-display-name',
  region: 'reg-region-us',
  baseUrl: 'reg-base-url',
  apiKey: 'reg-api-key',
  identity: 'reg-identity',
  identityPattern: 'reg-identity-pattern',
  studentVisibility: 'reg-visibility-full',
  high: 'reg-high',
  elevated: 'reg-elevated',
  deploymentIds: 'reg-deployment-ids',
  retentionDays: 'reg-retention-days',
  version: 'reg-submit',
};

/**
 * The form as sent, each field read with src/web/formText.ts `typed`. `apiKey` is what was typed in the key field: it is
 * checked and saved, and never put back into a page (settingsFormView takes no key).
 */
export interface SettingsInput {
  displayName: string;
  region: string;
  baseUrl: string;
  apiKey: string;
  removeKey: boolean;
  identity: string;
  identityPattern: string;
  studentVisibility: string;
  high: string;
  elevated: string;
  deploymentIds: string;
  retentionDays: string;
  version: string;
}

/** The form filled with what is stored. */
export function storedInput(reg: Registration): SettingsInput {
  const region = regionOf(reg.isnotaiBaseUrl);
  return {
    displayName: reg.displayName,
    region: region ?? 'custom',
    baseUrl: region ? '' : reg.isnotaiBaseUrl,
    apiKey: '',
    removeKey: false,
    identity: reg.identityStrategy,
    identityPattern: reg.identityPattern ?? '',
    studentVisibility: reg.studentVisibility,
    high: String(reg.riskThresholds.high),
    elevated: String(reg.riskThresholds.elevated),
    deploymentIds: reg.deploymentIds.join('\n'),
    retentionDays: String(reg.retentionDays),
    version: String(reg.version),
  };
}

const VERSION = /^(0|[1-9]\d{0,8})$/;
export const versionOf = (sent: string): number | null => (VERSION.test(sent) ? Number(sent) : null);

export const VERSION_MISSING =
  'The form did not say which version of the settings it was based on. It now carries the current one; check the values and send it again.';

/** A number as typed ("0.75", "0,75", "30"), or the text itself for the rule to refuse in its own words. */
function numberOf(text: string): number | string {
  const s = text.replace(/^([+-]?\d*),(\d+)$/, '$1.$2');
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : text;
}

/** The deployment ids typed one per line (blank lines ignored). */
const linesOf = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

const LABELS: Record<Exclude<SettingsField, 'version' | 'high' | 'elevated'>, string> = {
  displayName: 'The display name',
  region: 'The region',
  baseUrl: 'The isnotai address',
  apiKey: 'The API key',
  identity: 'The identity mapping',
  identityPattern: 'The identity pattern',
  studentVisibility: 'What students see',
  deploymentIds: 'The deployment ids',
  retentionDays: 'The retention period',
};

export type SettingsErrors = Array<[SettingsField, string]>;

/**
 * The changes a valid form asks for, or each field's problem in the words of its rule. A key field left empty keeps the
 * stored key; "remove the stored key" removes it.
 */
export function readSettings(
  input: SettingsInput,
): { ok: true; changes: RegistrationChanges; version: number } | { ok: false; errors: SettingsErrors } {
  const errors: SettingsErrors = [];
  function check<T>(field: Exclude<SettingsField, 'version' | 'high' | 'elevated'>, rule: z.ZodType<T>, value: unknown): T | undefined {
    const parsed = rule.safeParse(value);
    if (parsed.success) return parsed.data;
    const message = parsed.error.issues[0]?.message ?? 'is not valid';
    // The rules' messages say "must …" of the value; a message about one item of a list is its own sentence.
    errors.push([field, /^(must|is)\b/.test(message) ? `${LABELS[field]} ${message}.` : `${LABELS[field]}: ${message}.`]);
    return undefined;
  }
  const displayName = check('displayName', SETTING_RULES.displayName, input.displayName);
  let isnotaiBaseUrl: string | undefined;
  if (input.region === 'custom') {
    if (input.baseUrl === '') errors.push(['baseUrl', 'Type the isnotai address, or choose one of the regions.']);
    else isnotaiBaseUrl = check('baseUrl', SETTING_RULES.isnotaiBaseUrl, input.baseUrl)?.replace(/\/+$/, '');
  } else if (input.region === '') {
    errors.push(['region', 'Choose the isnotai region that holds this LMS’s sessions, or another address.']);
  } else {
    const region = check('region', SETTING_RULES.region, input.region);
    if (region) isnotaiBaseUrl = ISNOTAI_REGIONS[region];
  }
  let apiKey: string | null | undefined;
  if (input.apiKey !== '' && input.removeKey)
    errors.push(['apiKey', 'Type a new API key or tick “Remove the stored key”, not both. Type the key again if you meant to keep it.']);
  else if (input.apiKey !== '') {
    apiKey = check('apiKey', SETTING_RULES.apiKey, input.apiKey);
    if (apiKey === undefined) {
      // The rule's words, never the key itself.
      const last = errors.pop()!;
      errors.push([last[0], `${last[1]} Type it again.`]);
    }
  } else if (input.removeKey) apiKey = null;
  const identityStrategy = check('identity', SETTING_RULES.identity, input.identity);
  const identityPattern =
    input.identityPattern === '' ? null : check('identityPattern', SETTING_RULES.identityPattern, input.identityPattern);
  const studentVisibility = check('studentVisibility', SETTING_RULES.studentVisibility, input.studentVisibility);
  const thresholds = SETTING_RULES.thresholds.safeParse({ high: numberOf(input.high), elevated: numberOf(input.elevated) });
  if (!thresholds.success) {
    for (const issue of thresholds.error.issues) {
      const field = issue.path[0] === 'high' ? 'high' : 'elevated';
      errors.push([field, `The risk lines: ${issue.message}.`]);
    }
  }
  const deploymentIds = check('deploymentIds', SETTING_RULES.deploymentIds, linesOf(input.deploymentIds));
  const retentionDays = check('retentionDays', SETTING_RULES.retentionDays, numberOf(input.retentionDays));
  const version = versionOf(input.version);
  if (version === null) errors.push(['version', VERSION_MISSING]);
  if (errors.length > 0 || version === null || !thresholds.success) return { ok: false, errors };
  return {
    ok: true,
    version,
    changes: {
      displayName,
      isnotaiBaseUrl,
      ...(apiKey !== undefined ? { apiKey } : {}),
      identityStrategy,
      identityPattern,
      studentVisibility,
      riskThresholds: thresholds.data,
      deploymentIds,
      retentionDays,
    },
  };
}

/** The field names the form may send, for a 422 naming a field the page does not have. */
export interface SettingsFormContext {
  action: string;
  ltik: string;
  csrf: string;
  /** Whether a key is stored now ("set" / "not set" beside the field). */
  hasApiKey: boolean;
  kind: Registration['kind'];
}

/**
 * The settings form's view-model (views/pages/registration-settings.hbs): the stored values, or the values as sent with
 * their errors. The key field is always empty; `keyTyped` says a key was typed and not kept.
 */
export function settingsFormView(ctx: SettingsFormContext, input: SettingsInput, errors: SettingsErrors = [], keyTyped = false) {
  const marks = Object.fromEntries(errors.map(([f, message]) => [f, { id: `reg-${f}-error`, message }])) as Partial<
    Record<SettingsField, { id: string; message: string }>
  >;
  const regions = [
    ...(Object.keys(ISNOTAI_REGIONS) as Array<keyof typeof ISNOTAI_REGIONS>).map((r) => ({
      value: r,
      id: `reg-region-${r}`,
      label: `${r.toUpperCase()} (${ISNOTAI_REGIONS[r]})`,
      checked: input.region === r,
    })),
    { value: 'custom', id: 'reg-region-custom', label: 'Another address (below)', checked: input.region === 'custom' },
  ];
  const visibilities = (Object.keys(VISIBILITY_WORDS) as Array<Registration['studentVisibility']>).map((v) => ({
    value: v,
    id: `reg-visibility-${v}`,
    label: VISIBILITY_WORDS[v],
    checked: input.studentVisibility === v,
  }));
  return {
    action: ctx.action,
    ltik: ctx.ltik,
    csrf: ctx.csrf,
    version: input.version,
    displayName: input.displayName,
    regions,
    baseUrl: input.baseUrl,
    apiKeyState: ctx.hasApiKey ? 'set' : 'not set',
    hasApiKey: ctx.hasApiKey,
    // Never echoed, even on a 422: the reader types it again.
    keyNotKept: keyTyped && !marks.apiKey ? 'The API key you typed was not kept: type it again.' : null,
    removeKey: input.removeKey,
    identity: input.identity,
    identityPattern: input.identityPattern,
    defaultPattern: (() => {
      const p = isIdentityStrategy(input.identity) ? defaultIdentityPattern(input.identity, ctx.kind) : null;
      return p ? describePattern(p) : 'no spaces or slashes';
    })(),
    visibilities,
    high: input.high,
    elevated: input.elevated,
    deploymentIds: input.deploymentIds,
    retentionDays: input.retentionDays,
    errors: marks,
    summary: errors.length ? errors.map(([f, message]) => ({ href: `#${SETTINGS_FIELD_IDS[f]}`, message })) : null,
  };
}

/** The typed values of a refused form, read-only, to copy (the CSRF page): never the key. */
export function typedCopy(input: SettingsInput) {
  const rows: Array<[string, string]> = [
    ['Display name', input.displayName],
    ['Region', input.region],
    ['isnotai address', input.baseUrl],
    ['Identity mapping', input.identity],
    ['Identity pattern', input.identityPattern],
    ['What students see', input.studentVisibility],
    ['High line', input.high],
    ['Elevated line', input.elevated],
    ['Deployment ids', input.deploymentIds],
    ['Retention (days)', input.retentionDays],
  ];
  return rows.filter(([, v]) => v !== '').map(([label, value], i) => ({ id: `copy-${i}`, label, value: clip(value, 5000) }));
}

/**
 * On a 409: what each setting someone else changed since the form was opened holds now, beside what the form sent, so
 * that the reader sees which of their values would undo someone else's change. `changed` is the audit rows' names.
 */
export function conflictValues(changed: ReadonlySet<string>, current: Registration, input: SettingsInput) {
  const stored = storedInput(current);
  const region = (i: SettingsInput) => (i.region === 'custom' ? `another address: ${i.baseUrl}` : i.region);
  const rows: Array<[string, string, string, string]> = [
    ['display_name', 'Display name', stored.displayName, input.displayName],
    ['isnotai_base_url', 'isnotai region or address', region(stored), region(input)],
    [
      'api_key',
      'API key',
      current.hasApiKey ? 'set' : 'not set',
      input.apiKey ? 'a new key (not kept: type it again)' : input.removeKey ? 'remove it' : 'keep it',
    ],
    ['identity', 'Identity mapping', stored.identity, input.identity],
    ['identity_pattern', 'Identity pattern', stored.identityPattern || 'the default', input.identityPattern || 'the default'],
    ['student_visibility', 'What students see', stored.studentVisibility, input.studentVisibility],
    ['thresholds', 'Risk lines', `high ${stored.high}, elevated ${stored.elevated}`, `high ${input.high}, elevated ${input.elevated}`],
    [
      'deployment_ids',
      'Deployment ids',
      stored.deploymentIds.split('\n').join(', ') || 'any',
      linesOf(input.deploymentIds).join(', ') || 'any',
    ],
    ['retention_days', 'Retention (days)', stored.retentionDays, input.retentionDays],
  ];
  return rows
    .filter(([name]) => changed.has(name))
    .map(([, label, now, yours]) => ({ label, now: clip(now, 500), yours: clip(yours, 500), differs: now !== yours }));
}

// ---------------------------------------------------------------------------------------------------------------------
// History (the audit log)

/** The version a registration write made, from its audit row's resource (`registration 7 v3`), or null. */
export function versionWritten(entry: Pick<AuditEntry, 'resourceId'>, id: string): number | null {
  const m = /^registration (\d+) v(\d+)$/.exec(entry.resourceId ?? '');
  return m && m[1] === id ? Number(m[2]) : null;
}

/** One write of the registration's history, as a 409 page lists it. */
export function historyView(entry: AuditEntry, version: number) {
  const detail = typeof entry.detail === 'object' && entry.detail !== null && !Array.isArray(entry.detail) ? entry.detail : {};
  return {
    version,
    at: formatDateTime(entry.at),
    iso: entry.at.toISOString(),
    by: `${clip(entry.actorUserId, 80)} (${clip(entry.actorRole, 20)})`,
    what: registrationDetailWords(detail as Record<string, unknown>) ?? 'changed',
  };
}

/**
 * LTI Dynamic Registration, platform side, shaped like Moodle 4.4 (mod/lti/openid-configuration.php,
 * startltiadvregistration.php, openid-registration.php and its registration_helper), as captured on the
 * wire in ../shared/fixtures/moodle-4.4/registration-and-deep-linking (dynamic-registration.json).
 *
 * Modelled quirks (the capture's README, "Surprises"):
 * - the registration token is a JWT signed with the platform's key: {sub: the future client_id (15
 *   random characters), scope: "reg", iat, exp = iat + 3600}; it is single-use once a registration
 *   succeeded (`token_already_used`, 401), a failed attempt does not use it up;
 * - errors are bare strings with `Content-Type: text/html; charset=utf-8` (`missing_registration_token`
 *   401, `domain_targetlinkuri_mismatch` 400, `missing required attribute …` 400, …);
 * - `domain` must equal the host of target_link_uri, port included (Moodle's lti_get_domain_from_url);
 * - the tool type is created Pending; its id is the deployment id;
 * - the answer is rebuilt from Moodle's stored config (config_to_registration): scope reordered with
 *   lineitem.readonly added, messages without label, claims [sub, iss, name, family_name, given_name,
 *   email], logo_uri "", grant_types [client_credentials, implicit], the tool configuration gains
 *   version "1.3.0" and deployment_id, and there is no registration_client_uri.
 */
import { randomInt } from 'node:crypto';
import { AGS_SCOPES, NRPS_SCOPE } from './claims';
import { isRecord } from './jwt';

/** The openid-configuration's `version`: Moodle's release string (tool_platform.version is $version). */
export const MOODLE_RELEASE = '4.4.12+ (Build: 20251212)';

const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
const PLATFORM_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-platform-configuration';

const SCOPE = {
  score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  result: 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  lineitemReadonly: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  lineitem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  nrps: NRPS_SCOPE,
  toolSetting: 'https://purl.imsglobal.org/spec/lti-ts/scope/toolsetting',
  basicOutcome: 'https://purl.imsglobal.org/spec/lti-bo/scope/basicoutcome',
} as const;

/** Moodle's lti_types.state: 1 configured ("Active"), 2 pending, 3 rejected. */
export type ToolTypeState = 'active' | 'pending' | 'rejected';

export const TOOL_STATE_CODE: Record<ToolTypeState, number> = { active: 1, pending: 2, rejected: 3 };
export const TOOL_STATE_TEXT: Record<ToolTypeState, string> = { active: 'Active', pending: 'Pending', rejected: 'Rejected' };

/** A tool type as Moodle keeps it after a dynamic registration (mdl_lti_types + mdl_lti_types_config). */
export interface ToolType {
  /** The type id; also the deployment id Moodle sends. A string, as in the id_token. */
  id: string;
  clientId: string;
  name: string;
  description: string;
  state: ToolTypeState;
  /** `baseurl` / `toolurl`: the registration's target_link_uri. */
  toolUrl: string;
  /** `tooldomain`: the registered domain, `www.` stripped, port kept. */
  toolDomain: string;
  initiateLoginUri: string;
  /** `redirectionuris`: auth.php accepts exactly these. */
  redirectUris: string[];
  jwksUri: string;
  logoUri: string;
  /** `contentitem`: the tool registered an LtiDeepLinkingRequest message. */
  contentItem: boolean;
  /** `toolurl_ContentItemSelectionRequest`: that message's target_link_uri ('' when it gave none). */
  deepLinkingUrl: string;
  /** `customparameters`: tool-level custom parameters, one `key=value` a line. */
  customParameters: string;
  /** `ltiservice_gradesynchronization`: 0 none, 1 grade sync only, 2 sync and line item management. */
  gradeSynchronization: 0 | 1 | 2;
  /** `ltiservice_memberships`: 1 when Names and Roles was asked for. */
  memberships: 0 | 1;
  toolSettings: 0 | 1;
  /** `sendname`, `sendemailaddr`: 1 (Always) when those claims were asked for, else 0 (Never). */
  sendName: 0 | 1;
  sendEmailAddr: 0 | 1;
  /** `acceptgrades`: 2 ("delegate to teacher") when any AGS scope was asked for, else 0. */
  acceptGrades: 0 | 2;
  /** `launchcontainer`: 3, "Embed, without blocks". */
  launchContainer: 3;
  /** `coursevisible`: 1, "Show as preconfigured tool when adding an external tool". */
  courseVisible: 1;
  /** What the tool POSTed, and what Moodle answered. */
  registrationRequest: Record<string, unknown>;
  registrationResponse: Record<string, unknown>;
  /** Seconds since the epoch. */
  timeCreated: number;
  timeModified: number;
}

/** The tool type as the emulator's pages and the agent read it (Moodle's mod_lti_get_tool_types shape). */
export interface ToolTypeView {
  id: number;
  name: string;
  description: string;
  platformid: string;
  clientid: string;
  deploymentid: number;
  urls: { publickeyset: string; accesstoken: string; authrequest: string };
  state: { text: string; pending: boolean; configured: boolean; rejected: boolean; unknown: boolean };
}

export function toolTypeView(type: ToolType, issuer: string, platformBase: string): ToolTypeView {
  return {
    id: Number(type.id),
    name: type.name,
    description: type.description,
    platformid: issuer,
    clientid: type.clientId,
    deploymentid: Number(type.id),
    urls: {
      publickeyset: `${platformBase}/mod/lti/certs.php`,
      accesstoken: `${platformBase}/mod/lti/token.php`,
      authrequest: `${platformBase}/mod/lti/auth.php`,
    },
    state: {
      text: TOOL_STATE_TEXT[type.state],
      pending: type.state === 'pending',
      configured: type.state === 'active',
      rejected: type.state === 'rejected',
      unknown: false,
    },
  };
}

/** Moodle's variables list in the openid-configuration, as captured. */
const MOODLE_VARIABLES = [
  'basic-lti-launch-request',
  'ContentItemSelectionRequest',
  'ToolProxyRegistrationRequest',
  'Context.id',
  'Context.title',
  'Context.label',
  'Context.id.history',
  'Context.sourcedId',
  'Context.longDescription',
  'Context.timeFrame.begin',
  'CourseSection.title',
  'CourseSection.label',
  'CourseSection.sourcedId',
  'CourseSection.longDescription',
  'CourseSection.timeFrame.begin',
  'CourseSection.timeFrame.end',
  'ResourceLink.id',
  'ResourceLink.title',
  'ResourceLink.description',
  'User.id',
  'User.username',
  'Person.name.full',
  'Person.name.given',
  'Person.name.family',
  'Person.email.primary',
  'Person.sourcedId',
  'Person.name.middle',
  'Person.address.street1',
  'Person.address.locality',
  'Person.address.country',
  'Person.address.timezone',
  'Person.phone.primary',
  'Person.phone.mobile',
  'Person.webaddress',
  'Membership.role',
  'Result.sourcedId',
  'Result.autocreate',
  'BasicOutcome.sourcedId',
  'BasicOutcome.url',
  'Moodle.Person.userGroupIds',
];

/** GET mod/lti/openid-configuration.php, key for key as captured, with this emulator's URLs. */
export function openidConfiguration(issuer: string, platformBase: string): Record<string, unknown> {
  return {
    issuer,
    token_endpoint: `${platformBase}/mod/lti/token.php`,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    jwks_uri: `${platformBase}/mod/lti/certs.php`,
    authorization_endpoint: `${platformBase}/mod/lti/auth.php`,
    registration_endpoint: `${platformBase}/mod/lti/openid-registration.php`,
    scopes_supported: [
      SCOPE.basicOutcome,
      SCOPE.lineitemReadonly,
      SCOPE.result,
      SCOPE.score,
      SCOPE.lineitem,
      SCOPE.nrps,
      SCOPE.toolSetting,
      'openid',
    ],
    response_types_supported: ['id_token'],
    subject_types_supported: ['public', 'pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['sub', 'iss', 'name', 'given_name', 'family_name', 'email'],
    [PLATFORM_CONFIGURATION]: {
      product_family_code: 'moodle',
      version: MOODLE_RELEASE,
      messages_supported: [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest', placements: ['ContentArea'] }],
      variables: MOODLE_VARIABLES,
    },
  };
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Moodle's random_string(n): letters and digits (a new client id is random_string(15)). */
export function moodleRandomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** A refusal of openid-registration.php: Moodle answers the bare message with this status. */
export class RegistrationError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RegistrationError';
  }
}

/** Moodle's lti_get_domain_from_url: what is before the first `/`, without scheme and `www.`. */
export function moodleDomain(url: string): string | undefined {
  return /(?:https?:\/\/)?(?:www\.)?([^/]+)(?:\/|$)/i.exec(url)?.[1];
}

/** PHP's empty(): null, '', '0', 0, false, [] (and here an empty object, as a decoded `{}` is []). */
function phpEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '' || value === '0') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.keys(value).length === 0;
  return false;
}

function parameter(payload: Record<string, unknown>, key: string, required: true): unknown;
function parameter(payload: Record<string, unknown>, key: string, required: false): unknown;
function parameter(payload: Record<string, unknown>, key: string, required: boolean): unknown {
  const value = payload[key];
  if (phpEmpty(value)) {
    if (required) throw new RegistrationError(`missing required attribute ${key}`, 400);
    return null;
  }
  return value;
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : JSON.stringify(value);
}

/** The parts of a tool type that a registration sets (registration_helper::registration_to_config). */
export type ToolTypeConfig = Omit<
  ToolType,
  'id' | 'state' | 'registrationRequest' | 'registrationResponse' | 'timeCreated' | 'timeModified'
>;

/**
 * Reads a registration POST body as Moodle does, in Moodle's order of checks. `body` is the raw text:
 * Moodle json_decodes it; what does not decode to an object is refused here with a bare 400 (Moodle
 * itself would fail with a PHP TypeError, 500, which no tool should need to see).
 */
export function registrationToConfig(body: string, clientId: string): { config: ToolTypeConfig; request: Record<string, unknown> } {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    throw new RegistrationError('invalid_registration_request: the body is not JSON', 400);
  }
  if (!isRecord(payload)) throw new RegistrationError('invalid_registration_request: the body is not a JSON object', 400);
  const responseTypes = parameter(payload, 'response_types', true);
  const initiateLoginUri = parameter(payload, 'initiate_login_uri', true);
  const redirectUris = parameter(payload, 'redirect_uris', true);
  const clientName = parameter(payload, 'client_name', true);
  const jwksUri = parameter(payload, 'jwks_uri', true);
  const tokenEndpointAuthMethod = parameter(payload, 'token_endpoint_auth_method', true);
  const applicationType = parameter(payload, 'application_type', false);
  const logoUri = parameter(payload, 'logo_uri', false);
  const toolConfiguration = parameter(payload, TOOL_CONFIGURATION, true);
  if (!isRecord(toolConfiguration)) throw new RegistrationError(`missing required attribute ${TOOL_CONFIGURATION}`, 400);

  const rawDomain = parameter(toolConfiguration, 'domain', false);
  const rawTarget = parameter(toolConfiguration, 'target_link_uri', false);
  const customParameters = parameter(toolConfiguration, 'custom_parameters', false);
  const scopes = text(parameter(payload, 'scope', false)).split(' ');
  const claims = parameter(toolConfiguration, 'claims', false);
  const messages = Array.isArray(toolConfiguration.messages) ? (toolConfiguration.messages as unknown[]) : [];
  const description = parameter(toolConfiguration, 'description', false);

  if (rawDomain === null) throw new RegistrationError('missing_domain', 400);
  const target = rawTarget === null ? `https://${text(rawDomain)}` : text(rawTarget);
  const domain = moodleDomain(text(rawDomain));
  if (domain === undefined || domain !== moodleDomain(target)) throw new RegistrationError('domain_targetlinkuri_mismatch', 400);
  if (!Array.isArray(responseTypes) || !responseTypes.includes('id_token')) throw new RegistrationError('invalid_response_types', 400);
  if (!Array.isArray(redirectUris)) throw new RegistrationError('invalid_redirect_uris', 400);
  if (tokenEndpointAuthMethod !== 'private_key_jwt') throw new RegistrationError('invalid_token_endpoint_auth_method', 400);
  if (applicationType !== null && applicationType !== 'web') throw new RegistrationError('invalid_application_type', 400);

  let contentItem = false;
  let deepLinkingUrl = '';
  for (const message of messages) {
    if (isRecord(message) && message.type === 'LtiDeepLinkingRequest') {
      contentItem = true;
      deepLinkingUrl = text(message.target_link_uri);
    }
  }
  const custom = isRecord(customParameters) ? Object.entries(customParameters).map(([k, v]) => `${k}=${text(v)}`) : [];

  let gradeSynchronization: 0 | 1 | 2 = 0;
  if ([SCOPE.score, SCOPE.result, SCOPE.lineitemReadonly].some((s) => scopes.includes(s))) gradeSynchronization = 1;
  if (scopes.includes(SCOPE.lineitem)) gradeSynchronization = 2;
  const claimList = Array.isArray(claims) ? claims : [];
  const sendName = ['name', 'given_name', 'family_name'].some((c) => claimList.includes(c)) ? 1 : 0;

  return {
    request: payload,
    config: {
      clientId,
      name: text(clientName),
      description: text(description),
      toolUrl: target,
      toolDomain: domain,
      initiateLoginUri: text(initiateLoginUri),
      redirectUris: redirectUris.map(text),
      jwksUri: text(jwksUri),
      logoUri: text(logoUri),
      contentItem,
      deepLinkingUrl,
      customParameters: custom.join('\n'),
      gradeSynchronization,
      memberships: scopes.includes(SCOPE.nrps) ? 1 : 0,
      toolSettings: scopes.includes(SCOPE.toolSetting) ? 1 : 0,
      sendName,
      sendEmailAddr: claimList.includes('email') ? 1 : 0,
      acceptGrades: gradeSynchronization > 0 ? 2 : 0,
      launchContainer: 3,
      courseVisible: 1,
    },
  };
}

/**
 * What Moodle answers a successful registration with (registration_helper::config_to_registration),
 * key order as captured. Moodle's PHP reads `$x ?? 0 == 2` as `$x ?? (0 == 2)`, so every AGS scope
 * comes back once any was asked for, and the name claims whenever sendname is Always.
 */
export function configToRegistration(type: ToolType): Record<string, unknown> {
  const scopes: string[] = [];
  if (type.gradeSynchronization > 0) scopes.push(SCOPE.score, SCOPE.result, SCOPE.lineitemReadonly, SCOPE.lineitem);
  if (type.memberships) scopes.push(SCOPE.nrps);
  if (type.toolSettings) scopes.push(SCOPE.toolSetting);
  const claims = ['sub', 'iss'];
  if (type.sendName) claims.push('name', 'family_name', 'given_name');
  if (type.sendEmailAddr) claims.push('email');
  const toolConfiguration: Record<string, unknown> = {
    version: '1.3.0',
    deployment_id: type.id,
    target_link_uri: type.toolUrl,
    domain: type.toolDomain,
    description: type.description,
  };
  if (type.contentItem) toolConfiguration.messages = [{ type: 'LtiDeepLinkingRequest', target_link_uri: type.deepLinkingUrl }];
  if (type.customParameters) {
    // explode('=') keeps only what is between the first and the second '=' of each line.
    toolConfiguration.custom_parameters = Object.fromEntries(
      type.customParameters.split('\n').map((line) => {
        const parts = line.split('=');
        return [parts[0] as string, parts[1] ?? ''];
      }),
    );
  }
  toolConfiguration.claims = claims;
  return {
    client_id: type.clientId,
    response_types: ['id_token'],
    jwks_uri: type.jwksUri,
    initiate_login_uri: type.initiateLoginUri,
    grant_types: ['client_credentials', 'implicit'],
    redirect_uris: type.redirectUris,
    application_type: 'web',
    token_endpoint_auth_method: 'private_key_jwt',
    client_name: type.name,
    logo_uri: type.logoUri,
    scope: scopes.join(' '),
    [TOOL_CONFIGURATION]: toolConfiguration,
  };
}

/** The AGS scopes Moodle puts in a launch's endpoint claim for a type's grade synchronisation. */
export function agsScopesFor(gradeSynchronization: 0 | 1 | 2): string[] {
  return gradeSynchronization === 2 ? AGS_SCOPES : AGS_SCOPES.filter((s) => s !== SCOPE.lineitem);
}

/**
 * Moodle's custom parameter lines (lti_split_custom_parameters) as claim entries: `key=value` a line
 * (\r\n, \n\r or \r also end a line), key and value trimmed, a value starting with `$` substituted
 * when Moodle knows the variable. LTI 1.3 sends the key lowercased with other characters than
 * [a-z0-9_] made `_`, and the key as written too when that differs.
 */
export function splitCustomParameters(textLines: string, substitutions: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of textLines.replace(/\r\n|\n\r|\r/g, '\n').split('\n')) {
    const pos = line.indexOf('=');
    if (pos < 1) continue;
    const key = line.slice(0, pos).trim();
    const raw = line.slice(pos + 1).trim();
    const value = raw.startsWith('$') && raw.slice(1) in substitutions ? (substitutions[raw.slice(1)] as string) : raw;
    const mapped = key.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    out[mapped] = value;
    if (mapped !== key) out[key] = value;
  }
  return out;
}

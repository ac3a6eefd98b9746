/**
 * LTI Dynamic Registration (1EdTech LTI Dynamic Registration 1.0), the tool's side of the exchange (docs/product.md
 * "Installing the tool"): read the LMS's `GET /register?openid_configuration=…&registration_token=…`, fetch and check
 * the platform's configuration, post the tool's registration to the platform and check its answer. This file decides
 * and never renders or stores: src/web/registrationPage.ts refuses with its RegistrationRefusal pages, stores the
 * platform through ltijs's own `lti.registerPlatform` and the registration through src/store/registrations.ts.
 *
 * We do NOT call ltijs's `DynamicRegistration.register`: it fetches with got and follows redirects, validates nothing
 * it reads, names the platform randomly, and checks for a takeover (an issuer and client id already registered) only
 * after it has registered. The exchange is done here with undici, each answer read under a size and time limit and
 * checked with zod, and refused before anything is stored:
 * - a configuration whose issuer is on another host than the configuration URL (anyone can start a registration, so
 *   a configuration could otherwise name any LMS as its issuer), or whose registration endpoint is on another host
 *   than the configuration (the tool would post to wherever it says);
 * - an issuer and client id that is already registered (before posting, when the registration token is a JWT whose
 *   `sub` names the client id to come, as Moodle's is; after, from the platform's answer).
 *
 * Every request of the exchange goes through an undici Agent that connects only to public addresses (see
 * `isPublicAddress`): the host is resolved and checked at connect time, so a name that resolves to an internal address,
 * now or later (DNS rebinding), is refused (400 `registration_host_not_allowed`), as is a literal private address. The
 * operator allows LMSs on a private network with ALLOW_PRIVATE_LMS_HOSTS (development: the emulator is on 127.0.0.1).
 *
 * The token is sent to the platform and never logged, stored or shown.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { unverifiedJwtPayload } from './jwtPayload';

export const NRPS_SCOPE = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';
export const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
export const PLATFORM_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-platform-configuration';
/** Canvas's own key in the tool configuration: its privacy level (names and emails are sent only when `public`). */
export const CANVAS_PRIVACY_LEVEL = 'https://canvas.instructure.com/lti/privacy_level';

/** The tool as the LMS lists it. */
export const TOOL_CLIENT_NAME = 'isnotai integrity';
export const TOOL_DESCRIPTION =
  'Shows isnotai integrity signals to students, instructors and administrators: risk levels for a person to review, never a verdict.';
export const DEEP_LINKING_LABEL = 'Integrity signals for an activity';
/** Canvas sends its numeric user id only through a custom parameter (src/lti/identity.ts, custom:canvas_user_id). */
export const CANVAS_CUSTOM_PARAMETERS = { canvas_user_id: '$Canvas.user.id' } as const;
/** The claims the tool asks for: who the person is, and their name and email for the staff pages. */
export const TOOL_CLAIMS = ['iss', 'sub', 'name', 'given_name', 'family_name', 'email'] as const;

export const MAX_CONFIGURATION_URL = 2000;
export const MAX_REGISTRATION_TOKEN = 8192;
/** A platform's configuration and its answer to the registration are small JSON documents. */
export const MAX_ANSWER_BYTES = 256 * 1024;
export const FETCH_TIMEOUT_MS = 10_000;
/** How much of the LMS's refusal the page shows. */
export const MAX_LMS_ANSWER = 300;
/** Registrations waiting to be activated (and exchanges in progress) beyond which /register takes no new one. */
export const MAX_PENDING_REGISTRATIONS = 50;

/**
 * Instructure's hosted Canvas names one issuer for every school (canvas.instructure.com and its beta and test
 * twins) while each school's configuration URL is on its own `*.instructure.com` host: that pair is the one
 * exception to "the configuration is on its issuer's host", and it is Instructure's domain on both sides.
 */
const CANVAS_CLOUD_ISSUERS = new Set(['canvas.instructure.com', 'canvas.beta.instructure.com', 'canvas.test.instructure.com']);
const CANVAS_CLOUD_SUFFIX = '.instructure.com';
/** Instructure's shared login hosts, where hosted Canvas's configuration puts its authorization, token and key set endpoints. */
const CANVAS_CLOUD_LOGIN_HOSTS = new Set(['sso.canvaslms.com', 'sso.beta.canvaslms.com', 'sso.test.canvaslms.com']);

export type RegistrationRefusalCode =
  | 'registration_request_invalid'
  | 'registration_pending_limit'
  | 'registration_host_not_allowed'
  | 'registration_configuration_unreachable'
  | 'registration_configuration_invalid'
  | 'registration_issuer_mismatch'
  | 'registration_endpoint_mismatch'
  | 'registration_exists'
  | 'registration_lms_unreachable'
  | 'registration_refused_by_lms'
  | 'registration_response_invalid';

/** Why a registration stopped: src/web renders it as a page with this status, code, message and hints. */
export class RegistrationRefusal extends Error {
  override readonly name = 'RegistrationRefusal';
  constructor(
    readonly status: 400 | 405 | 409 | 502 | 503,
    readonly code: RegistrationRefusalCode,
    message: string,
    readonly hints: readonly string[] = [],
    /** The LMS's own words when it refused the registration (a bare string in Moodle), clipped. */
    readonly lmsAnswer?: string,
    /** For the log line only, never the page: why a connection failed (a network error code). */
    readonly logDetail?: Record<string, string>,
  ) {
    super(message);
  }
}

export interface RegistrationQuery {
  openidConfiguration: URL;
  /** Absent: the platform asked for none (the spec makes it optional). */
  registrationToken: string | null;
}

const START_AGAIN = 'Start the registration again from the LMS (in Moodle: Site administration → Plugins → External tool → Manage tools).';

/** The query the LMS opens /register with; a missing or malformed configuration URL is a 400. */
export function readRegistrationQuery(query: Record<string, unknown>): RegistrationQuery {
  const raw = query.openid_configuration;
  const invalid = (message: string) => new RegistrationRefusal(400, 'registration_request_invalid', message, [START_AGAIN]);
  if (raw === undefined || raw === '') throw invalid('The LMS did not send the address of its configuration (openid_configuration).');
  if (typeof raw !== 'string') throw invalid('The LMS sent more than one configuration address (openid_configuration).');
  if (raw.length > MAX_CONFIGURATION_URL)
    throw invalid(
      `The configuration address (openid_configuration) is longer than ${MAX_CONFIGURATION_URL.toLocaleString('en-GB')} characters.`,
    );
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('The configuration address (openid_configuration) is not a web address.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw invalid('The configuration address (openid_configuration) must be an http(s) address.');
  const token = query.registration_token;
  if (token !== undefined && typeof token !== 'string') throw invalid('The LMS sent more than one registration token.');
  if (typeof token === 'string' && token.length > MAX_REGISTRATION_TOKEN)
    throw invalid(`The registration token is longer than ${MAX_REGISTRATION_TOKEN.toLocaleString('en-GB')} characters.`);
  return { openidConfiguration: url, registrationToken: token ? token : null };
}

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) address' }).max(MAX_CONFIGURATION_URL);
const shortText = (max: number) => z.string().max(max);

const configurationSchema = z.looseObject({
  issuer: httpUrl,
  authorization_endpoint: httpUrl,
  token_endpoint: httpUrl,
  jwks_uri: httpUrl,
  registration_endpoint: httpUrl,
  authorization_server: shortText(MAX_CONFIGURATION_URL).optional(),
  [PLATFORM_CONFIGURATION]: z
    .looseObject({
      product_family_code: shortText(100).optional(),
      version: shortText(200).optional(),
    })
    .optional(),
});

export interface PlatformConfiguration {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  registrationEndpoint: string;
  authorizationServer: string | null;
  /** `product_family_code` lowercased (`moodle`, `canvas`, …); '' when the platform names none. */
  productFamilyCode: string;
  version: string | null;
}

export interface ExchangeOptions {
  /** ALLOW_PRIVATE_LMS_HOSTS: connect to private and local addresses too (development, an LMS on a private network). */
  allowPrivateHosts: boolean;
}

/** GET the platform's configuration (no redirect followed), and check its shape: 502 naming the field when wrong. */
export async function fetchPlatformConfiguration(
  url: URL,
  registrationToken: string | null,
  options: ExchangeOptions,
): Promise<PlatformConfiguration> {
  const unreachable = (why: string, logDetail?: Record<string, string>) =>
    new RegistrationRefusal(
      502,
      'registration_configuration_unreachable',
      `The tool could not read the LMS’s configuration: ${why}.`,
      [
        `The configuration address was ${url.host}${url.pathname}.`,
        'Check that the LMS can be reached from the tool’s server, then start the registration again.',
      ],
      undefined,
      logDetail,
    );
  let answer: BoundedAnswer;
  try {
    answer = await boundedRequest(
      url.href,
      {
        method: 'GET',
        headers: {
          accept: 'application/json',
          // Canvas wants the token for its configuration too; Moodle ignores it.
          ...(registrationToken ? { authorization: `Bearer ${registrationToken}` } : {}),
        },
      },
      options,
    );
  } catch (err) {
    if (privateHostOf(err)) throw hostNotAllowed(url);
    throw unreachable(describeFailure(err), failureDetail(err));
  }
  if (answer.status >= 300 && answer.status < 400)
    throw unreachable(`it answered with a redirect (HTTP ${answer.status}), which the tool does not follow`);
  if (answer.status !== 200) throw unreachable(`it answered HTTP ${answer.status}`);
  const invalid = (what: string) =>
    new RegistrationRefusal(502, 'registration_configuration_invalid', `The LMS’s configuration cannot be used: ${what}.`, [
      `The configuration address was ${url.host}${url.pathname}.`,
      'This LMS may not support LTI Dynamic Registration (LTI Advantage); register the tool by hand instead (README, “Run it for real”).',
    ]);
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    throw invalid('it is not JSON');
  }
  const parsed = configurationSchema.safeParse(json);
  if (!parsed.success) throw invalid(describeIssue(parsed.error.issues[0]));
  const c = parsed.data;
  const product = c[PLATFORM_CONFIGURATION];
  return {
    issuer: c.issuer,
    authorizationEndpoint: c.authorization_endpoint,
    tokenEndpoint: c.token_endpoint,
    jwksUri: c.jwks_uri,
    registrationEndpoint: c.registration_endpoint,
    authorizationServer: c.authorization_server || null,
    productFamilyCode: (product?.product_family_code ?? '').trim().toLowerCase(),
    version: product?.version?.trim() || null,
  };
}

/** 400 `registration_host_not_allowed`: names the host as the LMS gave it, never the address it resolved to. */
function hostNotAllowed(url: URL): RegistrationRefusal {
  return new RegistrationRefusal(
    400,
    'registration_host_not_allowed',
    `The tool does not connect to ${url.hostname}: it is, or resolves to, a private or local network address.`,
    [
      'The tool registers only LMSs reached at a public address.',
      'If this LMS really is on a private network, the tool’s operator can allow that with ALLOW_PRIVATE_LMS_HOSTS=true, then the registration can be started again.',
    ],
  );
}

/** Host and port, the default port spelled out (http://a and https://a are not the same place). */
function hostAndPort(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname.toLowerCase()}:${port}`;
}

/** How a host is named on a page: as the URL writes it (the port only when not the default). */
function shownHost(url: URL): string {
  return url.host;
}

/**
 * The configuration must come from its issuer's host, and the registration go to the configuration's host; its
 * authorization, token and key set endpoints must be on the configuration's host too (the authorization endpoint's
 * origin may frame the tool once the registration is active, and ltijs reads the other two at launch): 400 otherwise,
 * naming both hosts. Instructure's hosted Canvas is the one named exception (see CANVAS_CLOUD_ISSUERS): its issuer is
 * canvas.instructure.com and its endpoints may be on any https `*.instructure.com` host or its shared login host
 * (sso.canvaslms.com).
 */
export function checkConfigurationHosts(configurationUrl: URL, platform: PlatformConfiguration): void {
  const issuer = new URL(platform.issuer);
  const canvasCloud =
    issuer.protocol === 'https:' &&
    CANVAS_CLOUD_ISSUERS.has(issuer.hostname.toLowerCase()) &&
    configurationUrl.protocol === 'https:' &&
    configurationUrl.hostname.toLowerCase().endsWith(CANVAS_CLOUD_SUFFIX);
  if (!canvasCloud && hostAndPort(issuer) !== hostAndPort(configurationUrl)) {
    throw new RegistrationRefusal(
      400,
      'registration_issuer_mismatch',
      `The LMS’s configuration was served by ${shownHost(configurationUrl)}, but it names an issuer on another host (${shownHost(issuer)}). The tool registers an LMS only from its own address.`,
      [
        'Start the registration from the LMS whose address is its issuer.',
        'If this LMS really is served from another address than its issuer, register it by hand instead (README, “Run it for real”).',
      ],
    );
  }
  const endpoint = new URL(platform.registrationEndpoint);
  if (hostAndPort(endpoint) !== hostAndPort(configurationUrl)) {
    throw new RegistrationRefusal(
      400,
      'registration_endpoint_mismatch',
      `The LMS’s configuration was served by ${shownHost(configurationUrl)}, but it asks the tool to register at another host (${shownHost(endpoint)}).`,
      ['Start the registration again from the LMS itself, or register the tool by hand (README, “Run it for real”).'],
    );
  }
  const others: Array<[string, string]> = [
    ['authorization_endpoint', platform.authorizationEndpoint],
    ['token_endpoint', platform.tokenEndpoint],
    ['jwks_uri', platform.jwksUri],
  ];
  for (const [field, address] of others) {
    const url = new URL(address);
    if (hostAndPort(url) === hostAndPort(configurationUrl) || (canvasCloud && canvasCloudHost(url))) continue;
    throw new RegistrationRefusal(
      400,
      'registration_endpoint_mismatch',
      `The LMS’s configuration was served by ${shownHost(configurationUrl)}, but its ${field} is on another host (${shownHost(url)}).`,
      ['Start the registration again from the LMS itself, or register the tool by hand (README, “Run it for real”).'],
    );
  }
}

/** An https address on one of Instructure's hosts of hosted Canvas. */
function canvasCloudHost(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return url.protocol === 'https:' && (host.endsWith(CANVAS_CLOUD_SUFFIX) || CANVAS_CLOUD_LOGIN_HOSTS.has(host));
}

/**
 * The client id a registration token announces, when it is a JWT with a `sub` (Moodle's: `{sub: <future client id>,
 * scope: "reg"}`). Read without verifying: it is used only to refuse early, never to accept anything.
 */
export function registrationTokenSubject(token: string | null): string | null {
  const sub = token ? unverifiedJwtPayload(token, MAX_REGISTRATION_TOKEN)?.sub : undefined;
  return typeof sub === 'string' && sub.length > 0 && sub.length <= 255 ? sub : null;
}

/** What the tool asks the platform for (the body it POSTs). `toolUrl` has no trailing slash. */
export function toolRegistrationRequest(
  toolUrl: string,
  platform: Pick<PlatformConfiguration, 'productFamilyCode'>,
): Record<string, unknown> {
  const tool = new URL(toolUrl);
  const targetLinkUri = `${toolUrl}/`;
  const canvas = platform.productFamilyCode === 'canvas';
  return {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: `${toolUrl}/login`,
    redirect_uris: [targetLinkUri],
    client_name: TOOL_CLIENT_NAME,
    jwks_uri: `${toolUrl}/keys`,
    token_endpoint_auth_method: 'private_key_jwt',
    // Names and Roles only: the tool reads the roster and sends no grades.
    scope: NRPS_SCOPE,
    [TOOL_CONFIGURATION]: {
      // The host with its port: Moodle refuses a domain that is not target_link_uri's host, port included.
      domain: tool.host,
      target_link_uri: targetLinkUri,
      description: TOOL_DESCRIPTION,
      claims: [...TOOL_CLAIMS],
      ...(canvas ? { custom_parameters: { ...CANVAS_CUSTOM_PARAMETERS }, [CANVAS_PRIVACY_LEVEL]: 'public' } : {}),
      messages: [
        { type: 'LtiResourceLinkRequest', target_link_uri: targetLinkUri },
        { type: 'LtiDeepLinkingRequest', target_link_uri: targetLinkUri, label: DEEP_LINKING_LABEL },
      ],
    },
  };
}

const responseSchema = z.looseObject({
  client_id: z.string().trim().min(1, 'must not be empty').max(255),
  scope: z.string().max(4000).optional(),
  [TOOL_CONFIGURATION]: z
    .looseObject({
      deployment_id: z
        .union([z.string().trim().max(255), z.number().int().nonnegative()])
        .transform(String)
        .optional(),
      messages: z
        .array(z.looseObject({ type: shortText(100) }))
        .max(50)
        .optional(),
    })
    .optional(),
});

export interface RegistrationResult {
  clientId: string;
  /** The deployment the platform created with the registration (Moodle: the tool type id); null when it names none. */
  deploymentId: string | null;
  scopesGranted: string[];
  /** The message types the platform kept. */
  messages: string[];
}

/** POST the registration; the platform's refusal (a bare string in Moodle) is a 502 that carries its words. */
export async function postRegistration(
  platform: PlatformConfiguration,
  registrationToken: string | null,
  body: Record<string, unknown>,
  options: ExchangeOptions,
): Promise<RegistrationResult> {
  const endpoint = new URL(platform.registrationEndpoint);
  let answer: BoundedAnswer;
  try {
    answer = await boundedRequest(
      endpoint.href,
      {
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          ...(registrationToken ? { authorization: `Bearer ${registrationToken}` } : {}),
        },
        body: JSON.stringify(body),
      },
      options,
    );
  } catch (err) {
    if (privateHostOf(err)) throw hostNotAllowed(endpoint);
    throw new RegistrationRefusal(
      502,
      'registration_lms_unreachable',
      `The tool could not send its registration to the LMS: ${describeFailure(err)}.`,
      [`The registration address was ${endpoint.host}${endpoint.pathname}.`, 'Start the registration again from the LMS.'],
      undefined,
      failureDetail(err),
    );
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw new RegistrationRefusal(
      502,
      'registration_refused_by_lms',
      `The LMS refused the tool’s registration (HTTP ${answer.status}).`,
      [
        'A registration token can be used once: start the registration again from the LMS to get a new one.',
        'If the LMS keeps refusing, its answer above says why; the tool’s operator can also register it by hand (README, “Run it for real”).',
      ],
      lmsAnswerText(answer),
    );
  }
  const invalid = (what: string) =>
    new RegistrationRefusal(
      502,
      'registration_response_invalid',
      `The LMS accepted the registration but its answer cannot be used: ${what}.`,
      ['Nothing was stored in the tool. The LMS may now list the tool: remove it there, then start the registration again.'],
    );
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    throw invalid('it is not JSON');
  }
  const parsed = responseSchema.safeParse(json);
  if (!parsed.success) throw invalid(describeIssue(parsed.error.issues[0]));
  const r = parsed.data;
  const toolConfiguration = r[TOOL_CONFIGURATION];
  const requested = (body[TOOL_CONFIGURATION] as { messages?: Array<{ type: string }> } | undefined)?.messages ?? [];
  return {
    clientId: r.client_id,
    deploymentId: toolConfiguration?.deployment_id || null,
    scopesGranted: (r.scope ?? '').split(/\s+/).filter(Boolean),
    messages: [...new Set((toolConfiguration?.messages ?? requested).map((m) => m.type))],
  };
}

/** What the LMS said when it refused: its bare string, or an OAuth error's code and description; clipped. */
function lmsAnswerText(answer: BoundedAnswer): string {
  let text = answer.text;
  try {
    const json: unknown = JSON.parse(text);
    if (json && typeof json === 'object') {
      const e = json as { error?: unknown; error_description?: unknown; message?: unknown };
      const parts = [e.error, e.error_description ?? e.message].filter((p): p is string => typeof p === 'string' && p.length > 0);
      if (parts.length > 0) text = parts.join(': ');
    }
  } catch {
    // A bare string (Moodle), or an HTML page.
  }
  const flat = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!flat) return '(an empty answer)';
  return flat.length <= MAX_LMS_ANSWER ? flat : `${flat.slice(0, MAX_LMS_ANSWER - 1)}…`;
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'its shape is wrong';
  const field = issue.path.map(String).join('.') || 'the document';
  return issue.code === 'invalid_type' && issue.input === undefined ? `${field} is missing` : `${field} ${issue.message}`;
}

/**
 * What the page says about a failed request: what an admin needs (too large, too slow, not reachable), never the
 * network error itself (that would tell whoever starts a registration how a host and port answered).
 */
function describeFailure(err: unknown): string {
  if (err instanceof AnswerTooLarge) return `its answer is larger than ${MAX_ANSWER_BYTES / 1024} kB`;
  const name = (err as { name?: string } | null)?.name;
  const code = (err as { code?: string } | null)?.code;
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return `it did not answer within ${FETCH_TIMEOUT_MS / 1000} seconds`;
  return 'it could not be reached';
}

/** The network error's code, for the log line of the refusal (the operator's, not the page's). */
function failureDetail(err: unknown): Record<string, string> | undefined {
  const code = (err as { code?: unknown } | null)?.code ?? (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  const name = (err as { name?: unknown } | null)?.name;
  const cause = typeof code === 'string' ? code : typeof name === 'string' ? name : null;
  return cause ? { cause: cause.slice(0, 60) } : undefined;
}

class AnswerTooLarge extends Error {
  override readonly name = 'AnswerTooLarge';
}

/** A connection refused by `publicOnlyLookup` or `guardedConnector`: its address is not public. */
class PrivateHostRefused extends Error {
  override readonly name = 'PrivateHostRefused';
  constructor(readonly hostname: string) {
    super(`${hostname} is, or resolves to, a private or local address`);
  }
}

function privateHostOf(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof PrivateHostRefused) return true;
  }
  return false;
}

/**
 * Whether an LMS may be at this address without ALLOW_PRIVATE_LMS_HOSTS: only ipaddr.js's `unicast` range (public
 * unicast), read as IPv4 when it is an IPv4-mapped or IPv4-compatible IPv6 address. Refused: loopback, private,
 * link-local (169.254/16 and fe80::/10), unique-local (fc00::/7), CGNAT (100.64/10), 0/8, multicast, broadcast,
 * documentation and other reserved ranges, and the IPv6 forms that carry an IPv4 address (NAT64, 6to4, Teredo).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** `net.connect`'s `lookup`: resolves the host and refuses it when any address it resolves to is not public. */
function publicOnlyLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    if (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address))) return callback(new PrivateHostRefused(hostname), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0] as dns.LookupAddress;
    callback(null, first.address, first.family);
  });
}

/** The connector of the guarded Agent: a literal address is checked here (Node does not look one up), a name by `publicOnlyLookup`. */
function guardedConnector(): buildConnector.connector {
  const connect = buildConnector({ lookup: publicOnlyLookup, timeout: FETCH_TIMEOUT_MS });
  return (options, callback) => {
    if (net.isIP(options.hostname) !== 0 && !isPublicAddress(options.hostname)) {
      callback(new PrivateHostRefused(options.hostname), null);
      return;
    }
    connect(options, callback);
  };
}

const agents: { guarded?: Agent; open?: Agent } = {};

/** The dispatcher of the exchange: public addresses only, unless the operator allows private ones. */
export function exchangeDispatcher(options: ExchangeOptions): Dispatcher {
  if (options.allowPrivateHosts) return (agents.open ??= new Agent({ connect: { timeout: FETCH_TIMEOUT_MS } }));
  return (agents.guarded ??= new Agent({ connect: guardedConnector() }));
}

interface BoundedAnswer {
  status: number;
  text: string;
}

/** One request, no redirect followed (undici's `request` follows none), its body read up to MAX_ANSWER_BYTES. */
async function boundedRequest(
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  options: ExchangeOptions,
): Promise<BoundedAnswer> {
  const res = await request(url, {
    dispatcher: exchangeDispatcher(options),
    method: init.method,
    headers: init.headers,
    body: init.body,
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    headersTimeout: FETCH_TIMEOUT_MS,
    bodyTimeout: FETCH_TIMEOUT_MS,
  });
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_ANSWER_BYTES) {
    res.body.destroy();
    throw new AnswerTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > MAX_ANSWER_BYTES) {
      res.body.destroy();
      throw new AnswerTooLarge();
    }
    chunks.push(buf);
  }
  return { status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') };
}

/**
 * A test user agent for launches over real HTTP (integration tests, benchmarks): a cookie jar,
 * 3xx redirects, and the auto-submitting HTML forms that carry an LTI launch (login initiation,
 * OIDC form_post). Built on undici `request`, which never follows redirects by itself, so every
 * hop is seen and its cookies handled as a browser would. Plain HTTP only.
 *
 * Replay test, in two launches:
 *   const first = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4' });
 *   const again = await browser.replay({ platform: 'moodle', courseId: '2', userId: '4', idToken: first.idToken! });
 * The second launch gets a fresh state and state cookie from the tool, but posts the first
 * launch's id_token (an already used nonce) in place of the new one.
 *
 * Moodle's Dynamic Registration and Deep Linking, as a test reads them:
 *   const reg = await browser.registerTool(`${tool.url}/register`);    // reg.toolType: Pending
 *   await browser.activateToolType(reg.toolType!.id);
 *   const picker = await browser.deepLink({ courseId: '2', typeId: reg.toolType!.id, userId: '3' });
 *   const done = await browser.submitForm(picker);                     // the tool's form → contentitem_return.php
 *   const launch = await browser.launch({ activity: '5', userId: '4' }); // view.php?id=5
 */
import { request } from 'undici';
import { CookieJar, type StoredCookie } from './cookieJar';
import { findAutoSubmitForm, parseForms, type HtmlForm } from './forms';
import { decodeJwt } from './jwt';
import type { LaunchRequest } from './emulator';
import type { ActivityLaunchRequest, DeepLinkingRequest } from './moodleTools';
import type { ToolTypeState, ToolTypeView } from './registration';

export interface Hop {
  method: string;
  url: string;
  status: number;
}

export interface BrowserResponse {
  status: number;
  /** URL of the final response. */
  url: string;
  /** Body of the final response (HTML or otherwise), as text. */
  html: string;
  headers: Record<string, string | string[] | undefined>;
  /** The `ltik` query parameter of the final URL (or the last URL in the chain that had one). */
  ltik?: string;
  cookies: StoredCookie[];
  /** The id_token this flow posted (or would have posted) to the tool, and its state. */
  idToken?: string;
  state?: string;
  history: Hop[];
}

export interface FormSubmission {
  /** URL of the page that holds the form. */
  page: string;
  method: 'GET' | 'POST';
  action: string;
  fields: Record<string, string>;
}

/** How this agent runs a flow that carries an id_token. */
export interface FlowControl {
  /** Change an auto-submitted form's fields before it is sent (e.g. swap the id_token). */
  rewriteForm?: (form: FormSubmission) => Record<string, string>;
  /** Stop before posting the id_token to the tool (the token's nonce stays unused). */
  stopBeforeTool?: boolean;
  /**
   * The top-level page this flow runs in. Default: for target 'iframe', the demo LMS page (the
   * tool runs framed by the LMS, so cross-site tools meet third-party cookie rules); otherwise
   * none (a top-level window). Moodle's activities, content selection and registration run framed.
   */
  framedBy?: string | null;
}

/** A launch as the emulator starts it (LaunchRequest), and how this agent runs it. */
export interface LaunchOptions extends LaunchRequest, FlowControl {}

/** Moodle: a launch of an activity made by deep linking (view.php?id=<cmid>), as the person `userId`. */
export interface ActivityLaunchOptions extends Omit<ActivityLaunchRequest, 'cmid'>, FlowControl {
  /** The activity's course module id (cmid). */
  activity: string;
}

/** Moodle: "Select content" (contentitem.php) as a teacher, up to the tool's content selection page. */
export interface DeepLinkOptions extends DeepLinkingRequest, FlowControl {}

type AnyLaunch = LaunchOptions | ActivityLaunchOptions;
type WithoutFlow<T> = T extends unknown ? Omit<T, 'stopBeforeTool' | 'rewriteForm'> : never;

/** A Moodle tool type as the agent reads it back. */
export interface RegisteredToolType {
  id: string;
  clientId: string;
  /** The deployment id Moodle sends: the type id. */
  deploymentId: string;
  state: ToolTypeState;
  name: string;
}

/** What `registerTool` saw: the tool's page (in Moodle's iframe) and the tool type Moodle made. */
export interface ToolRegistrationResult extends BrowserResponse {
  /** The registration_token Moodle handed the tool, and its `sub` (the future client id). */
  registrationToken?: string;
  clientId?: string;
  /** The tool type Moodle created, or null when the tool did not register. */
  toolType: RegisteredToolType | null;
}

export interface CapturedIdToken {
  idToken: string;
  state: string;
  /** The tool URL the id_token was about to be posted to. */
  redirectUri: string;
  claims: Record<string, unknown>;
  header: Record<string, unknown>;
}

export interface LtiBrowserOptions {
  /** The LMS emulator's base URL (LmsEmulator.url). */
  lmsUrl: string;
  maxHops?: number;
  /** Emulate a browser that blocks third-party cookies (Safari, Firefox, some Chromium). */
  blockThirdPartyCookies?: boolean;
  /** Stricter: keep no cookie at all for a cross-site framed page, partitioned or not (Safari). */
  blockFramedCookies?: boolean;
  userAgent?: string;
}

export class AgentError extends Error {
  constructor(
    readonly code: 'TOO_MANY_HOPS' | 'NO_ID_TOKEN' | 'BAD_REDIRECT' | 'NO_FORM' | 'BAD_ANSWER',
    message: string,
    readonly response?: BrowserResponse,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

interface Step {
  method: 'GET' | 'POST';
  url: string;
  form?: Record<string, string>;
  initiator?: string;
}

interface FlowOptions {
  rewriteForm?: FlowControl['rewriteForm'];
  stopBeforeTool?: boolean;
  topLevelUrl?: string;
  followForms?: boolean;
}

export class LtiBrowser {
  readonly jar: CookieJar;
  private readonly lmsUrl: string;
  private readonly maxHops: number;
  private readonly userAgent: string;

  constructor(options: LtiBrowserOptions) {
    this.lmsUrl = options.lmsUrl.replace(/\/+$/, '');
    this.maxHops = options.maxHops ?? 25;
    this.userAgent = options.userAgent ?? 'isnotai-lti-test-agent/1.0';
    this.jar = new CookieJar(
      Date.now,
      (options.blockThirdPartyCookies ?? false) || (options.blockFramedCookies ?? false),
      options.blockFramedCookies ?? false,
    );
  }

  launchUrl(
    options: Pick<
      LaunchOptions,
      'platform' | 'courseId' | 'userId' | 'target' | 'resourceLinkId' | 'tamper' | 'toolTypeId' | 'ignoreToolState'
    >,
  ): string {
    const q = new URLSearchParams({ course: options.courseId, user: options.userId });
    if (options.target) q.set('target', options.target);
    if (options.resourceLinkId) q.set('resourceLink', options.resourceLinkId);
    if (options.tamper && Object.keys(options.tamper).length > 0) q.set('tamper', JSON.stringify(options.tamper));
    if (options.toolTypeId) q.set('toolType', options.toolTypeId);
    if (options.ignoreToolState) q.set('ignoreToolState', '1');
    return `${this.lmsUrl}/${options.platform}/launch?${q.toString()}`;
  }

  /** Moodle: the URL that launches an activity made by deep linking (view.php?id=<cmid>&user=). */
  activityLaunchUrl(options: Pick<ActivityLaunchOptions, 'activity' | 'userId' | 'tamper' | 'ignoreToolState'>): string {
    const q = new URLSearchParams({ id: options.activity, user: options.userId });
    if (options.ignoreToolState) q.set('ignoreToolState', '1');
    if (options.tamper && Object.keys(options.tamper).length > 0) q.set('tamper', JSON.stringify(options.tamper));
    return `${this.lmsUrl}/moodle/mod/lti/view.php?${q.toString()}`;
  }

  /** Moodle: the URL of "Select content" (contentitem.php). */
  deepLinkUrl(options: Omit<DeepLinkOptions, keyof FlowControl>): string {
    const q = new URLSearchParams({ course: options.courseId, id: options.typeId, user: options.userId });
    if (options.title !== undefined) q.set('title', options.title);
    if (options.text !== undefined) q.set('text', options.text);
    if (options.ignoreToolState) q.set('ignoreToolState', '1');
    if (options.tamper && Object.keys(options.tamper).length > 0) q.set('tamper', JSON.stringify(options.tamper));
    return `${this.lmsUrl}/moodle/mod/lti/contentitem.php?${q.toString()}`;
  }

  /**
   * Launches as a person, following the whole flow to the tool's page: from a course (the
   * platform's launch page; `toolTypeId` for a Moodle tool type registered dynamically), or an
   * activity made by deep linking (`{ activity: cmid, userId }`, Moodle's view.php, framed).
   */
  launch(options: AnyLaunch): Promise<BrowserResponse> {
    const isActivity = 'activity' in options;
    const framedDefault = isActivity || options.target === 'iframe' ? `${this.lmsUrl}/` : undefined;
    const framedBy = options.framedBy === undefined ? framedDefault : (options.framedBy ?? undefined);
    const url = isActivity ? this.activityLaunchUrl(options) : this.launchUrl(options);
    return this.flow(
      { method: 'GET', url, ...(framedBy ? { initiator: framedBy } : {}) },
      { rewriteForm: options.rewriteForm, stopBeforeTool: options.stopBeforeTool, topLevelUrl: framedBy },
    );
  }

  /**
   * Moodle's "Select content" as a teacher: contentitem.php's login initiation, the tool's login,
   * the LtiDeepLinkingRequest id_token posted to the tool, up to the tool's content selection page
   * (which waits for the teacher: submit its form with `submitForm`).
   */
  deepLink(options: DeepLinkOptions): Promise<BrowserResponse> {
    const framedBy = options.framedBy === undefined ? `${this.lmsUrl}/` : (options.framedBy ?? undefined);
    return this.flow(
      { method: 'GET', url: this.deepLinkUrl(options), ...(framedBy ? { initiator: framedBy } : {}) },
      { rewriteForm: options.rewriteForm, stopBeforeTool: options.stopBeforeTool, topLevelUrl: framedBy },
    );
  }

  /**
   * Submits a form of a page this agent got (the first, the `form`-th, or the first `form` accepts),
   * with `fields` over its own, and follows what comes (redirects, auto-submitted forms).
   */
  submitForm(
    page: BrowserResponse,
    options: { form?: number | ((form: HtmlForm) => boolean); fields?: Record<string, string>; framedBy?: string | null } = {},
  ): Promise<BrowserResponse> {
    const forms = parseForms(page.html, page.url);
    const pick = options.form ?? 0;
    const form = typeof pick === 'number' ? forms[pick] : forms.find(pick);
    if (!form) throw new AgentError('NO_FORM', `no such form on ${page.url} (${forms.length} forms)`, page);
    const fields = { ...form.fields, ...options.fields };
    const framedBy = options.framedBy === undefined ? `${this.lmsUrl}/` : (options.framedBy ?? undefined);
    const step: Step =
      form.method === 'POST'
        ? { method: 'POST', url: form.action, form: fields, initiator: page.url }
        : { method: 'GET', url: withQuery(form.action, fields), initiator: page.url };
    return this.flow(step, { topLevelUrl: framedBy });
  }

  /**
   * Moodle's "Add LTI Advantage" with the tool's registration URL: startltiadvregistration.php (in
   * an iframe of the LMS page) redirects to the tool, which registers itself server to server and
   * answers its page. Returns that page and the tool type Moodle made (Pending), if any.
   */
  async registerTool(toolRegisterUrl: string, options: { framedBy?: string | null } = {}): Promise<ToolRegistrationResult> {
    const framedBy = options.framedBy === undefined ? `${this.lmsUrl}/` : (options.framedBy ?? undefined);
    const start = `${this.lmsUrl}/moodle/mod/lti/startltiadvregistration.php?${new URLSearchParams({ url: toolRegisterUrl }).toString()}`;
    const res = await this.flow({ method: 'GET', url: start, ...(framedBy ? { initiator: framedBy } : {}) }, { topLevelUrl: framedBy });
    const registrationToken =
      res.history.map((h) => new URL(h.url).searchParams.get('registration_token')).find((t): t is string => Boolean(t)) ?? undefined;
    let clientId: string | undefined;
    if (registrationToken) {
      const sub = decodeJwt(registrationToken).payload.sub;
      clientId = typeof sub === 'string' ? sub : undefined;
    }
    const toolType = clientId ? ((await this.toolTypes()).find((t) => t.clientId === clientId) ?? null) : null;
    return { ...res, ...(registrationToken ? { registrationToken } : {}), ...(clientId ? { clientId } : {}), toolType };
  }

  /** Moodle's tool types (GET /moodle/mod/lti/tooltypes.php). */
  async toolTypes(): Promise<RegisteredToolType[]> {
    const res = await request(`${this.lmsUrl}/moodle/mod/lti/tooltypes.php`, { method: 'GET', headers: { accept: 'application/json' } });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new AgentError('BAD_ANSWER', `tooltypes.php answered ${res.statusCode}: ${text}`);
    return (JSON.parse(text) as ToolTypeView[]).map(registeredType);
  }

  /** Moodle's Activate (or deactivate / reject) on a tool card. */
  async setToolTypeState(id: string, action: 'activate' | 'deactivate' | 'reject'): Promise<RegisteredToolType> {
    const res = await request(`${this.lmsUrl}/moodle/mod/lti/toolconfigure.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ action, id }).toString(),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new AgentError('BAD_ANSWER', `toolconfigure.php answered ${res.statusCode}: ${text}`);
    return registeredType(JSON.parse(text) as ToolTypeView);
  }

  activateToolType(id: string): Promise<RegisteredToolType> {
    return this.setToolTypeState(id, 'activate');
  }

  /** Runs a launch up to the signed id_token and returns it without posting it to the tool. */
  async captureIdToken(options: WithoutFlow<AnyLaunch>): Promise<CapturedIdToken> {
    let redirectUri = '';
    const res = await this.launch({
      ...options,
      stopBeforeTool: true,
      rewriteForm: (form) => {
        if ('id_token' in form.fields) redirectUri = form.action;
        return form.fields;
      },
    });
    if (!res.idToken) throw new AgentError('NO_ID_TOKEN', `the launch ended at ${res.url} (${res.status}) without an id_token`, res);
    const decoded = decodeJwt(res.idToken);
    return { idToken: res.idToken, state: res.state ?? '', redirectUri, claims: decoded.payload, header: decoded.header };
  }

  /** A fresh launch (new state, new state cookie) that posts `idToken` instead of its own. */
  replay(options: WithoutFlow<AnyLaunch> & { idToken: string }): Promise<BrowserResponse> {
    const { idToken, ...launch } = options;
    return this.launch({
      ...launch,
      rewriteForm: (form) => ('id_token' in form.fields ? { ...form.fields, id_token: idToken } : form.fields),
    });
  }

  get(url: string, options: { followForms?: boolean; topLevelUrl?: string } = {}): Promise<BrowserResponse> {
    return this.flow({ method: 'GET', url }, options);
  }

  post(url: string, form: Record<string, string>, options: { followForms?: boolean; topLevelUrl?: string } = {}): Promise<BrowserResponse> {
    return this.flow({ method: 'POST', url, form }, options);
  }

  private async flow(first: Step, options: FlowOptions): Promise<BrowserResponse> {
    const history: Hop[] = [];
    let step: Step = first;
    let idToken: string | undefined;
    let state: string | undefined;
    let ltik: string | undefined;
    for (let hop = 0; hop < this.maxHops; hop++) {
      const headers: Record<string, string> = {
        'user-agent': this.userAgent,
        accept: 'text/html,application/json;q=0.9,*/*;q=0.8',
        // Where a browser's navigation says it runs (Fetch Metadata): a frame of the LMS page, or a window of its own.
        // (Not Sec-Fetch-Mode: tests read `.json` answers through this agent as a script would.)
        'sec-fetch-dest': options.topLevelUrl ? 'iframe' : 'document',
      };
      const cookie = this.jar.header(step.url, { method: step.method, initiator: step.initiator, topLevelUrl: options.topLevelUrl });
      if (cookie) headers.cookie = cookie;
      let body: string | undefined;
      if (step.method === 'POST') {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(step.form ?? {}).toString();
        if (step.initiator) headers.origin = new URL(step.initiator).origin;
      }
      if (step.initiator) headers.referer = step.initiator;
      const res = await request(step.url, { method: step.method, headers, body });
      const text = await res.body.text();
      this.jar.setFromResponse(step.url, res.headers['set-cookie'], { topLevelUrl: options.topLevelUrl });
      history.push({ method: step.method, url: step.url, status: res.statusCode });
      const urlLtik = new URL(step.url).searchParams.get('ltik');
      if (urlLtik) ltik = urlLtik;

      const location = res.headers.location;
      if (res.statusCode >= 300 && res.statusCode < 400 && location) {
        const next = new URL(Array.isArray(location) ? (location[0] as string) : location, step.url).href;
        if (!/^https?:/.test(next)) throw new AgentError('BAD_REDIRECT', `redirect to ${next}`);
        const keepMethod = res.statusCode === 307 || res.statusCode === 308;
        step = keepMethod ? { ...step, url: next, initiator: step.url } : { method: 'GET', url: next, initiator: step.url };
        continue;
      }

      const contentType = String(res.headers['content-type'] ?? '');
      const form = options.followForms === false || !contentType.includes('html') ? undefined : findAutoSubmitForm(text, step.url);
      const final = (): BrowserResponse => ({
        status: res.statusCode,
        url: step.url,
        html: text,
        headers: res.headers,
        ...(ltik ? { ltik } : {}),
        cookies: this.jar.all(),
        ...(idToken ? { idToken } : {}),
        ...(state !== undefined ? { state } : {}),
        history,
      });
      if (!form) return final();
      const submission: FormSubmission = { page: step.url, method: form.method, action: form.action, fields: form.fields };
      const fields = options.rewriteForm ? options.rewriteForm(submission) : form.fields;
      if ('id_token' in fields) {
        idToken = fields.id_token;
        state = fields.state;
        if (options.stopBeforeTool) return final();
      }
      step =
        form.method === 'POST'
          ? { method: 'POST', url: form.action, form: fields, initiator: step.url }
          : { method: 'GET', url: withQuery(form.action, fields), initiator: step.url };
    }
    throw new AgentError('TOO_MANY_HOPS', `more than ${this.maxHops} redirects or forms, last at ${step.url}`);
  }
}

function registeredType(view: ToolTypeView): RegisteredToolType {
  const state: ToolTypeState = view.state.configured ? 'active' : view.state.rejected ? 'rejected' : 'pending';
  return { id: String(view.id), clientId: view.clientid, deploymentId: String(view.deploymentid), state, name: view.name };
}

function withQuery(action: string, fields: Record<string, string>): string {
  const url = new URL(action);
  url.search = new URLSearchParams(fields).toString();
  return url.href;
}

export type { HtmlForm, StoredCookie };

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
 */
import { request } from 'undici';
import { CookieJar, type StoredCookie } from './cookieJar';
import { findAutoSubmitForm, type HtmlForm } from './forms';
import { decodeJwt } from './jwt';
import type { LaunchRequest } from './emulator';

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

/** A launch as the emulator starts it (LaunchRequest), and how this agent runs it. */
export interface LaunchOptions extends LaunchRequest {
  /** Change an auto-submitted form's fields before it is sent (e.g. swap the id_token). */
  rewriteForm?: (form: FormSubmission) => Record<string, string>;
  /** Stop before posting the id_token to the tool (the token's nonce stays unused). */
  stopBeforeTool?: boolean;
  /**
   * The top-level page this flow runs in. Default: for target 'iframe', the demo LMS page (the
   * tool runs framed by the LMS, so cross-site tools meet third-party cookie rules); otherwise
   * none (a top-level window).
   */
  framedBy?: string | null;
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
    readonly code: 'TOO_MANY_HOPS' | 'NO_ID_TOKEN' | 'BAD_REDIRECT',
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
  rewriteForm?: LaunchOptions['rewriteForm'];
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

  launchUrl(options: Pick<LaunchOptions, 'platform' | 'courseId' | 'userId' | 'target' | 'resourceLinkId' | 'tamper'>): string {
    const q = new URLSearchParams({ course: options.courseId, user: options.userId });
    if (options.target) q.set('target', options.target);
    if (options.resourceLinkId) q.set('resourceLink', options.resourceLinkId);
    if (options.tamper && Object.keys(options.tamper).length > 0) q.set('tamper', JSON.stringify(options.tamper));
    return `${this.lmsUrl}/${options.platform}/launch?${q.toString()}`;
  }

  /** Launches as a person from a course, following the whole flow to the tool's page. */
  launch(options: LaunchOptions): Promise<BrowserResponse> {
    const framedBy =
      options.framedBy === undefined ? (options.target === 'iframe' ? `${this.lmsUrl}/` : undefined) : (options.framedBy ?? undefined);
    return this.flow(
      { method: 'GET', url: this.launchUrl(options), ...(framedBy ? { initiator: framedBy } : {}) },
      { rewriteForm: options.rewriteForm, stopBeforeTool: options.stopBeforeTool, topLevelUrl: framedBy },
    );
  }

  /** Runs a launch up to the signed id_token and returns it without posting it to the tool. */
  async captureIdToken(options: Omit<LaunchOptions, 'stopBeforeTool' | 'rewriteForm'>): Promise<CapturedIdToken> {
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
  replay(options: Omit<LaunchOptions, 'rewriteForm' | 'stopBeforeTool'> & { idToken: string }): Promise<BrowserResponse> {
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
      const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'text/html,application/json;q=0.9,*/*;q=0.8' };
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

function withQuery(action: string, fields: Record<string, string>): string {
  const url = new URL(action);
  url.search = new URLSearchParams(fields).toString();
  return url.href;
}

export type { HtmlForm, StoredCookie };

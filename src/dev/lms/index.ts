/** The LTI 1.3 platform emulator (development and tests only). */
export {
  startLmsEmulator,
  CANVAS_ISSUER,
  CANVAS_CLIENT_ID,
  CANVAS_DEPLOYMENT_ID,
  MOODLE_CLIENT_ID,
  MOODLE_DEPLOYMENT_ID,
  TamperSchema,
  type LmsEmulator,
  type LmsEmulatorOptions,
  type PlatformRegistration,
  type LaunchRequest,
  type Tamper,
  type IssuedIdToken,
} from './emulator';
export { MOODLE_RELEASE, moodleDomain, type ToolType, type ToolTypeState, type ToolTypeView } from './registration';
export type { DeepLinkingRequest, ActivityLaunchRequest } from './moodleTools';
export type { LtiActivity, DeepLinkResponse } from './deepLinking';
export { canvasContextId, canvasLegacyUserId, resourceLinks, LmsError, type DocumentTarget, type ResourceLink } from './model';
export { ROLE, NRPS_SCOPE } from './claims';
export { NRPS_CONTENT_TYPE, CANVAS_DEFAULT_PAGE_SIZE, CANVAS_MAX_PAGE_SIZE } from './nrps';
export { decodeJwt, verifyJwt } from './jwt';
export {
  LtiBrowser,
  AgentError,
  type BrowserResponse,
  type LaunchOptions,
  type ActivityLaunchOptions,
  type DeepLinkOptions,
  type FlowControl,
  type RegisteredToolType,
  type ToolRegistrationResult,
  type CapturedIdToken,
  type FormSubmission,
  type Hop,
  type LtiBrowserOptions,
} from './agent';
export { CookieJar, siteOf, isTrustworthy, type StoredCookie, type SameSite, type CookieRequestContext } from './cookieJar';
export { findAutoSubmitForm, parseForms, decodeEntities, type HtmlForm } from './forms';

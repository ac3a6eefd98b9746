/**
 * `GET /canvas.json` (public, no launch): the tool's LTI 1.3 configuration in Canvas's developer-key JSON format, so a
 * Canvas administrator adds the tool by pasting this address ("Enter URL") instead of typing each field
 * (docs/product.md "Installing the tool"). Canvas's format ("Configuring LTI Advantage Tools", JSON configuration):
 * the tool's login, launch and keyset URLs; the Names and Roles scope (the tool sends no grades); one
 * `canvas.instructure.com` extension, privacy level `public` (names and emails), with the placements Course Navigation
 * and Assignment View (resource link launches) and Link Selection (Deep Linking, placing the tool on an activity); and
 * the custom field `canvas_user_id=$Canvas.user.id`, the user id the tool maps to isnotai (src/lti/identity.ts).
 */
import type { Request, RequestHandler } from 'express';
import { CANVAS_CUSTOM_PARAMETERS, DEEP_LINKING_LABEL, NRPS_SCOPE, TOOL_CLIENT_NAME, TOOL_DESCRIPTION } from '../lti/dynamicRegistration';
import { toolUrlOf } from './registrationPage';

export const CANVAS_CONFIG_ROUTE = '/canvas.json';
/** The tool's name in Canvas's menus. */
export const CANVAS_LINK_TEXT = 'Integrity signals';
/** The configuration holds nothing secret: Canvas and proxies may keep it a few minutes. */
const MAX_AGE_SECONDS = 300;

export interface CanvasPlacement {
  placement: 'course_navigation' | 'assignment_view' | 'link_selection';
  message_type: 'LtiResourceLinkRequest' | 'LtiDeepLinkingRequest';
  target_link_uri: string;
  text: string;
  enabled: true;
  [key: string]: unknown;
}

/** Canvas's developer-key JSON for the tool at `toolUrl` (no trailing slash). */
export function canvasConfiguration(toolUrl: string): Record<string, unknown> {
  const launch = `${toolUrl}/`;
  const placements: CanvasPlacement[] = [
    // Staff and students alike: the tool shows each their own page (src/lti/roles.ts).
    {
      placement: 'course_navigation',
      message_type: 'LtiResourceLinkRequest',
      target_link_uri: launch,
      text: CANVAS_LINK_TEXT,
      enabled: true,
      default: 'enabled',
    },
    {
      placement: 'assignment_view',
      message_type: 'LtiResourceLinkRequest',
      target_link_uri: launch,
      text: CANVAS_LINK_TEXT,
      enabled: true,
    },
    {
      placement: 'link_selection',
      message_type: 'LtiDeepLinkingRequest',
      target_link_uri: launch,
      text: DEEP_LINKING_LABEL,
      enabled: true,
    },
  ];
  return {
    title: TOOL_CLIENT_NAME,
    description: TOOL_DESCRIPTION,
    oidc_initiation_url: `${toolUrl}/login`,
    target_link_uri: launch,
    public_jwk_url: `${toolUrl}/keys`,
    scopes: [NRPS_SCOPE],
    extensions: [
      {
        platform: 'canvas.instructure.com',
        domain: new URL(toolUrl).host,
        tool_id: 'isnotai-integrity',
        privacy_level: 'public',
        settings: { text: CANVAS_LINK_TEXT, placements },
      },
    ],
    custom_fields: { ...CANVAS_CUSTOM_PARAMETERS },
  };
}

/** The route: the configuration for TOOL_URL, or (development, no TOOL_URL) for the address the request came to. */
export function canvasConfigRoute(options: { toolUrl: string | undefined }): RequestHandler {
  return (req: Request, res) => {
    const toolUrl = toolUrlOf(req, options.toolUrl);
    res.set('Cache-Control', `public, max-age=${MAX_AGE_SECONDS}`);
    res.type('application/json').send(`${JSON.stringify(canvasConfiguration(toolUrl), null, 2)}\n`);
  };
}

/**
 * One rule per setting of an LMS registration, shared by the start-up configuration (PLATFORMS_JSON, src/config.ts) and
 * the settings form in the tool (src/web/registrations.ts), so that a value is accepted or refused the same way
 * wherever it is typed. Each rule's message is written for the person who typed the value.
 */
import { z } from 'zod';
import { ISNOTAI_REGIONS } from './isnotai/regions';
import { IDENTITY_STRATEGY_RULE, identityPatternProblem, isIdentityStrategy, type IdentityStrategy } from './lti/identity';
import { riskThresholdsSchema } from './risk/thresholds';
import { retentionDaysSchema } from './store/retention';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) address' });

export const SETTING_RULES = {
  displayName: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  /** isnotai API keys look like `aik_v1_…`. */
  apiKey: z
    .string()
    .max(1000, 'must be at most 1,000 characters')
    .regex(/^aik_v1_\S+$/, 'must look like aik_v1_… (the key isnotai gave you, without spaces)'),
  isnotaiBaseUrl: httpUrl,
  region: z.enum(Object.keys(ISNOTAI_REGIONS) as [keyof typeof ISNOTAI_REGIONS, ...Array<keyof typeof ISNOTAI_REGIONS>], {
    error: `must be one of ${Object.keys(ISNOTAI_REGIONS).join(', ')}`,
  }),
  // The rules of src/lti/identity.ts (lti11_legacy_user_id: ltijs does not keep that launch claim; the tool does).
  identity: z.custom<IdentityStrategy>(isIdentityStrategy, IDENTITY_STRATEGY_RULE),
  /** The shape of a valid id of the mapping, a regular expression matched against the whole id. */
  identityPattern: z
    .string()
    .max(500, 'must be at most 500 characters')
    .superRefine((v, ctx) => {
      const problem = identityPatternProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  thresholds: riskThresholdsSchema,
  studentVisibility: z.enum(['full', 'summary', 'notice'], { error: 'must be full, summary or notice' }),
  /** How long responses, review records, accommodations and the audit log are kept, in days. */
  retentionDays: retentionDaysSchema,
  /** Empty: any deployment of the registration. */
  deploymentIds: z
    .array(z.string().trim().min(1, 'a deployment id must not be empty').max(255, 'a deployment id must be at most 255 characters'))
    .max(100, 'at most 100 deployment ids'),
} as const;

export type SettingName = keyof typeof SETTING_RULES;

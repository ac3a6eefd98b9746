// ltijs ships no type declarations; this is the part of its surface the tool uses.
declare module 'ltijs' {
  import type { Express, Request, Response, NextFunction } from 'express';

  export interface LtiPlatformInfo {
    product_family_code?: string;
    version?: string;
    guid?: string;
    name?: string;
  }
  export interface LtiContextToken {
    contextId: string;
    user: string;
    roles?: string[];
    path?: string;
    targetLinkUri?: string;
    context?: { id?: string; label?: string; title?: string; type?: string[] } | null;
    resource?: { id?: string; title?: string } | null;
    custom?: Record<string, unknown> | null;
    launchPresentation?: { document_target?: string; return_url?: string; locale?: string } | null;
    messageType?: string;
    version?: string;
    lis?: { person_sourcedid?: string; course_section_sourcedid?: string } | null;
    endpoint?: unknown;
    namesRoles?: { context_memberships_url?: string; service_versions?: string[] } | null;
  }
  export interface LtiIdToken {
    iss: string;
    user: string;
    userInfo?: { given_name?: string; family_name?: string; name?: string; email?: string };
    platformInfo?: LtiPlatformInfo;
    clientId: string;
    platformId: string;
    deploymentId: string;
    platformContext: LtiContextToken;
  }
  export interface LtiPlatform {
    platformUrl(): Promise<string>;
    platformClientId(): Promise<string>;
    platformName(): Promise<string>;
    platformKid(): Promise<string>;
    platformActive(): Promise<boolean>;
    platformAuthEndpoint(): Promise<string>;
  }
  export interface RegisterPlatformInput {
    url: string;
    name: string;
    clientId: string;
    authenticationEndpoint: string;
    accesstokenEndpoint: string;
    authorizationServer?: string;
    authConfig: { method: 'JWK_SET' | 'JWK_KEY' | 'RSA_KEY'; key: string };
  }
  export interface MembersResult {
    id?: string;
    context?: { id?: string; label?: string; title?: string };
    members: Array<Record<string, unknown>>;
    next?: string;
  }
  type Handler = (req: Request, res: Response, next: NextFunction) => unknown;
  export interface Provider {
    app: Express;
    setup(encryptionKey: string, database: { plugin: unknown }, options: Record<string, unknown>): Provider;
    deploy(options?: { port?: number; silent?: boolean; serverless?: boolean }): Promise<true>;
    close(options?: { silent?: boolean }): Promise<true>;
    onConnect(cb: (token: LtiIdToken, req: Request, res: Response, next: NextFunction) => unknown): true;
    onDeepLinking(cb: (token: LtiIdToken, req: Request, res: Response, next: NextFunction) => unknown): true;
    onInvalidToken(cb: Handler): true;
    onSessionTimeout(cb: Handler): true;
    onUnregisteredPlatform(cb: Handler): true;
    onInactivePlatform(cb: Handler): true;
    whitelist(...routes: Array<string | RegExp | { route: string | RegExp; method: string }>): true;
    registerPlatform(p: RegisterPlatformInput): Promise<LtiPlatform | false>;
    getPlatform(url: string, clientId?: string): Promise<LtiPlatform | LtiPlatform[] | false>;
    deletePlatform(url: string, clientId: string): Promise<boolean>;
    getAllPlatforms(): Promise<LtiPlatform[]>;
    /** ltijs's Database plugin (ours, src/store/ltijsPlugin.ts). */
    Database: { Delete(collection: string, query: Record<string, unknown>): Promise<unknown> };
    NamesAndRoles: {
      getMembers(
        token: LtiIdToken,
        options?: { role?: string; limit?: number; pages?: number | false; url?: string; resourceLinkId?: boolean },
      ): Promise<MembersResult>;
    };
    redirect(res: Response, path: string, options?: { newResource?: boolean; query?: Record<string, string> }): void;
  }
  export const Provider: Provider;
}

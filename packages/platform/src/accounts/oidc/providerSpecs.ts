import { ConfigError } from '@matrixos/shared';
import { z } from 'zod';

/** One OpenID Connect provider people may sign in with. */
export interface ProviderSpec {
  /** Names it in URLs and in the database (`/auth/oidc/{id}/callback`). */
  id: string;
  /** What the button says: "Continue with {name}". */
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export const GOOGLE_ISSUER = 'https://accounts.google.com';

const id = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,30}$/, 'an id is lower-case letters, digits and hyphens, a letter first');

/** `OIDC_PROVIDERS`: a JSON list of providers configured by issuer URL, client id and secret. */
export const providerList = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON list' });
      return z.NEVER;
    }
  })
  .pipe(
    z.array(
      z.object({
        id,
        name: z.string().trim().min(1).max(40),
        issuer: z.url(),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1),
      }),
    ),
  );

/**
 * The providers this server offers: Google when its client is configured, then the listed ones.
 * Off (an empty list) unless configured. Ids are unique, and so are issuers: an identity is an
 * (issuer, subject) pair, and two entries for one issuer would make one person two identities.
 */
export function providerSpecs(env: {
  googleClientId?: string;
  googleClientSecret?: string;
  providers?: z.infer<typeof providerList>;
}): ProviderSpec[] {
  const specs: ProviderSpec[] = [];
  if (env.googleClientId || env.googleClientSecret) {
    if (!env.googleClientId || !env.googleClientSecret)
      throw new ConfigError('Google sign-in needs both OIDC_GOOGLE_CLIENT_ID and OIDC_GOOGLE_CLIENT_SECRET');
    specs.push({
      id: 'google',
      name: 'Google',
      issuer: GOOGLE_ISSUER,
      clientId: env.googleClientId,
      clientSecret: env.googleClientSecret,
    });
  }
  for (const p of env.providers ?? []) specs.push(p);
  const ids = new Set<string>();
  const issuers = new Set<string>();
  for (const s of specs) {
    if (ids.has(s.id)) throw new ConfigError(`OIDC_PROVIDERS: the id "${s.id}" is used twice`);
    if (issuers.has(s.issuer))
      throw new ConfigError(`OIDC_PROVIDERS: the issuer ${s.issuer} is listed twice`);
    ids.add(s.id);
    issuers.add(s.issuer);
  }
  return specs;
}

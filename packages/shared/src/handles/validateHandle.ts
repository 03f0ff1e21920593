/**
 * Names a handle may not take: hosts of the platform itself (`app.{domain}` is the control
 * plane), words the LLM proxy's routes give a meaning (`/usage/summary`, `/keys/self`), and
 * names that invite impersonation or confusion.
 */
export const RESERVED_HANDLES: ReadonlySet<string> = new Set([
  'admin',
  'administrator',
  'api',
  'app',
  'assets',
  'auth',
  'billing',
  'blog',
  'caddy',
  'cdn',
  'conduit',
  'console',
  'dashboard',
  'dev',
  'dns',
  'docs',
  'ftp',
  'help',
  'homeserver',
  'imap',
  'internal',
  'localhost',
  'login',
  'logout',
  'mail',
  'matrix',
  'matrixos',
  'metrics',
  'mx',
  'ns1',
  'ns2',
  'platform',
  'pop',
  'postmaster',
  'proxy',
  'root',
  'security',
  'self',
  'signup',
  'smtp',
  'static',
  'status',
  'summary',
  'support',
  'synapse',
  'system',
  'webmaster',
  'www',
]);

export const HANDLE_RULES =
  '3-30 characters: lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen';

export type HandleCheck = { ok: true; handle: string } | { ok: false; reason: string };

/**
 * A handle becomes a DNS label (`{handle}.{domain}`), a container name and a volume name, so it
 * is held to the strictest of the three. Nothing is normalised: `Alice` is refused, not lowered,
 * so that what a user typed is what they get.
 */
export function validateHandle(input: unknown): HandleCheck {
  if (typeof input !== 'string') return { ok: false, reason: 'handle must be a string' };
  if (input.length < 3) return { ok: false, reason: `handle is too short (${HANDLE_RULES})` };
  if (input.length > 30) return { ok: false, reason: `handle is too long (${HANDLE_RULES})` };
  if (!/^[a-z][a-z0-9-]*[a-z0-9]$/.test(input))
    return { ok: false, reason: `handle "${input}" is not allowed: ${HANDLE_RULES}` };
  if (input.includes('--')) return { ok: false, reason: 'handle may not contain two hyphens in a row' };
  if (RESERVED_HANDLES.has(input)) return { ok: false, reason: `handle "${input}" is reserved` };
  return { ok: true, handle: input };
}

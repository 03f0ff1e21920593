import { totpCodeAt } from '../src/accounts/totp.ts';
import { httpRequest, type Reply, type RequestOptions } from './harness.ts';

/**
 * A browser's view of HTTP for API-level tests: a cookie jar per host (host-only cookies, as
 * ours are), an Origin on every state-changing request. Enough to follow sign-in and bridge flows
 * without Chromium.
 */
export function createCookieClient(port: number, opts: { origin?: string; ip?: string } = {}) {
  const control = `localhost:${port}`;
  // Each simulated browser is its own client to per-address rate limits (the platform under
  // test trusts X-Forwarded-For, as it does behind its edge).
  const ip = opts.ip ?? `10.${rand()}.${rand()}.${rand()}`;
  const origin = opts.origin ?? `http://${control}`;
  const jars = new Map<string, Map<string, string>>();
  const jar = (host: string) => {
    let j = jars.get(host);
    if (!j) {
      j = new Map();
      jars.set(host, j);
    }
    return j;
  };

  function remember(host: string, reply: Reply): void {
    const set = reply.headers['set-cookie'] ?? [];
    for (const line of set) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (gone) jar(host).delete(name);
      else jar(host).set(name, value);
    }
  }

  async function send(host: string, o: RequestOptions = {}): Promise<Reply> {
    const method = o.method ?? 'GET';
    const cookies = [...jar(host)].map(([k, v]) => `${k}=${v}`).join('; ');
    const headers: Record<string, string> = {
      'x-forwarded-for': ip,
      ...(cookies ? { cookie: cookies } : {}),
      ...o.headers,
    };
    if (method !== 'GET' && method !== 'HEAD' && !('origin' in headers)) headers.origin = origin;
    const reply = await httpRequest(port, { ...o, method, host, headers });
    remember(host, reply);
    return reply;
  }

  return {
    control,
    ip,
    /** A request to the control plane. */
    cp: (path: string, o: Omit<RequestOptions, 'path'> = {}) => send(control, { ...o, path }),
    /** A request to an instance host. */
    to: (host: string, path: string, o: Omit<RequestOptions, 'path'> = {}) => send(host, { ...o, path }),
    cookies: (host: string = control) => new Map(jar(host)),
    setCookie: (host: string, name: string, value: string) => jar(host).set(name, value),
    dropCookie: (host: string, name: string) => jar(host).delete(name),
  };
}

export type CookieClient = ReturnType<typeof createCookieClient>;

const rand = () => Math.floor(Math.random() * 254) + 1;

/**
 * Signs a new account up with TOTP through the real routes, as the sign-up page does; the client
 * holds its session after. Returns the TOTP secret (for signing in again).
 */
export async function signUpWithTotp(client: CookieClient, handle: string, now = Date.now()) {
  const start = await client.cp('/auth/signup/totp/options', { method: 'POST', body: { handle } });
  if (start.status !== 200) throw new Error(`sign-up of ${handle}: ${start.status} ${start.text}`);
  const { flowId, secret } = start.json<{ flowId: string; secret: string }>();
  const done = await client.cp('/auth/signup/totp/verify', {
    method: 'POST',
    body: { flowId, code: totpCodeAt(secret, now) },
  });
  if (done.status !== 201) throw new Error(`sign-up of ${handle}: ${done.status} ${done.text}`);
  return { secret };
}

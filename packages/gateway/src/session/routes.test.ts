import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';
import { connectSocket, refusal } from '../../test/socket.ts';

let gw: TestGateway;
let origin: string;
beforeEach(async () => {
  gw = await startGateway({ handle: 'alice' });
  origin = gw.url;
});
afterEach(() => gw.close());

async function signIn(token: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin, ...headers },
    body: JSON.stringify({ token }),
  });
}

/** The `name=value` part of a Set-Cookie header, to send back as a browser would. */
const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0]!;

describe('browser sessions', () => {
  it('refuses a wrong token, and sets no cookie', async () => {
    for (const token of ['mxi_wrong-token-0123456789abcdef', `${gw.token}x`, gw.token.slice(0, -1)]) {
      const res = await signIn(token);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('invalid_token');
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect((await signIn('')).status).toBe(400);
  });

  it('signs in with the token: a host-only HttpOnly SameSite=Lax cookie holding a random id, not the token', async () => {
    const res = await signIn(gw.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ signedIn: true, handle: 'alice' });
    const header = res.headers.get('set-cookie')!;
    const attributes = header.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']));
    expect(attributes.some((a) => a.startsWith('domain='))).toBe(false);
    expect(attributes).not.toContain('secure'); // plain HTTP here
    expect(header).not.toContain(gw.token);
    const [name, value] = cookieOf(res).split('=');
    expect(name).toBe('mx_session');
    expect(value).toMatch(/^mxs_[A-Za-z0-9_-]{43}$/);
    // The server keeps only a hash of the id.
    const stored = await readFile(join(gw.home, '.matrixos/sessions.json'), 'utf8');
    expect(stored).not.toContain(value!);
    expect(stored).not.toContain(gw.token);

    const cookie = cookieOf(res);
    const session = await fetch(`${gw.url}/api/session`, { headers: { cookie } });
    expect(await session.json()).toMatchObject({ handle: 'alice', mode: 'single', via: 'session' });
    expect((await fetch(`${gw.url}/files/system/profile.md`, { headers: { cookie } })).status).toBe(200);
  });

  it('uses a Secure __Host- cookie when a TLS proxy says the browser came over HTTPS', async () => {
    const res = await signIn(gw.token, {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'alice.example.com',
      origin: 'https://alice.example.com',
    });
    expect(res.status).toBe(200);
    const header = res.headers.get('set-cookie')!;
    expect(header).toMatch(/^__Host-mx_session=/);
    expect(header.toLowerCase()).toContain('; secure');
  });

  it('signs out: the session is revoked server-side, so a replayed cookie opens nothing', async () => {
    const cookie = cookieOf(await signIn(gw.token));
    const out = await fetch(`${gw.url}/api/session`, { method: 'DELETE', headers: { cookie, origin } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^mx_session=;.*Max-Age=0/);
    expect((await fetch(`${gw.url}/api/session`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${gw.url}/files/`, { headers: { cookie } })).status).toBe(401);
    expect(await refusal(gw, { headers: { cookie, origin } })).toBe(401);
  });

  it('keeps sessions across a restart of the instance', async () => {
    const cookie = cookieOf(await signIn(gw.token));
    await gw.running.shutdown(1_000);
    const again = await startGateway({ handle: 'alice' }, { home: gw.home });
    try {
      expect((await fetch(`${again.url}/api/session`, { headers: { cookie } })).status).toBe(200);
    } finally {
      await again.close();
    }
  });

  it('refuses cross-origin requests that change things, whatever authenticates them', async () => {
    const cookie = cookieOf(await signIn(gw.token));
    const post = (headers: Record<string, string>) =>
      fetch(`${gw.url}/api/message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ text: 'forged' }),
      });
    // Another tenant's host is another origin (and the same site, so SameSite would not stop it).
    for (const evil of ['http://bob.localhost:4000', 'null', 'https://evil.example']) {
      const res = await post({ cookie, origin: evil });
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('cross_origin');
      // Even with the instance token: a client that names another site's origin is refused.
      expect((await post({ authorization: `Bearer ${gw.token}`, origin: evil })).status).toBe(403);
    }
    // A cookie with no Origin at all is not a request from the shell.
    const bare = await post({ cookie });
    expect(bare.status).toBe(403);
    expect((await bare.json()).error.code).toBe('origin_required');
    // Signing in from another origin is refused too (no login CSRF).
    expect((await signIn(gw.token, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await (await gw.api('/api/messages')).json()).messages).toEqual([]);

    // The shell's own requests pass; behind a proxy, the host it forwards is the one compared.
    expect((await post({ cookie, origin })).status).toBe(201);
    const proxied = { cookie, 'x-forwarded-host': 'alice.example.com', 'x-forwarded-proto': 'https' };
    expect((await post({ ...proxied, origin: 'https://alice.example.com' })).status).toBe(201);
    expect((await post({ ...proxied, origin: 'https://bob.example.com' })).status).toBe(403);
    // Reading needs no Origin: a browser sends none on same-origin GETs.
    expect((await fetch(`${gw.url}/api/messages`, { headers: { cookie } })).status).toBe(200);
  });

  it('opens the WebSocket with the cookie from the same origin only', async () => {
    const cookie = cookieOf(await signIn(gw.token));
    const socket = await connectSocket(gw, { headers: { cookie, origin } });
    expect(await socket.next('ready')).toMatchObject({ handle: 'alice' });
    socket.close();
    expect(await refusal(gw, { headers: { cookie, origin: 'http://bob.localhost:4000' } })).toBe(403);
    expect(await refusal(gw, { headers: { cookie } })).toBe(403);
    expect(await refusal(gw, { headers: { cookie: 'mx_session=forged-session-id', origin } })).toBe(401);
  });
});

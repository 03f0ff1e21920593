import { REVOCATIONS_PATH } from '@matrixos/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../test/harness.ts';
import { FROM_ANN, pageLoad, passCookie, startPlatformGateway } from '../../test/pass.ts';
import { connectSocket, refusal } from '../../test/socket.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startPlatformGateway();
});
afterEach(() => gw.close());

const revoke = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${gw.token}` }) =>
  fetch(gw.url + REVOCATIONS_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe(`POST ${REVOCATIONS_PATH}`, () => {
  it("closes the revoked session's sockets at once (1008), and refuses its pass from then on", async () => {
    const ended = await passCookie(gw, { sid: 's_ended' });
    const other = await passCookie(gw, { sid: 's_other' });
    const doomed = [
      await connectSocket(gw, { headers: { cookie: ended, ...FROM_ANN } }),
      await connectSocket(gw, { headers: { cookie: ended, ...FROM_ANN } }),
    ];
    const kept = await connectSocket(gw, { headers: { cookie: other, ...FROM_ANN } });
    const owners = await connectSocket(gw);
    for (const s of [...doomed, kept, owners]) await s.next('ready');
    // The pass is cached by now: the revocation must win over the cache.
    expect((await fetch(`${gw.url}/api/session`, { headers: { cookie: ended } })).status).toBe(200);
    const closed = doomed.map(
      (s) =>
        new Promise<{ code: number; reason: string; afterMs: number }>((resolve) => {
          const from = Date.now();
          s.ws.once('close', (code, reason) =>
            resolve({ code, reason: reason.toString(), afterMs: Date.now() - from }),
          );
        }),
    );

    const res = await revoke({ sessions: ['s_ended', 's_ended', 's_never_seen'] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 2, closed: 2 });
    for (const end of await Promise.all(closed)) {
      expect(end).toMatchObject({ code: 1008, reason: 'session revoked' });
      expect(end.afterMs).toBeLessThan(1_000);
    }

    const api = await fetch(`${gw.url}/api/session`, { headers: { cookie: ended } });
    expect(api.status).toBe(401);
    expect((await api.json()).error.code).toBe('unauthorized');
    const page = await pageLoad(gw, '/', { cookie: ended });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/.well-known/matrixos/refresh?next=%2F');
    expect(await refusal(gw, { headers: { cookie: ended, ...FROM_ANN } })).toBe(401);

    // The other session and the token's socket carry on.
    await gw.api('/api/message', { method: 'POST', body: JSON.stringify({ text: 'still here' }) });
    expect(await kept.next('inbox.message')).toBeTruthy();
    expect(await owners.next('inbox.message')).toBeTruthy();
    expect((await fetch(`${gw.url}/api/session`, { headers: { cookie: other } })).status).toBe(200);
    kept.close();
    owners.close();
  });

  it("takes the instance token only: a pass, a session or another instance's token is refused", async () => {
    const cookie = await passCookie(gw);
    const refused: Record<string, string>[] = [
      { cookie, ...FROM_ANN },
      {},
      { authorization: 'Bearer mxi_cat-token-0123456789abcdef' },
      { authorization: `Bearer ${gw.token}`.slice(0, -1) },
    ];
    for (const headers of refused) {
      const res = await revoke({ sessions: ['s1'] }, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="matrixos"');
      expect((await res.json()).error.code).toBe('unauthorized');
    }
    // Nothing was revoked: the pass still opens the instance.
    expect((await fetch(`${gw.url}/api/session`, { headers: { cookie } })).status).toBe(200);
  });

  it('answers a bad body with a 400 naming the problem, and an oversized one with a 413', async () => {
    const notJson = await revoke('{"sessions":');
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('invalid_json');
    for (const [body, path] of [
      [{}, 'sessions'],
      [{ sessions: [] }, 'sessions'],
      [{ sessions: [''] }, 'sessions.0'],
      [{ sessions: ['s1'], extra: true }, ''],
      [{ sessions: 's1' }, 'sessions'],
    ] as const) {
      const res = await revoke(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe('invalid_body');
      expect(error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    const huge = await revoke({ sessions: Array.from({ length: 1000 }, (_, i) => `s${i}`.padEnd(100, 'x')) });
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe('body_too_large');
  });
});

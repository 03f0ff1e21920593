import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, startGateway, type TestGateway } from '../../test/harness.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway();
});
afterEach(() => gw.close());

const PROTECTED: [string, string][] = [
  ['GET', '/api/system/info'],
  ['GET', '/api/profile'],
  ['GET', '/api/ai-profile'],
  ['POST', '/api/message'],
  ['GET', '/api/messages'],
  ['GET', '/files/'],
  ['GET', '/files/system/profile.md'],
  ['HEAD', '/files/system/profile.md'],
  ['PUT', '/files/x.txt'],
  ['DELETE', '/files/system/profile.md'],
  ['GET', '/ws'],
  ['GET', '/no-such-route'],
];

describe('bearer token', () => {
  it.each(PROTECTED)('%s %s answers 401 JSON without a token and with a wrong one', async (method, path) => {
    const body = method === 'PUT' || method === 'POST' ? '{"text":"x"}' : undefined;
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer mxi_wrong-token-0123456789abcdef' },
      { authorization: `Bearer ${gw.token}x` },
      { authorization: `Basic ${btoa(`owner:${gw.token}`)}` },
      { authorization: gw.token },
    ]) {
      const res = await fetch(gw.url + path, { method, headers, body });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="matrixos"');
      if (method !== 'HEAD') expect((await res.json()).error.code).toBe('unauthorized');
    }
    // Nothing was changed by the refused requests.
    expect((await gw.api('/files/system/profile.md')).status).toBe(200);
    expect((await gw.api('/files/x.txt')).status).toBe(404);
  });

  it('opens the API with the right token', async () => {
    expect((await gw.api('/api/system/info')).status).toBe(200);
  });

  it('does not take the token from the query string or a WebSocket protocol on plain requests', async () => {
    expect((await fetch(`${gw.url}/api/system/info?token=${gw.token}`)).status).toBe(401);
    const res = await fetch(`${gw.url}/api/system/info`, {
      headers: { 'sec-websocket-protocol': `matrixos, matrixos.bearer.${gw.token}` },
    });
    expect(res.status).toBe(401);
  });

  it('leaves / and /health public, and counts only authenticated use as activity', async () => {
    // A clock that moves only here: any touch after an advance would show as a new time.
    const clock = manualClock();
    const own = await startGateway({}, { now: clock.now });
    try {
      const lastActivity = async () => (await (await fetch(`${own.url}/health`)).json()).lastActivity;
      const before = await lastActivity();
      clock.advance(60_000);
      expect((await fetch(`${own.url}/`)).status).toBe(200);
      expect(await lastActivity()).toBe(before);

      await fetch(`${own.url}/api/profile`); // refused: not activity
      expect(await lastActivity()).toBe(before);

      await own.api('/api/profile');
      expect(Date.parse(await lastActivity())).toBe(Date.parse(before) + 60_000);
    } finally {
      await own.close();
    }
  });
});

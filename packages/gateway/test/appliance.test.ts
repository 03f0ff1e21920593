import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applianceReply } from '../src/appliance/contract.ts';
import { startGateway, type TestGateway } from './harness.ts';

// The appliance's routes over a real gateway, with the state folder and os-release the image has.
describe('the appliance routes', () => {
  let gw: TestGateway;
  let state: string;
  let ticketFile: string;
  const ticket = async () => (await readFile(ticketFile, 'utf8')).trim();
  const kiosk = (t: string) =>
    fetch(`${gw.url}/appliance/kiosk?ticket=${encodeURIComponent(t)}`, { redirect: 'manual' });

  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), 'matrixos-appliance-'));
    ticketFile = join(state, 'ticket');
    await writeFile(join(state, 'os-release'), 'ID=debian\nIMAGE_ID=matrixos\nIMAGE_VERSION=1.2.3\n');
    gw = await startGateway({
      appliance: { stateDir: state, kioskTicket: ticketFile, osRelease: join(state, 'os-release') },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await rm(state, { recursive: true, force: true });
  });

  it('reports the image version, that setup is pending, and the updater status', async () => {
    await writeFile(
      join(state, 'update.json'),
      '{"state":"installed","version":"1.2.3","target":"1.3.0","slot":"A","message":"1.3.0 installed; it starts at the next boot","at":"2026-12-02T06:00:00Z"}\n',
    );
    const r = await gw.api('/api/appliance');
    expect(r.status).toBe(200);
    const body = applianceReply.parse(await r.json());
    expect(body.version).toBe('1.2.3');
    expect(body.setupDone).toBe(false);
    expect(body.update).toMatchObject({ state: 'installed', target: '1.3.0' });
  });

  it('signs the kiosk in once per ticket and sends it to the setup page first', async () => {
    const t = await ticket();
    const first = await kiosk(t);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/appliance/setup');
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${gw.url}/appliance/setup`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Welcome to Matrix OS');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const shown = applianceReply.parse(await (await gw.api('/api/appliance')).json());
    expect(shown.kiosk.setupShownAt).not.toBeNull();
    // The same ticket again (a replay) is refused; the file already holds a new one.
    const replay = await kiosk(t);
    expect(replay.status).toBe(403);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('invalid_ticket');
    expect(await ticket()).not.toBe(t);
  });

  it('refuses a guessed ticket and a missing one, naming the problem', async () => {
    expect((await kiosk('not-the-ticket')).status).toBe(403);
    const none = await fetch(`${gw.url}/appliance/kiosk`);
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('invalid_query');
  });

  it('needs the owner for everything else', async () => {
    for (const [method, path] of [
      ['GET', '/api/appliance'],
      ['POST', '/api/appliance/setup'],
      ['POST', '/api/appliance/factory-reset'],
      ['GET', '/appliance/setup'],
    ] as const) {
      expect((await fetch(gw.url + path, { method })).status, `${method} ${path}`).toBe(401);
    }
  });

  it('rejects bad Wi-Fi input before touching iwd', async () => {
    const bad = await gw.api('/api/appliance/wifi', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ssid: 'x'.repeat(40), passphrase: 'short' }),
    });
    expect(bad.status).toBe(400);
    const big = await gw.api('/api/appliance/wifi', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ssid: 'a', passphrase: 'p'.repeat(5000) }),
    });
    expect(big.status).toBe(413);
  });

  it('finishes setup once, after which the kiosk goes straight to the desktop', async () => {
    const done = await gw.api('/api/appliance/setup', { method: 'POST' });
    expect(await done.json()).toEqual({ setupDone: true });
    const r = await kiosk(await ticket());
    expect(r.headers.get('location')).toBe('/');
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${gw.url}/`, { headers: { cookie } })).status).toBe(200);
    const body = applianceReply.parse(await (await gw.api('/api/appliance')).json());
    expect(body.setupDone).toBe(true);
    expect(body.kiosk.desktopShownAt).not.toBeNull();
  });

  it('leaves a factory reset request for root, keeping data unless asked to wipe', async () => {
    const keep = await gw.api('/api/appliance/factory-reset', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(keep.status).toBe(202);
    expect(await readFile(join(state, 'reset-requested'), 'utf8')).toBe('keep\n');
    const wipe = await gw.api('/api/appliance/factory-reset', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"wipe":true}',
    });
    expect(await wipe.json()).toEqual({ requested: true, wipe: true });
    expect(await readFile(join(state, 'reset-requested'), 'utf8')).toBe('wipe\n');
    const bad = await gw.api('/api/appliance/factory-reset', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"wipe":"yes","rm":"-rf"}',
    });
    expect(bad.status).toBe(400);
  });
});

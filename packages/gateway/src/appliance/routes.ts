import { readFileSync } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { HttpError, type Logger, limitBody, readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthEnv } from '../auth/require-auth.ts';
import { rateLimit } from '../channels/rateLimit.ts';
import type { ApplianceConfig } from '../config.ts';
import { setSessionCookie } from '../session/cookie.ts';
import type { SessionStore } from '../session/store.ts';
import { PAGE_HEADERS } from '../shell/routes.ts';
import { factoryResetRequest, wifiConnectRequest } from './contract.ts';
import type { KioskTicket } from './kioskTicket.ts';
import type { Network } from './network.ts';
import { readImageVersion } from './readImageVersion.ts';
import { readUpdateStatus } from './readUpdateStatus.ts';

/** Paths open without signing in (app.ts): the kiosk's ticket exchange checks its own secret. */
export const APPLIANCE_OPEN_PATHS = new Set(['/appliance/kiosk']);

const ticketQuery = z.object({ ticket: z.string().min(1, 'is required').max(200, 'is too long') });

function isLoopback(c: { env: unknown }): boolean {
  const address = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress ?? '';
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * The appliance's own routes (distro/, docs/appliance.md): the kiosk signing in with its ticket,
 * the first-boot setup page, the version and update status, Wi-Fi, and the factory reset request
 * (carried out by root: matrixos-factory-reset.path). Only mounted when APPLIANCE_STATE_DIR is set.
 */
export function applianceRoutes({
  appliance,
  shellDir,
  sessions,
  network,
  ticket,
  log,
}: {
  appliance: ApplianceConfig;
  shellDir: string;
  sessions: SessionStore;
  network: Network;
  ticket: KioskTicket | null;
  log: Logger;
}): Hono<AuthEnv> {
  const setupPage = readFileSync(join(shellDir, 'appliance/setup.html'), 'utf8');
  const setupMark = join(appliance.stateDir, 'setup-done');
  const setupDone = () =>
    access(setupMark).then(
      () => true,
      () => false,
    );
  // What the kiosk was last shown, so the appliance test can match a screenshot to a page served.
  const kiosk = {
    sessionId: null as string | null,
    setupShownAt: null as string | null,
    desktopShownAt: null as string | null,
  };
  const ticketLimit = rateLimit(30, 60_000);
  const wifiLimit = rateLimit(20, 60_000);
  const changeLimit = rateLimit(20, 60_000);

  const app = new Hono<AuthEnv>();

  app.get('/appliance/kiosk', ticketLimit, async (c) => {
    // The machine's own screen only: the ticket never leaves it, and nothing else may try it.
    if (!isLoopback(c)) throw new HttpError(403, 'not_local', 'the kiosk signs in from this machine only');
    const query = ticketQuery.safeParse(c.req.query());
    if (!query.success)
      throw new HttpError(400, 'invalid_query', 'ticket is required (at most 200 characters)');
    if (!ticket || !(await ticket.take(query.data.ticket))) {
      throw new HttpError(
        403,
        'invalid_ticket',
        'that kiosk ticket is not valid (it is good for one sign-in)',
      );
    }
    const id = await sessions.create();
    kiosk.sessionId = id;
    setSessionCookie(c, id);
    log.info('kiosk signed in');
    return c.redirect((await setupDone()) ? '/' : '/appliance/setup', 302);
  });

  app.get('/appliance/setup', (c) => {
    const auth = c.get('auth');
    if (auth?.via === 'session' && auth.sessionId === kiosk.sessionId)
      kiosk.setupShownAt = new Date().toISOString();
    return c.html(setupPage, 200, PAGE_HEADERS);
  });

  // The desktop itself is the shell's `/`; this only notes that the kiosk got it.
  app.use('/', async (c, next) => {
    await next();
    const auth = c.get('auth');
    if (c.req.method === 'GET' && auth?.via === 'session' && auth.sessionId === kiosk.sessionId) {
      kiosk.desktopShownAt = new Date().toISOString();
    }
  });

  app.get('/api/appliance', async (c) => {
    const [version, done, update, net] = await Promise.all([
      readImageVersion(appliance.osRelease),
      setupDone(),
      readUpdateStatus(appliance.stateDir),
      network.state(),
    ]);
    return c.json({
      version,
      setupDone: done,
      update,
      network: net,
      kiosk: { setupShownAt: kiosk.setupShownAt, desktopShownAt: kiosk.desktopShownAt },
    });
  });

  app.get('/api/appliance/wifi', wifiLimit, async (c) => c.json(await network.wifiNetworks()));

  app.post('/api/appliance/wifi', wifiLimit, limitBody(1024), async (c) => {
    const input = await readJson(c, wifiConnectRequest);
    await network.connectWifi(input.ssid, input.passphrase);
    return c.json(await network.state());
  });

  app.post('/api/appliance/setup', changeLimit, async (c) => {
    await writeFile(setupMark, `${new Date().toISOString()}\n`);
    log.info('first-boot setup done');
    return c.json({ setupDone: true as const });
  });

  app.post('/api/appliance/factory-reset', changeLimit, limitBody(1024), async (c) => {
    const input = await readJson(c, factoryResetRequest);
    // Root acts on this file (matrixos-factory-reset.path): the gateway itself holds no privilege.
    await writeFile(join(appliance.stateDir, 'reset-requested'), input.wipe ? 'wipe\n' : 'keep\n');
    log.warn({ wipe: input.wipe }, 'factory reset requested');
    return c.json({ requested: true as const, wipe: input.wipe }, 202);
  });

  return app;
}

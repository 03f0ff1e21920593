/**
 * Screenshots of every control-plane page, and of the router's own pages, at desktop and phone
 * sizes, into `docs/screenshots/platform-*.png`:
 *
 *   bash scripts/node24.sh node packages/platform/test/browser/takeScreenshots.ts
 *
 * A real platform (process driver) runs a stand-in instance that takes seconds to come up, so the
 * progress view and the "waking up" page can be caught while they show.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium, type TestBrowser } from '@matrixos/shared/testing';
import type { Page } from 'playwright-core';
import { totpCodeAt } from '../../src/accounts/totp.ts';
import { createCookieClient } from '../cookieClient.ts';
import { startTestPlatform } from '../harness.ts';
import {
  controlUrl,
  DESKTOP,
  enterHandle,
  instanceOrigin,
  PHONE,
  pickHandle,
  saveRecoveryCodes,
  startPasskeySignup,
  startTotpSignup,
  waitForInstance,
} from './flows.ts';
import { addVirtualAuthenticator } from './virtualAuthenticator.ts';

const OUT = fileURLToPath(new URL('../../../../docs/screenshots/', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/slowInstance.ts', import.meta.url));
const START_DELAY_MS = 6000;

mkdirSync(OUT, { recursive: true });
const t = await startTestPlatform({
  runtime: 'process',
  command: [process.execPath, FIXTURE, String(START_DELAY_MS)],
  env: { TRUST_PROXY: 'true' },
});
const { port } = t;

/** Saves the page as `platform-{name}.png` (desktop) and `platform-{name}-phone.png`. */
async function shot(page: Page, name: string, sizes: ('desktop' | 'phone')[] = ['desktop', 'phone']) {
  for (const size of sizes) {
    await page.setViewportSize(size === 'phone' ? PHONE : DESKTOP);
    await page.evaluate(() => document.fonts.ready);
    const file = `${OUT}platform-${name}${size === 'phone' ? '-phone' : ''}.png`;
    await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
    console.log(`saved ${file}`);
  }
  await page.setViewportSize(DESKTOP);
}

/** Other people on the server, signed up through the API, so that counts and lists are not empty. */
async function seedUsers(handles: string[]): Promise<void> {
  await Promise.all(
    handles.map(async (handle) => {
      const client = createCookieClient(port);
      const start = await client.cp('/auth/signup/totp/options', { method: 'POST', body: { handle } });
      const { flowId, secret } = start.json<{ flowId: string; secret: string }>();
      await client.cp('/auth/signup/totp/verify', {
        method: 'POST',
        body: { flowId, code: totpCodeAt(secret, Date.now()) },
      });
    }),
  );
  for (let i = 0; i < 100; i++) {
    const states = (await t.admin('GET', '/containers')).json<{ instances: { state: string }[] }>();
    if (states.instances.length === handles.length && states.instances.every((s) => s.state === 'running'))
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('seeded instances did not come up');
}

/** Each person has a browser of their own (their own cookies). */
const browsers: TestBrowser[] = [];
async function person(): Promise<Page> {
  const b = await launchChromium({ viewport: DESKTOP });
  browsers.push(b);
  return b.newPage();
}

try {
  await seedUsers(['bea', 'carlos', 'dana']);
  await t.admin('POST', '/containers/dana/stop');

  const page = await person();
  await page.goto(controlUrl(port));
  await shot(page, 'landing');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'landing-dark', ['desktop']);
  await page.emulateMedia({ colorScheme: 'light' });

  await page.goto(controlUrl(port, '/signup'));
  await pickHandle(page, 'admin', 'error');
  await shot(page, 'signup-handle-reserved', ['phone']);
  await pickHandle(page, 'alice');
  await shot(page, 'signup-handle');

  // Alice chooses an authenticator app: the QR step, her codes, the progress, her instance.
  const a = await person();
  await a.goto(controlUrl(port, '/signup'));
  await pickHandle(a, 'alice');
  await a.getByRole('button', { name: 'Use an authenticator app instead' }).click();
  await a.locator('#signup-totp-secret:not(:empty)').waitFor();
  await shot(a, 'signup-totp');
  await a.goto(controlUrl(port, '/signup'));
  await startTotpSignup(a, port, 'alice');
  await shot(a, 'signup-recovery-codes');
  await saveRecoveryCodes(a);
  await a.locator('#progress-steps li.now[data-step="health"]').waitFor();
  await shot(a, 'signup-progress');
  await waitForInstance(a, 'alice', port);

  await page.goto(controlUrl(port, '/login'));
  await shot(page, 'login');
  await enterHandle(page, 'alice');
  await page.locator('#totp-form').waitFor();
  await shot(page, 'login-code', ['desktop']);

  await a.goto(controlUrl(port, '/dashboard'));
  await a.locator('#instance-state.running').waitFor();
  await shot(a, 'dashboard');
  await a.emulateMedia({ colorScheme: 'dark' });
  await shot(a, 'dashboard-dark', ['desktop']);
  await a.emulateMedia({ colorScheme: 'light' });
  await a.goto(controlUrl(port, '/admin'));
  await shot(a, 'admin-forbidden', ['desktop']);

  // An admin, with a passkey: the admin dashboard.
  const o = await person();
  await addVirtualAuthenticator(o);
  await startPasskeySignup(o, port, 'ops');
  await saveRecoveryCodes(o);
  await waitForInstance(o, 'ops', port);
  await t.admin('PUT', '/admin/users/ops/role', { role: 'admin' });
  await o.goto(controlUrl(port, '/admin'));
  await o.locator('#instances tbody tr[data-handle="alice"] .meter').waitFor();
  await shot(o, 'admin');

  // The router's pages: waking up (the instance was stopped), and a used sign-in link.
  for (const size of ['desktop', 'phone'] as const) {
    await t.admin('POST', '/containers/alice/stop');
    await a.setViewportSize(size === 'phone' ? PHONE : DESKTOP);
    await a.goto(`${instanceOrigin('alice', port)}/`);
    await a.locator('#steps li.now').waitFor();
    await a.screenshot({
      path: `${OUT}platform-waking${size === 'phone' ? '-phone' : ''}.png`,
      fullPage: true,
    });
    await waitForInstance(a, 'alice', port);
  }
  await a.goto(`${instanceOrigin('alice', port)}/.well-known/matrixos/bridge?token=mxb_used`);
  await shot(a, 'link-expired');
} finally {
  for (const b of browsers) await b.close();
  await t.destroy();
}

import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';
import {
  launchChromium,
  startSynapse,
  type TestBrowser,
  type TestSynapse,
  toolAvailable,
} from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_UP_TTL_MS } from '../../src/accounts/sessions.ts';
import { totpCodeAt } from '../../src/accounts/totp.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { controlUrl, saveRecoveryCodes, startTotpSignup } from './flows.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/streamingInstance.ts', import.meta.url));

/**
 * The dashboard's Matrix card in real Chromium, with a real Synapse: the owner sees their Matrix
 * id and the homeserver URL, confirms it is them, gets a new password once, and it signs in.
 */
describe.skipIf(!toolAvailable('chromium'))('the Matrix card of the dashboard', () => {
  let synapse: TestSynapse;
  let t: TestPlatform;
  let browser: TestBrowser;
  let skew = 0;
  const clock = () => Date.now() + skew;

  beforeAll(async () => {
    const port = await freePort();
    const s = await startSynapse({ appserviceUrl: `http://127.0.0.1:${port}` });
    if (!s) throw new Error('Synapse is needed for these tests (scripts/synapse.sh install)');
    synapse = s;
    t = await startTestPlatform({
      runtime: 'process',
      port,
      command: [process.execPath, FIXTURE],
      env: { ...synapse.env, MATRIX_INSTANCE_PORT: '0' },
      clock,
    });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.destroy();
    synapse?.destroy();
  });

  it('shows the id and homeserver, asks to confirm it is you, and shows a new password that signs in', async () => {
    const page = await browser.newPage();
    const secret = await startTotpSignup(page, t.port, 'mona');
    await saveRecoveryCodes(page);
    t.track('mona');
    await expect
      .poll(() => t.platform.homeserver?.ownerId('mona'), { timeout: 20_000 })
      .toBe('@mona:localhost');
    await page.goto(controlUrl(t.port, '/dashboard'));
    const card = page.locator('#matrix-card');
    await card.waitFor();
    await expect.poll(() => card.locator('#matrix-id').textContent()).toBe('@mona:localhost');
    expect(await card.locator('#matrix-homeserver').textContent()).toBe(
      controlUrl(t.port, '').replace(/\/$/, ''),
    );
    expect(await card.locator('#matrix-password-block').isHidden()).toBe(true);

    skew += STEP_UP_TTL_MS + 60_000; // signed up a while ago: the session needs a fresh proof
    await card.getByRole('button', { name: 'Get a new password' }).click();
    await page.locator('dialog[open] #confirm-ok').click();
    const stepUp = page.locator('dialog#step-up[open]');
    await stepUp.waitFor();
    await page
      .getByLabel('A code from your authenticator app, or a recovery code')
      .fill(totpCodeAt(secret, clock()));
    await stepUp.getByRole('button', { name: 'Confirm' }).click();
    await card.locator('#matrix-password-block').waitFor();
    const password = (await card.locator('#matrix-password').textContent()) ?? '';
    expect(password).toHaveLength(32);

    // What the card shows signs in to the homeserver, through the relay it names.
    const r = await fetch(`http://127.0.0.1:${t.port}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: '@mona:localhost' },
        password,
      }),
    });
    expect(r.status).toBe(200);
  });
});

import { dockerAvailable, launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { saveRecoveryCodes, startTotpSignup } from './flows.ts';

/**
 * A sign-up whose instance cannot start (here: the engine lacks the instance image, as when two
 * platforms overwrote each other's tag) ends its progress view with the reason and what to do,
 * instead of spinning.
 */
describe.skipIf(!toolAvailable('chromium') || !(await dockerAvailable()))(
  'sign-up progress on failure',
  () => {
    let t: TestPlatform;
    let browser: TestBrowser;
    beforeAll(async () => {
      t = await startTestPlatform({
        runtime: 'docker',
        env: { INSTANCE_IMAGE: 'matrixos/instance:not-built-here' },
      });
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await t?.destroy();
    });

    it('stops, marks the step failed and says what to do', async () => {
      const page = await browser.newPage();
      await startTotpSignup(page, t.port, 'lena');
      await saveRecoveryCodes(page);
      const error = page.locator('#progress-error');
      await error.waitFor({ state: 'visible', timeout: 20_000 });
      expect(await page.locator('#progress-error-text').textContent()).toBe(
        'It did not start: image matrixos/instance:not-built-here is not on the engine: run npm run build:image ' +
          '(bash scripts/build-image.sh). Try again in a minute; if it keeps failing, tell the administrator.',
      );
      expect(await page.locator('#progress-steps li.failed').count()).toBeGreaterThan(0);
    });
  },
);

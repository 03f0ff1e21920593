import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './harness.ts';

describe.skipIf(!toolAvailable('chromium'))('the Jobs app in Chromium', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  beforeAll(async () => {
    gw = await startGateway({ handle: 'alice' }, { jobs: true });
    const dir = join(gw.home, 'jobs');
    await writeFile(
      join(dir, 'echo.mjs'),
      'export default async function run() { console.log("echo says hi"); }\n',
    );
    await writeFile(
      join(dir, 'jobs.json'),
      JSON.stringify({
        jobs: [{ id: 'echo', module: 'echo.mjs', cron: '0 8 * * *', description: 'says hi every morning' }],
      }),
    );
    await gw.gateway.jobs.scheduler.reload();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('shows a job with its schedule in words; "run now" shows the new run and its output', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(gw.url);
    await page.fill('#token', gw.token);
    await page.click('button[type=submit]');
    await page.waitForSelector('.launcher-item[title="Jobs"]');
    await page.click('.launcher-item[title="Jobs"]');
    const row = '.window[data-id="jobs"] .job-row[data-job="echo"]';
    await page.waitForSelector(row);
    expect(await page.textContent(`${row} .job-schedule`)).toBe('every day at 08:00 (UTC)');
    expect(await page.textContent(`${row} .job-status`)).toBe('never run');
    expect(await page.textContent('.repo-state')).toMatch(/^~\/jobs · main · 2 commits$/);

    await page.click(`${row} .job-run`);
    await expect
      .poll(
        async () => {
          await page.click(`${row} .job-history`);
          return page.locator('.run-row[data-status="success"]').count();
        },
        { timeout: 15_000 },
      )
      .toBe(1);
    await page.click('.run-row[data-status="success"] .run-open');
    await page.waitForSelector('.run-output:not([hidden])');
    expect(await page.textContent('.run-output')).toContain('echo says hi');
    expect(problems).toEqual([]);
    await page.close();
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ACTIVITY_PATH,
  type ActivityReport,
  activityReportBody,
  createLogger,
  REVOCATIONS_PATH,
} from '@matrixos/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../test/harness.ts';
import { FROM_ANN, passCookie, startPlatformGateway } from '../../test/pass.ts';
import { connectSocket } from '../../test/socket.ts';
import { createActivityReporter } from './reportActivity.ts';

interface Received {
  at: number;
  status: number;
  authorization: string | undefined;
  body: ActivityReport;
}

/**
 * A real platform stand-in at the HTTP level: answers each activity report with the next status
 * of `statuses` (then 200) and keeps it, checked against the shared schema; anything else 200 `{}`.
 */
async function platformAnswering(statuses: number[] = []) {
  const reports: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      if (req.method !== 'PUT' || req.url !== ACTIVITY_PATH) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const status = statuses.shift() ?? 200;
      const body = activityReportBody.parse(JSON.parse(data));
      reports.push({ at: Date.now(), status, authorization: req.headers.authorization, body });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reports,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const log = createLogger('test', 'silent');
const EVERY_MS = 150;
// Reports are timed as they arrive, which a new connection can delay by a few tens of ms.
const ABOUT = (ms: number) => ms * 0.7;
const sum = (reports: Received[]) => reports.reduce((n, r) => n + r.body.requests, 0);

describe('createActivityReporter', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  async function reporterFor(statuses: number[] = []) {
    const platform = await platformAnswering(statuses);
    const state = { sockets: 0, last: new Date('2026-12-01T12:00:00Z') };
    const reporter = createActivityReporter({
      url: platform.url,
      token: 'mxi_ann',
      log,
      lastActive: () => state.last,
      openSockets: () => state.sockets,
      everyMs: EVERY_MS,
    });
    cleanup.push(platform.close, reporter.stop);
    return { platform, reporter, state };
  }

  it('sends at most one report per interval under a burst, the first at once, losing no use', async () => {
    const { platform, reporter } = await reporterFor();
    const start = Date.now();
    for (let i = 0; i < 40; i++) {
      reporter.used();
      await new Promise((r) => setTimeout(r, 10));
    }
    await expect.poll(() => sum(platform.reports), { timeout: 5_000 }).toBe(40);
    const { reports } = platform;
    expect(reports[0]!.at - start).toBeLessThan(EVERY_MS / 2);
    expect(reports[0]!.body.requests).toBe(1);
    // 40 uses over ~400 ms: a handful of reports, each an interval after the one before.
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.length).toBeLessThan(8);
    for (let i = 1; i < reports.length; i++) {
      expect(reports[i]!.at - reports[i - 1]!.at).toBeGreaterThanOrEqual(ABOUT(EVERY_MS));
    }
    expect(reports[0]).toMatchObject({
      authorization: 'Bearer mxi_ann',
      body: { openSockets: 0, lastActiveAt: '2026-12-01T12:00:00.000Z' },
    });
  });

  it('reports open sockets every interval while there are any, and the moment they are all closed', async () => {
    const { platform, reporter, state } = await reporterFor();
    state.sockets = 2;
    reporter.socketsChanged();
    // Two heartbeats with nothing else happening: open sockets are use.
    await expect.poll(() => platform.reports.length, { timeout: 5_000 }).toBe(3);
    expect(platform.reports.map((r) => r.body)).toEqual(
      Array(3).fill({ requests: 0, openSockets: 2, lastActiveAt: '2026-12-01T12:00:00.000Z' }),
    );
    state.sockets = 0;
    reporter.socketsChanged();
    await expect.poll(() => platform.reports.at(-1)?.body.openSockets, { timeout: 5_000 }).toBe(0);
  });

  it('tries a failed report again, with backoff, until the platform takes it', async () => {
    const { platform, reporter } = await reporterFor([503, 502]);
    reporter.used();
    await expect
      .poll(() => platform.reports.map((r) => r.status), { timeout: 5_000 })
      .toEqual([503, 502, 200]);
    expect(platform.reports.map((r) => r.body.requests)).toEqual([1, 1, 1]);
    const [a, b, c] = platform.reports.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(ABOUT(EVERY_MS));
    expect(c - b).toBeGreaterThanOrEqual(ABOUT(2 * EVERY_MS));
  });

  it('does not send again what the platform refused for good (400): the next report is new', async () => {
    const { platform, reporter } = await reporterFor([400]);
    reporter.used();
    reporter.used();
    await expect.poll(() => platform.reports.length, { timeout: 5_000 }).toBe(1);
    reporter.used();
    await expect.poll(() => platform.reports.length, { timeout: 5_000 }).toBe(2);
    expect(platform.reports.map((r) => [r.status, r.body.requests])).toEqual([
      [400, 2],
      [200, 1],
    ]);
  });
});

describe('the gateway reports its activity to the platform (platform mode)', () => {
  it("counts the owner's requests and sockets, not health checks or the platform's revocations", async () => {
    const platform = await platformAnswering();
    const clock = manualClock();
    const gw = await startPlatformGateway(
      { platformUrl: platform.url },
      { now: clock.now, reportEveryMs: EVERY_MS },
    );
    try {
      clock.advance(60_000);
      expect((await fetch(`${gw.url}/health`)).status).toBe(200);
      const revoked = await fetch(gw.url + REVOCATIONS_PATH, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sessions: ['s_old'] }),
      });
      expect(revoked.status).toBe(200);
      clock.advance(60_000);
      const usedAt = new Date(clock.now()).toISOString();
      const cookie = await passCookie(gw, { at: clock.now() });
      expect((await fetch(`${gw.url}/api/session`, { headers: { cookie } })).status).toBe(200);
      // The first report is that request alone: neither the health check nor the revocation was use.
      await expect.poll(() => platform.reports.length, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(platform.reports[0]).toMatchObject({
        authorization: `Bearer ${gw.token}`,
        body: { requests: 1, openSockets: 0, lastActiveAt: usedAt },
      });

      const socket = await connectSocket(gw, { headers: { cookie, ...FROM_ANN } });
      await socket.next('ready');
      await expect.poll(() => platform.reports.at(-1)?.body.openSockets, { timeout: 5_000 }).toBe(1);
      socket.close();
      await expect.poll(() => platform.reports.at(-1)?.body.openSockets, { timeout: 5_000 }).toBe(0);
    } finally {
      await gw.close();
      await platform.close();
    }
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@matrixos/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlatformReporter } from './platformReport.ts';

/** A real platform stand-in at the HTTP level: answers each PUT with the next status in `statuses`. */
async function platformAnswering(statuses: number[]) {
  const bodies: { status: number; body: unknown }[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      const status = statuses.shift() ?? 200;
      bodies.push({ status, body: JSON.parse(data) });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('createPlatformReporter', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });
  const log = createLogger('test', 'silent');

  it('tries a failed report again until the platform takes it, with no new change', async () => {
    const p = await platformAnswering([503, 502]);
    close = p.close;
    const reporter = createPlatformReporter({ url: p.url, token: 't', log, retryFirstMs: 20 });
    await reporter.report({ nextDue: new Date('2030-01-01T00:00:00Z'), running: 0 });
    await expect.poll(() => p.bodies.map((b) => b.status), { timeout: 5_000 }).toEqual([503, 502, 200]);
    expect(p.bodies.at(-1)?.body).toEqual({ at: '2030-01-01T00:00:00.000Z', running: 0 });
  });

  it('sends the newest due time when it changed while a retry was waiting', async () => {
    const p = await platformAnswering([503]);
    close = p.close;
    const reporter = createPlatformReporter({ url: p.url, token: 't', log, retryFirstMs: 200 });
    await reporter.report({ nextDue: new Date('2030-01-01T00:00:00Z'), running: 0 });
    await reporter.report({ nextDue: new Date('2030-01-02T00:00:00Z'), running: 0 });
    await new Promise((r) => setTimeout(r, 400));
    expect(p.bodies.map((b) => (b.body as { at: string }).at)).toEqual([
      '2030-01-01T00:00:00.000Z',
      '2030-01-02T00:00:00.000Z',
    ]);
  });

  it('does not retry a refusal that will not change (400)', async () => {
    const p = await platformAnswering([400]);
    close = p.close;
    const reporter = createPlatformReporter({ url: p.url, token: 't', log, retryFirstMs: 20 });
    await reporter.report({ nextDue: null, running: 0 });
    await new Promise((r) => setTimeout(r, 200));
    expect(p.bodies).toHaveLength(1);
  });
});

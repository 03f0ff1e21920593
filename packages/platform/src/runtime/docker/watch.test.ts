import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@matrixos/shared';
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlatformMetrics } from '../../metrics/platformMetrics.ts';
import type { RuntimeEvent } from '../driver.ts';
import { createDockerDriver } from './dockerDriver.ts';

/**
 * `watch` against a stand-in engine speaking the Engine API's `/events` stream on a unix socket:
 * the filters it asks for, and following the stream again when the engine drops it.
 */
describe('docker driver: watch', () => {
  let dir: string;
  let server: http.Server;
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks for our containers only, and follows the stream again after the engine drops it', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'matrixos-events-'));
    const socketPath = path.join(dir, 'docker.sock');
    const requests: URL[] = [];
    const event = (Action: string, platform: string) =>
      `${JSON.stringify({
        Type: 'container',
        Action,
        Actor: {
          ID: 'c1',
          Attributes: {
            'dev.matrixos.managed': '1',
            'dev.matrixos.platform': platform,
            'dev.matrixos.handle': 'alice',
          },
        },
      })}\n`;
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://engine');
      requests.push(url);
      res.writeHead(200, { 'content-type': 'application/json' });
      // First connection: one event, then the engine "restarts" (the stream ends).
      if (requests.length === 1) res.end(event('die', 'p1'));
      // Second: another platform's event (ignored), then ours, held open like a live stream.
      else res.write(event('destroy', 'p2') + event('start', 'p1'));
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
    const metrics = createPlatformMetrics({ defaultMetrics: false });
    const driver = createDockerDriver({
      docker: new Docker({ socketPath }),
      platformId: 'p1',
      log: createLogger('test', 'silent'),
      watchRetryMs: 10,
      onWatchReconnect: metrics.engineReconnected,
    });
    const seen: RuntimeEvent[] = [];
    const stop = driver.watch((e) => seen.push(e));
    await expect.poll(() => seen.length).toBe(2);
    stop();
    server.closeAllConnections();
    expect(seen).toEqual([
      { id: 'c1', handle: 'alice', state: 'stopped' },
      { id: 'c1', handle: 'alice', state: 'running' },
    ]);
    expect(requests.map((u) => u.pathname.replace(/^\/v[\d.]+/, ''))).toEqual(['/events', '/events']);
    // The platform's metrics count each time the stream was followed again.
    expect(await metrics.scrape()).toMatch(/^matrixos_engine_event_stream_reconnects_total 1$/m);
    expect(JSON.parse(requests[0]!.searchParams.get('filters')!)).toEqual({
      type: ['container'],
      label: ['dev.matrixos.managed=1', 'dev.matrixos.platform=p1'],
      event: ['create', 'start', 'die', 'pause', 'unpause', 'destroy'],
    });
  });
});

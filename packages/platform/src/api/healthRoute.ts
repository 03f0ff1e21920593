import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { Hono } from 'hono';
import type { InstanceStore } from '../instances/store.ts';
import type { RuntimeDriver } from '../runtime/driver.ts';
import { VERSION } from '../version.ts';
import type { EngineStatus } from './engineStatus.ts';

const started = Date.now();

/**
 * `GET /health`: whether the platform and its engine work, and how full the machine is. Anyone
 * may ask, so it is answered from the platform's own state: the engine's last known health
 * (`EngineStatus`), the instance table, this process; nothing per request reaches the engine.
 */
export function healthRoute(deps: {
  store: InstanceStore;
  runtime: Pick<RuntimeDriver, 'kind' | 'isolated'>;
  engine: EngineStatus;
  dataDir: string;
}) {
  return new Hono().get('/health', async (c) => {
    const engine = deps.engine.current();
    const fs = await statfs(deps.dataDir);
    const body = {
      status: engine.ok ? 'ok' : 'degraded',
      version: VERSION,
      uptime: Math.round((Date.now() - started) / 1000),
      runtime: { kind: deps.runtime.kind, isolated: deps.runtime.isolated, ...engine },
      instances: deps.store.counts(),
      memory: {
        totalBytes: os.totalmem(),
        freeBytes: os.freemem(),
        platformRssBytes: process.memoryUsage.rss(),
      },
      disk: { path: deps.dataDir, totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize },
      homeserver: { status: 'not_configured' },
    };
    return c.json(body, engine.ok ? 200 : 503);
  });
}

import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { Hono } from 'hono';
import type { InstanceStore } from '../instances/store.ts';
import type { RuntimeDriver } from '../runtime/driver.ts';
import { VERSION } from '../version.ts';

const started = Date.now();

/** `GET /health`: whether the platform and its engine work, and how full the machine is. */
export function healthRoute(deps: { store: InstanceStore; runtime: RuntimeDriver; dataDir: string }) {
  return new Hono().get('/health', async (c) => {
    const engine = await Promise.race([
      deps.runtime.list().then(
        (list) => ({ ok: true, running: list.filter((i) => i.state === 'running').length }),
        (err: Error) => ({ ok: false, error: err.message }),
      ),
      new Promise<{ ok: false; error: string }>((resolve) =>
        setTimeout(() => resolve({ ok: false, error: 'engine did not answer within 2 s' }), 2000).unref(),
      ),
    ]);
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

import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { Hono } from 'hono';
import type { InstanceStore } from '../instances/store.ts';
import type { HomeserverState } from '../matrix/homeserver.ts';
import type { RuntimeDriver } from '../runtime/driver.ts';
import { VERSION } from '../version.ts';
import type { EngineStatus } from './engineStatus.ts';
import type { ProxyStatus } from './proxyStatus.ts';

const started = Date.now();

/** What `ready` and `status` are made of: each dependency, and whether the platform needs it. */
export function readiness(input: {
  engine: ReturnType<EngineStatus['current']>;
  db: { ok: boolean; error?: string };
  proxy: ReturnType<ProxyStatus['current']>;
  homeserver?: HomeserverState;
}): { ready: boolean; status: 'ok' | 'degraded'; problems: string[] } {
  const problems: string[] = [];
  let ready = true;
  if (!input.engine.ok) {
    ready = false;
    problems.push(`engine: ${input.engine.error} (no instance can start or wake)`);
  }
  if (!input.db.ok) {
    ready = false;
    problems.push(`database: ${input.db.error}`);
  }
  // The platform serves without the proxy; only instances' AI calls (and new keys) wait for it.
  if (input.proxy.status === 'unreachable')
    problems.push(
      `LLM proxy: ${input.proxy.error} (instances' AI calls fail; keys are registered when it is back)`,
    );
  // Matrix is optional: without it only AI-to-AI over Matrix and owners' Matrix clients stop.
  if (input.homeserver?.status === 'unreachable')
    problems.push(`Matrix homeserver: ${input.homeserver.error} (Matrix messages wait until it is back)`);
  return { ready, status: problems.length === 0 ? 'ok' : 'degraded', problems };
}

/**
 * `GET /health`: whether the platform and its dependencies work, and how full the machine is.
 * `GET /health/ready`: 200 when the platform can serve (the engine answers, the database reads),
 * else 503: what compose, systemd or Swarm gate on. Anyone may ask, so both are answered from
 * the platform's own state (`EngineStatus`, `ProxyStatus`, the instance table, this process);
 * nothing per request reaches the engine or the proxy.
 */
export function healthRoute(deps: {
  store: InstanceStore;
  runtime: Pick<RuntimeDriver, 'kind' | 'isolated'>;
  engine: EngineStatus;
  proxy: ProxyStatus;
  dataDir: string;
  /** The homeserver's last known state; absent: no homeserver is configured. */
  homeserver?: { current(): HomeserverState } | null;
}) {
  function state() {
    const engine = deps.engine.current();
    let db: { ok: boolean; error?: string } = { ok: true };
    let instances: ReturnType<InstanceStore['counts']> | null = null;
    try {
      instances = deps.store.counts();
    } catch (err) {
      db = { ok: false, error: (err as Error).message };
    }
    const proxy = deps.proxy.current();
    const homeserver: HomeserverState = deps.homeserver?.current() ?? { status: 'not_configured' };
    return { engine, db, proxy, homeserver, instances, ...readiness({ engine, db, proxy, homeserver }) };
  }

  return new Hono()
    .get('/health', async (c) => {
      const s = state();
      const fs = await statfs(deps.dataDir);
      const body = {
        status: s.status,
        ready: s.ready,
        problems: s.problems,
        version: VERSION,
        uptime: Math.round((Date.now() - started) / 1000),
        runtime: {
          kind: deps.runtime.kind,
          isolated: deps.runtime.isolated,
          ...s.engine,
          lastError: deps.engine.lastError(),
        },
        database: s.db,
        llmProxy: s.proxy,
        instances: s.instances,
        memory: {
          totalBytes: os.totalmem(),
          freeBytes: os.freemem(),
          platformRssBytes: process.memoryUsage.rss(),
        },
        disk: { path: deps.dataDir, totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize },
        // Said as it was last seen (checked every 15 s), never a made-up "ok".
        homeserver: s.homeserver,
      };
      return c.json(body, s.ready ? 200 : 503);
    })
    .get('/health/ready', (c) => {
      const s = state();
      c.header('cache-control', 'no-store');
      return c.json({ ready: s.ready, status: s.status, problems: s.problems }, s.ready ? 200 : 503);
    });
}

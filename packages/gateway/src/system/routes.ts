import type { Logger } from '@matrixos/shared';
import { Hono } from 'hono';
import type { Activity } from '../activity.ts';
import type { Channels } from '../channels/channel.ts';
import type { GatewayConfig } from '../config.ts';
import { VERSION } from '../version.ts';
import { diskUsage } from './disk.ts';
import { listChannels, listModules } from './modules.ts';

export interface SystemRoutesDeps {
  config: Pick<GatewayConfig, 'home' | 'handle' | 'mode'>;
  log: Logger;
  activity: Activity;
  startedAt: Date;
  /** The live channels (Telegram); omitted in tests that do not need them. */
  channels?: Channels;
}

/** `/health` (public: the platform's readiness and idle checks) and `/api/system/info`. */
export function systemRoutes({ config, log, activity, startedAt, channels: live }: SystemRoutesDeps): Hono {
  const app = new Hono();
  const disk = diskUsage(config.home);
  const uptime = () => Math.round((Date.now() - startedAt.getTime()) / 1000);

  app.on('GET', ['/health', '/api/health'], (c) =>
    c.json({
      status: 'ok',
      handle: config.handle,
      version: VERSION,
      uptime: uptime(),
      lastActivity: activity.last().toISOString(),
    }),
  );

  app.get('/api/system/info', async (c) => {
    const [channels, modules, usage] = await Promise.all([
      listChannels(config.home, log),
      listModules(config.home),
      disk(),
    ]);
    return c.json({
      version: VERSION,
      handle: config.handle,
      mode: config.mode,
      startedAt: startedAt.toISOString(),
      uptime: uptime(),
      node: process.version,
      // Each channel with its state; names only in system/config.json (not built in) as `configured`.
      channels: [
        ...(live?.list() ?? []),
        ...channels
          .filter((name) => !live?.list().some((c) => c.name === name))
          .map((name) => ({ name, state: 'configured', linked: false })),
      ],
      modules,
      disk: usage,
    });
  });

  return app;
}

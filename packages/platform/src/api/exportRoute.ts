import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { HttpError } from '@matrixos/shared';
import { Hono } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { InstanceStore } from '../instances/store.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import { requireUser } from './meRoutes.ts';
import { rateLimited } from './rateLimited.ts';
import type { AppEnv, SessionCookies } from './sessionCookies.ts';

export interface ExportDeps {
  cookies: SessionCookies;
  orchestrator: Orchestrator;
  store: InstanceStore;
  limiter: RateLimiter;
  /** Where a volume's files are on this host (`createVolumeDirs`). */
  volumeDirs: (volume: string) => Promise<string>;
  clock?: () => number;
}

/** Exports per user and hour: each reads the whole volume. */
export const EXPORTS_PER_HOUR = 3;

/**
 * `GET /me/export`: the signed-in user's whole home (their volume) as a tar archive, streamed, so
 * they can leave with their data (an admin imports it elsewhere). The instance is stopped first,
 * so its SQLite files are closed and consistent; it wakes on its next request as always.
 * `X-Content-Bytes` says how much data the archive holds (a browser's progress has no
 * Content-Length to go on: the archive is made while it is sent).
 */
export function exportRoute(deps: ExportDeps) {
  const clock = deps.clock ?? Date.now;
  const app = new Hono<AppEnv>();
  app.get('/me/export', requireUser(deps.cookies), async (c) => {
    const { handle, userId } = c.var.user;
    const gate = deps.limiter.hit(`export:${userId}`, EXPORTS_PER_HOUR, 60 * 60_000);
    if (!gate.ok) throw rateLimited(gate.retryAfterMs);
    const row = deps.store.get(handle);
    if (!row) throw new HttpError(404, 'no_instance', 'you have no instance (and so no data) to export');
    await deps.orchestrator.stop(handle);
    const dir = await deps.volumeDirs(row.volume ?? handle);
    const bytes = await contentBytes(dir);
    // Never follows symlinks (the default): a link in the home is archived as a link.
    const tar = spawn('tar', ['--create', '--numeric-owner', '--directory', dir, '.'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const day = new Date(clock()).toISOString().slice(0, 10);
    return new Response(Readable.toWeb(tar.stdout) as ReadableStream, {
      headers: {
        'content-type': 'application/x-tar',
        'content-disposition': `attachment; filename="matrixos-${handle}-${day}.tar"`,
        'x-content-bytes': String(bytes),
        'cache-control': 'no-store',
      },
    });
  });
  return app;
}

/** Bytes of data under `dir` (`du`, apparent sizes): the archive is this plus its headers. */
async function contentBytes(dir: string): Promise<number> {
  const du = spawn('du', ['--summarize', '--bytes', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  for await (const chunk of du.stdout) out += chunk;
  return Number.parseInt(out, 10) || 0;
}

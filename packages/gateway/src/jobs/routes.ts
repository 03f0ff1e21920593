import { HttpError, limitBody, readJson } from '@matrixos/shared';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { secretValueSchema } from '../contract/jobs.ts';
import { JOB_ID_PATTERN } from './manifest.ts';
import { JobBusy, JobNotFound } from './scheduler.ts';
import type { Jobs } from './service.ts';
import { NoRemote, type RepoSync, SyncConflict, SyncFailed } from './sync.ts';

const SMALL_BODY = 16 * 1024;
const SECRET_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;

/**
 * A fixed window per route group: the owner's own scripts cannot start runs or syncs in a tight
 * loop (each run is a process, each sync a network round trip).
 */
export function windowLimit(max: number, windowMs: number, now: () => number = Date.now): MiddlewareHandler {
  let windowStart = 0;
  let count = 0;
  return async (_c, next) => {
    const t = now();
    if (t - windowStart >= windowMs) {
      windowStart = t;
      count = 0;
    }
    if (++count > max) {
      const retry = Math.ceil((windowStart + windowMs - t) / 1000);
      throw new HttpError(429, 'rate_limited', `too many requests; try again in ${retry} s`, undefined, {
        'Retry-After': String(retry),
      });
    }
    await next();
  };
}

function jobId(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!JOB_ID_PATTERN.test(id)) throw new HttpError(400, 'invalid_job_id', 'not a job id');
  return id;
}

function mapErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof JobNotFound) throw new HttpError(404, 'job_not_found', err.message);
    if (err instanceof JobBusy) throw new HttpError(409, 'job_running', err.message);
    throw err;
  }
}

/** The seed's jobs API on the gateway (owner only, like every route behind requireAuth). */
export function jobRoutes({ jobs, sync }: { jobs: Jobs; sync?: RepoSync }): Hono {
  const app = new Hono();
  const { scheduler, history } = jobs;
  const changes = windowLimit(120, 60_000);
  const ready: MiddlewareHandler = async (_c, next) => {
    await scheduler.started;
    await next();
  };
  app.use('/api/jobs', ready);
  app.use('/api/jobs/*', ready);

  app.get('/api/jobs', (c) => {
    const { manifestOk, problems } = scheduler.problems();
    return c.json({
      jobs: scheduler.list(),
      manifestOk,
      problems,
      nextDue: scheduler.nextDue()?.toISOString() ?? null,
    });
  });

  app.get('/api/jobs/repo', async (c) => {
    const status = await jobs.repoStatus();
    return c.json({ ...status, path: 'jobs', remote: sync ? await sync.remoteView() : null });
  });

  app.post('/api/jobs/repo/init', changes, limitBody(SMALL_BODY), async (c) => {
    const result = await jobs.init();
    return c.json({ ...(await jobs.repoStatus()), wrote: result.wrote, created: result.created });
  });

  app.get('/api/jobs/secrets', (c) => c.json({ names: jobs.secrets.names() }));

  app.put('/api/jobs/secrets/:name', changes, limitBody(SMALL_BODY), async (c) => {
    const name = c.req.param('name');
    if (!SECRET_NAME.test(name))
      throw new HttpError(400, 'invalid_secret_name', 'secret names are upper-case environment names');
    const { value } = await readJson(c, secretValueSchema);
    await jobs.secrets.set(name, value);
    return c.json({ names: jobs.secrets.names() });
  });

  app.delete('/api/jobs/secrets/:name', changes, async (c) => {
    const removed = await jobs.secrets.remove(c.req.param('name'));
    if (!removed) throw new HttpError(404, 'secret_not_found', 'no such secret');
    return c.body(null, 204);
  });

  app.post('/api/jobs/:id/run', windowLimit(30, 60_000), limitBody(SMALL_BODY), async (c) => {
    const id = jobId(c);
    const before = history.lastRun(id)?.id ?? 0;
    const { done } = mapErrors(() => scheduler.runNow(id));
    if (c.req.query('wait') === 'true') {
      await done;
      // The newest record of this chain: the last retry, or the one attempt.
      const run = history.runs(id, 20).find((r) => r.id > before);
      return c.json({ run: run ?? null }, 200);
    }
    const run = history.lastRun(id);
    return c.json({ run: run && run.id > before ? run : null }, 202);
  });

  for (const action of ['enable', 'disable'] as const) {
    app.post(`/api/jobs/:id/${action}`, changes, limitBody(SMALL_BODY), (c) => {
      const id = jobId(c);
      return c.json(mapErrors(() => scheduler.setEnabled(id, action === 'enable')));
    });
  }

  app.get('/api/jobs/:id', (c) => {
    const id = jobId(c);
    return c.json(mapErrors(() => scheduler.get(id)));
  });

  app.get('/api/jobs/:id/runs', (c) => {
    const id = jobId(c);
    const limit = z.coerce.number().int().min(1).max(200).default(50).safeParse(c.req.query('limit'));
    if (!limit.success) throw new HttpError(400, 'invalid_query', 'limit must be 1-200');
    // Lists stay small: the output is in the run itself.
    const runs = history
      .runs(id, limit.data)
      .map(({ output, ...r }) => ({ ...r, outputBytes: output.length }));
    return c.json({ runs });
  });

  app.get('/api/jobs/:id/runs/:run', (c) => {
    const id = jobId(c);
    const runId = Number(c.req.param('run'));
    if (!Number.isSafeInteger(runId) || runId < 1) throw new HttpError(400, 'invalid_run_id', 'not a run id');
    const run = history.run(id, runId);
    if (!run) throw new HttpError(404, 'run_not_found', `job "${id}" has no run ${runId}`);
    return c.json(run);
  });

  app.post('/api/jobs/repo/sync', windowLimit(10, 60_000), limitBody(SMALL_BODY), async (c) => {
    if (!sync) throw new HttpError(501, 'sync_unavailable', 'remote sync is not available');
    try {
      return c.json(await sync.sync());
    } catch (err) {
      if (err instanceof SyncConflict)
        throw new HttpError(409, 'sync_conflict', `${err.message}; the local repo is unchanged`, {
          files: err.files,
        });
      if (err instanceof NoRemote) throw new HttpError(409, 'no_remote', err.message);
      if (err instanceof SyncFailed) throw new HttpError(502, 'sync_failed', err.message);
      throw err;
    }
  });

  app.put('/api/jobs/repo/remote', changes, limitBody(SMALL_BODY), async (c) => {
    if (!sync) throw new HttpError(501, 'sync_unavailable', 'remote sync is not available');
    return c.json(await sync.setRemote(await readJson(c, sync.remoteSchema)));
  });

  return app;
}

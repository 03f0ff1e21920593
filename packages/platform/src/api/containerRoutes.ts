import { HttpError, limitBody, readJson, validateHandle } from '@matrixos/shared';
import { Hono } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { JobWakes } from '../instanceApi/jobWakes.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import { containerListQuery, provisionBody } from './contract/admin.ts';

/** Admin bodies are a handle and a flag: a kilobyte is plenty. */
const ADMIN_BODY_LIMIT = 1024;
/** Instances per page of `GET /containers` unless `limit` says otherwise. */
const LIST_PAGE = 100;
/** Token rotations per handle and minute: each one re-creates the container. */
const ROTATIONS_PER_MINUTE = 5;

function handleParam(value: string): string {
  const check = validateHandle(value);
  if (!check.ok) throw new HttpError(400, 'invalid_handle', check.reason);
  return check.handle;
}

/** The admin container API of DESIGN.md (mounted behind `requireAdmin`). */
export function containerRoutes(deps: {
  orchestrator: Orchestrator;
  lifecycle: Lifecycle;
  limiter: RateLimiter;
  jobWakes?: JobWakes;
}) {
  const { orchestrator, lifecycle, limiter } = deps;
  return (
    new Hono()
      .use('/containers/*', limitBody(ADMIN_BODY_LIMIT))
      .use('/admin/sweep', limitBody(ADMIN_BODY_LIMIT))
      .post('/containers/provision', async (c) => {
        // The handle's own rules are the orchestrator's, with their clearer messages.
        const { handle, restoreData, jobsRepo } = await readJson(c, provisionBody);
        if (handle === undefined) throw new HttpError(400, 'invalid_body', 'expected {"handle": "<handle>"}');
        const result = await provisionWithRepo(deps, handle, jobsRepo, { restoreData });
        // The instance's API token is shown once, when it is made, like any API key.
        if (result.created) return c.json({ instance: result.instance, token: result.token }, 201);
        return c.json({ instance: result.instance }, 200);
      })
      .get('/containers', (c) => {
        const query = containerListQuery.safeParse(c.req.query());
        if (!query.success) {
          const issue = query.error.issues[0];
          throw new HttpError(400, 'invalid_query', `${issue?.path.join('.') || 'query'}: ${issue?.message}`);
        }
        const { limit = LIST_PAGE, cursor } = query.data;
        return c.json(orchestrator.page(cursor, limit));
      })
      .get('/containers/:handle', async (c) => {
        const instance = orchestrator.get(handleParam(c.req.param('handle')));
        const rt = instance.engineId ? await orchestrator.runtime.inspect(instance.engineId) : null;
        const stats = rt && rt.state !== 'stopped' ? await orchestrator.runtime.stats(rt.id) : null;
        return c.json({ instance, engine: rt ? { id: rt.id, state: rt.state, stats } : null });
      })
      .get('/containers/:handle/logs', async (c) => {
        const instance = orchestrator.get(handleParam(c.req.param('handle')));
        const tail = Math.min(Math.max(Number(c.req.query('tail') ?? 200) || 200, 1), 5000);
        const text = instance.engineId ? await orchestrator.runtime.logs(instance.engineId, tail) : '';
        return c.text(text);
      })
      .post('/containers/:handle/start', async (c) =>
        c.json({ instance: await orchestrator.start(handleParam(c.req.param('handle'))) }),
      )
      .post('/containers/:handle/stop', async (c) =>
        c.json({ instance: await orchestrator.stop(handleParam(c.req.param('handle'))) }),
      )
      .post('/containers/:handle/pause', async (c) => {
        const handle = handleParam(c.req.param('handle'));
        const instance = await orchestrator.pause(handle);
        if (!instance)
          throw new HttpError(
            409,
            'not_running',
            `instance "${handle}" is not running, so it cannot be paused`,
          );
        return c.json({ instance });
      })
      .post('/containers/:handle/restart', async (c) =>
        c.json({ instance: await orchestrator.restart(handleParam(c.req.param('handle'))) }),
      )
      /** A new instance API token, shown once (the old one is refused from now on). */
      .post('/containers/:handle/token', async (c) => {
        const handle = handleParam(c.req.param('handle'));
        rotationLimit(limiter, `rotate:${handle}`);
        return c.json(await orchestrator.rotateToken(handle), 201);
      })
      /** Deletes the data a destroyed instance left behind: the handle is free again after. */
      .delete('/containers/:handle/data', async (c) => {
        const handle = handleParam(c.req.param('handle'));
        await orchestrator.deleteKeptData(handle);
        return c.json({ handle, dataDeleted: true, available: true });
      })
      .get('/admin/kept-data', (c) => c.json({ kept: orchestrator.listKept() }))
      .delete('/containers/:handle', async (c) => {
        const handle = handleParam(c.req.param('handle'));
        const deleteData = c.req.query('deleteData') === 'true';
        await orchestrator.destroy(handle, { deleteData });
        return c.json({ deleted: handle, dataDeleted: deleteData });
      })
      .post('/admin/sweep', async (c) => c.json(await lifecycle.sweep()))
  );
}

/** Shared by the admin's and the owner's rotation route: a loop of rotations is refused. */
export function rotationLimit(limiter: RateLimiter, key: string): void {
  const r = limiter.hit(key, ROTATIONS_PER_MINUTE, 60_000);
  if (!r.ok) {
    const seconds = Math.ceil(r.retryAfterMs / 1000);
    throw new HttpError(
      429,
      'rate_limited',
      `too many token rotations; try again in ${seconds} s`,
      undefined,
      {
        'Retry-After': String(seconds),
      },
    );
  }
}

/**
 * Provision, first recording the jobs repo a new instance clones before its first boot (its
 * environment carries it). An existing instance keeps its jobs; a failed provision forgets it.
 */
async function provisionWithRepo(
  deps: { orchestrator: Orchestrator; jobWakes?: JobWakes },
  handle: unknown,
  jobsRepo: string | undefined,
  opts: { restoreData?: boolean },
) {
  const check = validateHandle(handle);
  const record = jobsRepo && deps.jobWakes && check.ok && !deps.orchestrator.exists(check.handle);
  if (record) deps.jobWakes?.setJobsRepo(check.handle, jobsRepo);
  try {
    return await deps.orchestrator.provision(handle, opts);
  } catch (err) {
    if (record && check.ok && !deps.orchestrator.exists(check.handle))
      deps.jobWakes?.setJobsRepo(check.handle, null);
    throw err;
  }
}

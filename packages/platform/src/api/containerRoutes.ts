import { HttpError, readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import { validateHandle } from '../handles/validateHandle.ts';
import type { JobWakes } from '../instanceApi/jobWakes.ts';
import { remoteUrl } from '../instanceApi/remoteUrl.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';

const provisionBody = z.object({
  handle: z.unknown(),
  /** A git repo (http or https, no credentials in it) cloned into the new instance's ~/jobs. */
  jobsRepo: remoteUrl.optional(),
});

function handleParam(value: string): string {
  const check = validateHandle(value);
  if (!check.ok) throw new HttpError(400, 'invalid_handle', check.reason);
  return check.handle;
}

/** The admin container API of DESIGN.md (mounted behind `requireAdmin`). */
export function containerRoutes(deps: {
  orchestrator: Orchestrator;
  lifecycle: Lifecycle;
  jobWakes?: JobWakes;
}) {
  const { orchestrator, lifecycle } = deps;
  return new Hono()
    .post('/containers/provision', async (c) => {
      // The handle's own rules are the orchestrator's, with their clearer messages.
      const { handle, jobsRepo } = await readJson(c, provisionBody);
      if (handle === undefined) throw new HttpError(400, 'invalid_body', 'expected {"handle": "<handle>"}');
      const result = await provisionWithRepo(deps, handle, jobsRepo);
      // The instance's API token is shown once, when it is made, like any API key.
      if (result.created) return c.json({ instance: result.instance, token: result.token }, 201);
      return c.json({ instance: result.instance }, 200);
    })
    .get('/containers', (c) => c.json({ instances: orchestrator.list() }))
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
    .delete('/containers/:handle', async (c) => {
      const handle = handleParam(c.req.param('handle'));
      const deleteData = c.req.query('deleteData') === 'true';
      await orchestrator.destroy(handle, { deleteData });
      return c.json({ deleted: handle, dataDeleted: deleteData });
    })
    .post('/admin/sweep', async (c) => c.json(await lifecycle.sweep()));
}

/**
 * Provision, first recording the jobs repo a new instance clones before its first boot (its
 * environment carries it). An existing instance keeps its jobs; a failed provision forgets it.
 */
async function provisionWithRepo(
  deps: { orchestrator: Orchestrator; jobWakes?: JobWakes },
  handle: unknown,
  jobsRepo: string | undefined,
) {
  const check = validateHandle(handle);
  const record = jobsRepo && deps.jobWakes && check.ok && !deps.orchestrator.exists(check.handle);
  if (record) deps.jobWakes?.setJobsRepo(check.handle, jobsRepo);
  try {
    return await deps.orchestrator.provision(handle);
  } catch (err) {
    if (record && check.ok && !deps.orchestrator.exists(check.handle))
      deps.jobWakes?.setJobsRepo(check.handle, null);
    throw err;
  }
}

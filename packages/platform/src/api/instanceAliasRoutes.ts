import { HttpError, limitBody, readJson, validateHandle } from '@matrixos/shared';
import { Hono } from 'hono';
import { instanceUrl, type PlatformConfig } from '../config.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import { aliasProvisionBody } from './contract/admin.ts';

function subdomainParam(value: string): string {
  const check = validateHandle(value);
  if (!check.ok) throw new HttpError(400, 'invalid_handle', check.reason);
  return check.handle;
}

/**
 * The seed's control-plane routes (SDP-1) as aliases of ours, so that its end-to-end script runs
 * here with only its URLs and token changed: `POST /admin/instances {subdomain, owner_email}`,
 * `GET|DELETE /admin/instances/:subdomain`. Mounted behind `requireAdmin` like the routes they
 * stand for (`/containers/...`). A delete keeps the user's data, as `DELETE /containers/:handle` does.
 */
export function instanceAliasRoutes(deps: {
  orchestrator: Orchestrator;
  config: Pick<PlatformConfig, 'publicUrl'>;
}) {
  const { orchestrator, config } = deps;
  return new Hono()
    .post('/admin/instances', limitBody(4 * 1024), async (c) => {
      const { subdomain, owner_email } = await readJson(c, aliasProvisionBody);
      const result = await orchestrator.provision(subdomain);
      const body = {
        subdomain: result.instance.handle,
        owner_email,
        url: instanceUrl(config, result.instance.handle),
        instance: result.instance,
      };
      if (result.created) return c.json({ ...body, token: result.token }, 201);
      return c.json(body, 200);
    })
    .get('/admin/instances/:subdomain', async (c) => {
      const instance = orchestrator.get(subdomainParam(c.req.param('subdomain')));
      return c.json({ subdomain: instance.handle, url: instanceUrl(config, instance.handle), instance });
    })
    .delete('/admin/instances/:subdomain', async (c) => {
      const handle = subdomainParam(c.req.param('subdomain'));
      orchestrator.get(handle); // 404 for one that does not exist
      await orchestrator.destroy(handle, { deleteData: c.req.query('deleteData') === 'true' });
      return c.json({ deleted: handle });
    });
}

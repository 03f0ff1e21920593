import { HttpError, readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import { ownKeyBody, registerKeyBody } from '../contract/keys.ts';
import { handleParam } from '../handleParam.ts';
import { requireAdmin, requireInstance } from './auth.ts';
import type { KeyStore } from './KeyStore.ts';

/** `/usage/summary` would shadow the usage of a user named so. */
const RESERVED = new Set(['summary']);

/**
 * Keys. The platform registers each instance's proxy token when it provisions the instance and
 * revokes it when the instance goes; an instance sets or removes its user's own Anthropic key.
 */
export function keyRoutes(keys: KeyStore, adminToken: string | null) {
  const app = new Hono();

  app.put('/keys/self/anthropic', async (c) => {
    const handle = requireInstance(c, adminToken, keys);
    const { apiKey } = await readJson(c, ownKeyBody);
    return c.json(keys.setOwnKey(handle, apiKey));
  });

  app.get('/keys/self/anthropic', (c) => c.json(keys.ownKeyInfo(requireInstance(c, adminToken, keys))));

  app.delete('/keys/self/anthropic', (c) => {
    keys.deleteOwnKey(requireInstance(c, adminToken, keys));
    return c.json({ configured: false, hint: null });
  });

  app.put('/keys/:handle', async (c) => {
    requireAdmin(c, adminToken, keys);
    const handle = handleParam(c);
    if (RESERVED.has(handle))
      throw new HttpError(400, 'reserved_handle', `"${handle}" is reserved by the proxy`);
    const { token } = await readJson(c, registerKeyBody);
    keys.register(handle, token);
    return c.json({ handle, registered: true });
  });

  app.delete('/keys/:handle', (c) => {
    requireAdmin(c, adminToken, keys);
    const handle = handleParam(c);
    return c.json({ handle, revoked: keys.revoke(handle) });
  });

  return app;
}

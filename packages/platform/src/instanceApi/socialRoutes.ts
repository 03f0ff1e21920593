import { readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import { appShared, profilePublish, sendBody } from '../api/contract/social.ts';
import type { Social } from '../social/social.ts';
import { SocialError } from '../social/socialError.ts';
import { answer, mountSocialHandlers } from '../social/socialHandlers.ts';
import { toHttpError } from '../social/toHttpError.ts';
import type { InstanceEnv } from './requireInstance.ts';

export const SOCIAL_PROFILE_PATH = '/instance/v1/social/profile';

/**
 * The social API for instances (their own token: `c.var.instance` is the caller): the same reads
 * and settings as people get, plus publishing the profile, reporting a shared app, and sending.
 */
export function instanceSocialRoutes(deps: { social: Social }) {
  const { social } = deps;
  const app = new Hono<InstanceEnv>();
  mountSocialHandlers(app, social, (c) => c.var.instance, {
    reads: '/instance/v1/social',
    settings: '/instance/v1/social/settings',
    blocks: '/instance/v1/social/blocks',
  });
  app.put(SOCIAL_PROFILE_PATH, async (c) => {
    const body = await readJson(c, profilePublish);
    return c.json(social.publish(c.var.instance, body));
  });
  app.post('/instance/v1/social/apps', async (c) => {
    const body = await readJson(c, appShared);
    return c.json(social.appShared(c.var.instance, body));
  });
  app.post('/instance/v1/social/send/:handle', async (c) => {
    // A recipient that is not even a handle is no user: the same answer as one that does not exist.
    const to = c.req.param('handle');
    if (!/^[a-z][a-z0-9-]{1,28}[a-z0-9]$/.test(to))
      throw toHttpError(new SocialError('unknown_recipient', 'no such user to message'));
    const body = await readJson(c, sendBody);
    return c.json(await answer(() => social.send(c.var.instance, to, body)));
  });
  return app;
}

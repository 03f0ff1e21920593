import { HttpError, limitBody, readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import type { AccountStore } from '../accounts/accountStore.ts';
import type { SessionEvents } from '../accounts/sessions.ts';

import { roleBody } from './contract/admin.ts';

/**
 * `PUT /admin/users/{handle}/role`: who is an admin is decided here, by whoever holds the admin
 * token (or is an admin already), for an account that exists: never by a name someone might
 * claim first. Takes effect on the account's next request, and on what it holds open (a demoted
 * admin's WebSockets to other people's instances are closed).
 */
export function userRoutes(accounts: AccountStore, sessionEvents?: SessionEvents) {
  return new Hono().put('/admin/users/:handle/role', limitBody(1024), async (c) => {
    const { role } = await readJson(c, roleBody);
    const handle = c.req.param('handle');
    if (!accounts.setRole(handle, role)) throw new HttpError(404, 'not_found', `no account "${handle}"`);
    const user = accounts.userByHandle(handle);
    if (user) sessionEvents?.emit('changed', { userId: user.id, reason: `role set to ${role}` });
    return c.json({ handle, role });
  });
}

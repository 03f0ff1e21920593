import { HttpError, readJson } from '@matrixos/shared';
import type { Context, Env, Hono } from 'hono';
import type { z } from 'zod';
import { handle, pageQuery, settingsChange } from '../api/contract/social.ts';
import type { Social } from './social.ts';
import { toHttpError } from './toHttpError.ts';

/** A path's handle, as the contract writes handles; anything else is the caller's mistake. */
export function handleOf(c: Context, name = 'handle'): string {
  const parsed = handle.safeParse(c.req.param(name));
  if (!parsed.success) throw new HttpError(400, 'invalid_handle', `"${name}" is not a handle`);
  return parsed.data;
}

function query<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success)
    throw new HttpError(400, 'invalid_query', 'the query is not valid', {
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  return parsed.data;
}

/** Runs a domain call, its refusals mapped to HTTP once. */
export async function answer<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toHttpError(err);
  }
}

/**
 * The reads and the owner's settings, the same on both doors: `viewer` is the session's handle
 * or the token's instance. Paths are relative to where each door mounts them.
 */
export function mountSocialHandlers<E extends Env>(
  app: Hono<E>,
  social: Social,
  viewer: (c: Context<E>) => string,
  paths: { reads: string; settings: string; blocks: string },
): void {
  app.get(`${paths.reads}/users`, async (c) =>
    c.json(await answer(() => social.users(viewer(c), query(c, pageQuery)))),
  );
  app.get(`${paths.reads}/profiles/:handle`, async (c) =>
    c.json(await answer(() => social.profile(viewer(c), handleOf(c)))),
  );
  app.get(`${paths.reads}/profiles/:handle/ai`, async (c) =>
    c.json(await answer(() => social.aiProfile(viewer(c), handleOf(c)))),
  );
  app.get(`${paths.reads}/feed`, async (c) =>
    c.json(await answer(() => social.feed(viewer(c), query(c, pageQuery)))),
  );
  app.get(paths.settings, (c) => c.json(social.settings(viewer(c))));
  app.put(paths.settings, async (c) => {
    const change = await readJson(c, settingsChange);
    return c.json(social.changeSettings(viewer(c), change));
  });
  app.put(`${paths.blocks}/:handle`, async (c) =>
    c.json(await answer(() => social.block(viewer(c), handleOf(c)))),
  );
  app.delete(`${paths.blocks}/:handle`, async (c) =>
    c.json(await answer(() => social.unblock(viewer(c), handleOf(c)))),
  );
}

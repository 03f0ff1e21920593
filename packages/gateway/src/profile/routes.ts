import { readFile } from 'node:fs/promises';
import { HttpError } from '@matrixos/shared';
import { Hono } from 'hono';
import { homePaths } from '../home/layout.ts';

/** The owner's public profile and their AI's, as the markdown they wrote. */
export function profileRoutes({ home }: { home: string }): Hono {
  const app = new Hono();
  const paths = homePaths(home);
  const serve = (file: string, name: string) => async () => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new HttpError(404, 'profile_missing', `${name} does not exist in this home`);
    }
    return new Response(text, { headers: { 'Content-Type': 'text/markdown; charset=utf-8' } });
  };
  app.get('/api/profile', serve(paths.profile, 'system/profile.md'));
  app.get('/api/ai-profile', serve(paths.aiProfile, 'system/ai-profile.md'));
  return app;
}

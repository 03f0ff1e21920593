import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError } from '@matrixos/shared';
import { z } from 'zod';
import type { EventBus } from '../events/bus.ts';
import { fsCall } from '../files/fs-call.ts';
import { assertInsideHome } from '../files/path.ts';
import { writeTextAtomic } from '../files/write.ts';
import { homePaths } from '../home/layout.ts';
import type { StorageGuard } from '../storage/guard.ts';

/** An app's name is its folder and its URL segment: lower-case letters, digits, inner hyphens. */
export const APP_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
export const APP_NAME_RULE =
  '1-40 lower-case letters, digits or hyphens, not starting or ending with a hyphen';

export interface AppInfo {
  name: string;
  title: string;
  description: string;
  /** Relative to the shell's page, so it works behind a path prefix too. */
  url: string;
  updatedAt: string | null;
}

/** `apps/<name>/app.json`, written beside the app's `index.html`. */
const manifestSchema = z.object({
  title: z.string().max(80).optional(),
  description: z.string().max(500).optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});

export interface AppStore {
  list(): Promise<AppInfo[]>;
  /** Creates or replaces an app; `created` tells which. */
  save(input: { name: string; title: string; description?: string | undefined; html: string }): Promise<{
    app: AppInfo;
    created: boolean;
  }>;
}

/**
 * The apps of a home: each folder of `apps/` with an `index.html` (and, when the AI made it, an
 * `app.json` manifest), or a single `apps/<name>.html` file.
 */
export function createAppStore({
  home,
  bus,
  maxFileBytes,
  storage,
}: {
  home: string;
  bus: EventBus;
  maxFileBytes: number;
  storage?: StorageGuard;
}): AppStore {
  const dir = homePaths(home).apps;

  async function readManifest(name: string): Promise<z.infer<typeof manifestSchema>> {
    try {
      const parsed = manifestSchema.safeParse(
        JSON.parse(await readFile(join(dir, name, 'app.json'), 'utf8')),
      );
      return parsed.success ? parsed.data : {};
    } catch {
      // No manifest, or one the owner broke: the app still runs, under its name.
      return {};
    }
  }

  async function info(name: string, mtime: Date | null): Promise<AppInfo> {
    const manifest = await readManifest(name);
    return {
      name,
      title: manifest.title?.trim() || name,
      description: manifest.description ?? '',
      url: `apps/${name}/`,
      updatedAt: manifest.updatedAt ?? mtime?.toISOString() ?? null,
    };
  }

  return {
    async list() {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return [];
      }
      const found = new Map<string, Promise<AppInfo | null>>();
      for (const e of entries) {
        if (e.isDirectory() && APP_NAME_PATTERN.test(e.name)) {
          found.set(
            e.name,
            stat(join(dir, e.name, 'index.html')).then(
              (s) => (s.isFile() ? info(e.name, s.mtime) : null),
              () => null,
            ),
          );
        } else if (e.isFile() && e.name.endsWith('.html')) {
          const name = e.name.slice(0, -'.html'.length);
          // A folder of the same name wins: it is what /apps/<name>/ serves.
          if (APP_NAME_PATTERN.test(name) && !found.has(name)) {
            found.set(
              name,
              stat(join(dir, e.name)).then((s) => info(name, s.mtime)),
            );
          }
        }
      }
      const apps = (await Promise.all(found.values())).filter((a): a is AppInfo => a !== null);
      return apps.sort((a, b) => a.title.localeCompare(b.title) || a.name.localeCompare(b.name));
    },

    async save({ name, title, description, html }) {
      if (!APP_NAME_PATTERN.test(name)) {
        throw new HttpError(400, 'invalid_app_name', `an app name is ${APP_NAME_RULE}`);
      }
      await storage?.ensureRoom(Buffer.byteLength(html));
      const appDir = join(dir, name);
      await mkdir(dir, { recursive: true });
      await assertInsideHome(home, appDir, true);
      await fsCall(() => mkdir(appDir, { recursive: true }), 'parent');
      const before = await readManifest(name);
      const created = !(await stat(join(appDir, 'index.html')).then(
        (s) => s.isFile(),
        () => false,
      ));
      const now = new Date().toISOString();
      const manifest = {
        title: title.trim().slice(0, 80) || name,
        description: (description ?? before.description ?? '').slice(0, 500),
        createdAt: created ? now : (before.createdAt ?? now),
        updatedAt: now,
      };
      // The page first: a manifest never describes an app that is not there.
      await assertInsideHome(home, join(appDir, 'index.html'), false);
      await fsCall(() => writeTextAtomic(join(appDir, 'index.html'), html, maxFileBytes));
      await fsCall(() =>
        writeTextAtomic(join(appDir, 'app.json'), `${JSON.stringify(manifest, null, 2)}\n`, maxFileBytes),
      );
      const action = created ? 'created' : 'updated';
      bus.publish({ type: 'files.changed', path: `apps/${name}/index.html`, action });
      bus.publish({ type: 'files.changed', path: `apps/${name}/app.json`, action });
      return { app: await info(name, new Date(now)), created };
    },
  };
}

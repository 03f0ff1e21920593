import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from '@matrixos/shared';
import { homePaths } from '../home/layout.ts';

/** The apps in `apps/`: each folder, or single `.html` file, is one. */
export async function listModules(home: string): Promise<{ name: string; path: string }[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(homePaths(home).apps, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isFile() && e.name.endsWith('.html'))))
    .map((e) => ({
      name: e.isDirectory() ? e.name : e.name.slice(0, -'.html'.length),
      path: `apps/${e.name}`,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The channels configured in `system/config.json` (none exist yet). The file is the user's: when
 * it is broken the instance still answers, with no channels and a warning in the log.
 */
export async function listChannels(home: string, log: Logger): Promise<string[]> {
  const file = homePaths(home).systemConfig;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  try {
    const config = JSON.parse(text) as { channels?: unknown };
    const channels = config.channels;
    if (channels && typeof channels === 'object' && !Array.isArray(channels)) {
      return Object.entries(channels)
        .filter(([, c]) => !(c && typeof c === 'object' && (c as { enabled?: unknown }).enabled === false))
        .map(([name]) => name)
        .sort();
    }
    return [];
  } catch (err) {
    log.warn({ err, file }, 'system/config.json is not valid JSON; reporting no channels');
    return [];
  }
}

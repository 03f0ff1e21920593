import { readFile } from 'node:fs/promises';

/** IMAGE_VERSION from an os-release file (distro/build.sh writes it), or "unknown". */
export async function readImageVersion(osRelease: string): Promise<string> {
  const text = await readFile(osRelease, 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith('IMAGE_VERSION='));
  return line ? line.slice('IMAGE_VERSION='.length).replace(/^["']|["']$/g, '') || 'unknown' : 'unknown';
}

import { lstat, mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HttpError } from '@matrixos/shared';
import { z } from 'zod';
import type { EventBus } from '../events/bus.ts';
import { fsCall } from '../files/fs-call.ts';
import { assertInsideHome, resolveHomePath } from '../files/path.ts';
import { writeTextAtomic } from '../files/write.ts';
import { PRIVATE_DIR } from '../home/layout.ts';
import type { StorageGuard } from '../storage/guard.ts';
import { defineTool, formatBytes, type ToolSpec } from './tool.ts';

/** More than this is cut: a model's context is precious and a home may hold big files. */
export const READ_LIMIT_BYTES = 256 * 1024;
const LIST_LIMIT = 500;

const path = z.string().max(1024).describe('A path relative to the home, like notes/today.md');

/** read_file, write_file and list_directory: the home, and nothing but the home. */
export function fileTools({
  home,
  maxFileBytes,
  bus,
  storage,
}: {
  home: string;
  maxFileBytes: number;
  bus: EventBus;
  storage?: StorageGuard | undefined;
}): ToolSpec[] {
  const readFileTool = defineTool({
    name: 'read_file',
    description:
      "Read a text file from the owner's home. Paths are relative to the home (notes/today.md). " +
      `Files over ${READ_LIMIT_BYTES / 1024} KiB are cut; binary files are refused.`,
    input: z.strictObject({ path }),
    describe: (input) => input.path,
    async run(input) {
      const target = resolveHomePath(home, input.path);
      await assertInsideHome(home, target.abs, true);
      const info = await fsCall(() => stat(target.abs));
      if (info.isDirectory())
        throw new HttpError(400, 'is_a_directory', `${shown(target.rel)} is a directory: use list_directory`);
      if (!info.isFile())
        throw new HttpError(400, 'not_a_regular_file', `${target.rel} is not a regular file`);
      const bytes = await readHead(target.abs, READ_LIMIT_BYTES);
      if (bytes.subarray(0, 8192).includes(0)) {
        throw new HttpError(400, 'binary_file', `${target.rel} is a binary file (${formatBytes(info.size)})`);
      }
      const text = bytes.toString('utf8');
      const cut = info.size > bytes.length;
      return {
        content: cut
          ? `${text}\n\n[cut: only the first ${formatBytes(bytes.length)} of ${formatBytes(info.size)} are shown]`
          : text,
        summary: `Read ${target.rel} (${formatBytes(info.size)})`,
      };
    },
  });

  const writeFileTool = defineTool({
    name: 'write_file',
    description:
      "Create or replace a text file in the owner's home (parent folders are created). " +
      'The whole content is written; the previous content, if any, is replaced.',
    input: z.strictObject({ path, content: z.string().describe('The complete new content of the file') }),
    describe: (input) => input.path,
    async run(input) {
      const target = resolveHomePath(home, input.path);
      if (target.rel === '') throw new HttpError(400, 'invalid_path', 'write_file needs a file path');
      await storage?.ensureRoom(Buffer.byteLength(input.content));
      await assertInsideHome(home, target.abs, false);
      const existing = await lstat(target.abs).catch(() => null);
      if (existing?.isDirectory()) throw new HttpError(409, 'is_a_directory', `${target.rel} is a directory`);
      await fsCall(() => mkdir(dirname(target.abs), { recursive: true }), 'parent');
      const { size, replaced } = await fsCall(() => writeTextAtomic(target.abs, input.content, maxFileBytes));
      bus.publish({ type: 'files.changed', path: target.rel, action: replaced ? 'updated' : 'created' });
      return {
        content: `${replaced ? 'Replaced' : 'Created'} ${target.rel} (${size} bytes).`,
        summary: `Wrote ${target.rel} (${formatBytes(size)})`,
      };
    },
  });

  const listDirectoryTool = defineTool({
    name: 'list_directory',
    description:
      "List a folder of the owner's home: one entry per line, folders ending with /. " +
      'Without a path, the home itself.',
    input: z.strictObject({ path: path.optional() }),
    describe: (input) => shown(input.path ?? ''),
    async run(input) {
      const target = resolveHomePath(home, input.path ?? '');
      await assertInsideHome(home, target.abs, true);
      const info = await fsCall(() => stat(target.abs));
      if (!info.isDirectory())
        throw new HttpError(400, 'not_a_directory', `${target.rel} is a file: use read_file`);
      const entries = (await fsCall(() => readdir(target.abs, { withFileTypes: true })))
        .filter((e) => !(target.rel === '' && e.name === PRIVATE_DIR))
        .sort((a, b) => a.name.localeCompare(b.name));
      const lines = await Promise.all(
        entries.slice(0, LIST_LIMIT).map(async (e) => {
          if (e.isDirectory()) return `${e.name}/`;
          const size = await lstat(join(target.abs, e.name)).then(
            (s) => ` (${formatBytes(s.size)})`,
            () => '',
          );
          return `${e.name}${e.isSymbolicLink() ? ' (link)' : size}`;
        }),
      );
      if (entries.length > LIST_LIMIT) lines.push(`[${entries.length - LIST_LIMIT} more entries not shown]`);
      return {
        content: lines.length ? lines.join('\n') : '(empty folder)',
        summary: `Listed ${shown(target.rel)} (${entries.length} ${entries.length === 1 ? 'entry' : 'entries'})`,
      };
    },
  });

  return [readFileTool, writeFileTool, listDirectoryTool];
}

const shown = (rel: string) => (rel === '' ? 'the home folder' : `${rel}/`.replace(/\/+$/, '/'));

async function readHead(file: string, limit: number): Promise<Buffer> {
  const handle = await fsCall(() => open(file, 'r'));
  try {
    const buffer = Buffer.alloc(limit);
    let filled = 0;
    while (filled < limit) {
      const { bytesRead } = await handle.read(buffer, filled, limit - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HttpError } from '@matrixos/shared';
import { z } from 'zod';
import type { EventBus } from '../events/bus.ts';
import { assertInsideHome } from '../files/path.ts';
import { homePaths } from '../home/layout.ts';
import type { StorageGuard } from '../storage/guard.ts';
import { defineTool, type ToolSpec } from './tool.ts';

/** Memory goes into every system prompt: past this, the model has to condense it first. */
export const MEMORY_LIMIT_BYTES = 32 * 1024;

const HEADER = `# Memory

Notes your AI keeps across conversations. You may edit or delete them.

`;

/** remember: appends a dated line to `system/memory.md`. */
export function memoryTool({
  home,
  bus,
  storage,
}: {
  home: string;
  bus: EventBus;
  storage?: StorageGuard | undefined;
}): ToolSpec {
  const file = homePaths(home).memory;
  // Two calls in one response must not interleave their appends.
  let queue: Promise<unknown> = Promise.resolve();

  async function append(note: string): Promise<void> {
    await assertInsideHome(home, file, true);
    await storage?.ensureRoom(Buffer.byteLength(note) + 16);
    const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if ((existing?.length ?? 0) + note.length > MEMORY_LIMIT_BYTES) {
      throw new HttpError(
        413,
        'memory_full',
        `memory is full (${MEMORY_LIMIT_BYTES / 1024} KiB): condense system/memory.md with write_file first`,
      );
    }
    const line = `- ${new Date().toISOString().slice(0, 10)}: ${note}\n`;
    await mkdir(dirname(file), { recursive: true });
    if (existing === null) await writeFile(file, HEADER + line);
    else await appendFile(file, (existing === '' || existing.endsWith('\n') ? '' : '\n') + line);
    bus.publish({
      type: 'files.changed',
      path: 'system/memory.md',
      action: existing === null ? 'created' : 'updated',
    });
  }

  return defineTool({
    name: 'remember',
    description:
      'Keep a note for later conversations: something the owner asked you to remember, or a lasting ' +
      'fact about them or their preferences. Notes are added to system/memory.md, which you see at the ' +
      'start of every conversation.',
    input: z.strictObject({
      note: z
        .string()
        .trim()
        .min(1)
        .max(1000)
        .refine((n) => !/[\r\n]/.test(n), 'must be one line')
        .describe('One line, in your own words'),
    }),
    describe: (input) => input.note,
    async run(input) {
      const done = queue.then(() => append(input.note));
      queue = done.catch(() => undefined);
      await done;
      return { content: 'Noted in system/memory.md.', summary: `Remembered: ${input.note}` };
    },
  });
}

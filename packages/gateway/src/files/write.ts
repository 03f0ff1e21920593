import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { HttpError } from '@matrixos/shared';

class TooLarge extends Error {}

/**
 * Streams a body into a hidden temp file beside the target, fsyncs it, then renames it over the
 * target: readers see the old file or the new one, never half of one. Over `maxBytes`, or if the
 * client goes away, the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(
  target: string,
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  mode = 0o644,
): Promise<{ size: number; replaced: boolean }> {
  const dir = dirname(target);
  const tmp = join(dir, `.upload-${randomBytes(8).toString('hex')}`);
  let size = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      callback(size > maxBytes ? new TooLarge() : null, chunk);
    },
  });
  try {
    await pipeline(
      body ? Readable.fromWeb(body) : Readable.from([]),
      limit,
      createWriteStream(tmp, { flags: 'wx', mode, flush: true }),
    );
    const replaced = await lstat(target).then(
      () => true,
      () => false,
    );
    await rename(tmp, target);
    await syncDir(dir);
    return { size, replaced };
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof TooLarge) throw tooLarge(maxBytes);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      throw new HttpError(400, 'upload_aborted', 'the upload ended before the body was complete');
    }
    throw err;
  }
}

export const tooLarge = (maxBytes: number) =>
  new HttpError(413, 'file_too_large', `files are limited to ${maxBytes} bytes`, { maxBytes });

/** Makes the rename itself durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** writeFileAtomic for text the instance itself produces (the AI's tools, the stores). */
export function writeTextAtomic(
  target: string,
  text: string,
  maxBytes: number,
  mode = 0o644,
): Promise<{ size: number; replaced: boolean }> {
  return writeFileAtomic(target, new Blob([text]).stream() as ReadableStream<Uint8Array>, maxBytes, mode);
}

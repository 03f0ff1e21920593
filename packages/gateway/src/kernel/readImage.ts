import { open } from 'node:fs/promises';

/** An image for the model to see, as the Messages API takes it (base64 in the message). */
export interface ImageInput {
  mediaType: 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';
  base64: string;
}

/** The Messages API's limit per image; larger ones stay files the AI can be told about. */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
/** At most this many images in one message (a Telegram album comes one photo per message). */
export const MAX_IMAGES = 4;

/** The image type by the file's first bytes (what the model would get), never by its name. */
function sniff(head: Buffer): ImageInput['mediaType'] | null {
  if (head.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))) return 'image/jpeg';
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (head.subarray(0, 4).toString('latin1') === 'GIF8') return 'image/gif';
  if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP')
    return 'image/webp';
  return null;
}

/** The file as an image the model can see, or null when it is no JPEG/PNG/GIF/WebP or too large. */
export async function readImage(file: string): Promise<ImageInput | null> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (size > MAX_IMAGE_BYTES) return null;
    const bytes = await fh.readFile();
    const mediaType = sniff(bytes.subarray(0, 12));
    return mediaType ? { mediaType, base64: bytes.toString('base64') } : null;
  } finally {
    await fh.close();
  }
}

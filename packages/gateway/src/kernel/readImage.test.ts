import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_IMAGE_BYTES, readImage } from './readImage.ts';

describe('readImage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'read-image-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('knows an image by its bytes, whatever its name says', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    expect(await readImage(file('shot.jpg', png))).toEqual({
      mediaType: 'image/png',
      base64: png.toString('base64'),
    });
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]);
    expect((await readImage(file('x.bin', webp)))?.mediaType).toBe('image/webp');
    expect((await readImage(file('a.gif', Buffer.from('GIF89a....'))))?.mediaType).toBe('image/gif');
  });

  it('leaves out what the model cannot take as an image: other files, and images over its limit', async () => {
    expect(await readImage(file('notes.jpg', Buffer.from('not a picture at all')))).toBeNull();
    const big = Buffer.alloc(MAX_IMAGE_BYTES + 1);
    big.set([0xff, 0xd8, 0xff]);
    expect(await readImage(file('big.jpg', big))).toBeNull();
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findNginx } from './findNginx.ts';

describe('findNginx', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'matrixos-nginx-modules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the packages to install when the lua module is missing', () => {
    writeFileSync(path.join(dir, 'ndk_http_module.so'), '');
    let message = '';
    try {
      findNginx(dir);
    } catch (err) {
      message = (err as Error).message;
    }
    // Without nginx itself the message names the same packages.
    expect(message).toContain('apt-get install -y nginx-light libnginx-mod-http-lua');
  });
});

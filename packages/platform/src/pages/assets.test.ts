import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BROWSER_DIR } from '@matrixos/shared';
import { describe, expect, it } from 'vitest';
import { loadAssets } from './assets.ts';

describe('the pages’ assets', () => {
  it("include the browser library shared with the instance's shell, as the same bytes", () => {
    const assets = loadAssets();
    for (const name of ['format.js', 'dom.js', 'http.js']) {
      const asset = assets.get(name);
      expect(asset?.type, name).toBe('text/javascript; charset=utf-8');
      expect(asset?.body.equals(readFileSync(join(BROWSER_DIR, name))), name).toBe(true);
    }
    // lib.js is the pages' own, built on the shared one.
    expect(assets.get('lib.js')?.body.toString()).toContain("from './format.js'");
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/bundle-gateway.ts', import.meta.url));
let out: string;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'matrixos-bundle-'));
  await promisify(execFile)(process.execPath, [SCRIPT, out]);
});
afterAll(() => rm(out, { recursive: true, force: true }));

describe('the gateway bundle', () => {
  it("asks Node for nothing but its built-ins: no module is looked up where the user's HOME points", async () => {
    const files = (await readdir(join(out, 'bin'), { recursive: true })).filter((f) => f.endsWith('.mjs'));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const asked = new Set<string>();
    for (const file of files) {
      // The code without its comments (the libraries' docs show imports as examples).
      const code = (await readFile(join(out, 'bin', file), 'utf8'))
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      for (const m of code.matchAll(/(?:\b|__)(?:require|import)\(\s*["']([^"']+)["']\s*\)/g))
        asked.add(m[1]!);
      for (const m of code.matchAll(/^import\b[^;]*?\bfrom\s*["']([^"']+)["']/gm)) asked.add(m[1]!);
    }
    const outside = [...asked].filter((name) => !builtins.has(name) && !name.startsWith('./'));
    expect(outside).toEqual([]);
    // The scan sees the bundle's own imports and its CommonJS dependencies' requires.
    expect(asked.has('node:module')).toBe(true);
    expect(asked.has('events')).toBe(true);
  });

  it('carries the shell, the template and the browser library shared with the platform', async () => {
    expect(await readdir(join(out, 'browser'))).toEqual(
      expect.arrayContaining(['dom.js', 'format.js', 'http.js']),
    );
    expect(await readdir(join(out, 'shell'))).toContain('main.js');
    expect(await readdir(join(out, 'template'))).toContain('system');
  });
});

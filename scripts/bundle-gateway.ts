/**
 * Bundles the gateway into one ES module plus its home template, the whole of what the instance
 * image runs: `<out>/bin/gateway.mjs` and `<out>/template/` (main.ts finds the template at
 * `../template/` from itself, in the repo and in the bundle alike). Usage: node scripts/bundle-gateway.ts [out]
 */
import { cp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'dist/gateway'));

await rm(out, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(root, 'packages/gateway/src/main.ts')],
  outfile: join(out, 'bin/gateway.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // The CommonJS dependencies (ws, pino) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  // ws's optional native speed-ups: absent, and ws works without them.
  external: ['bufferutil', 'utf-8-validate'],
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
await cp(join(root, 'packages/gateway/template'), join(out, 'template'), { recursive: true });

const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`bundle-gateway: ${out} (${(bytes / 1024).toFixed(0)} KiB with source map)`);

/**
 * Bundles the gateway into one ES module (and its job runner) plus its home template, the shell's files and the
 * browser helpers shared with the platform, the whole of what the instance image runs:
 * `<out>/bin/gateway.mjs`, `<out>/template/`, `<out>/shell/` and `<out>/browser/` (main.ts and
 * @matrixos/shared find them at `../template/`, `../shell/` and `../browser/` from themselves, in
 * the repo and in the bundle alike). Nothing is left to be resolved at run time but Node's
 * built-ins. Usage: node scripts/bundle-gateway.ts [out]
 */
import { cp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

/** `require(name)` of these finds, inside the bundle, a module that says it is not there. */
function noOptionalModules(names: string[]): Plugin {
  const filter = new RegExp(`^(${names.join('|')})$`); // plain package names
  return {
    name: 'no-optional-modules',
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'absent' }));
      b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not part of the bundle`)}), { code: 'MODULE_NOT_FOUND' });`,
        loader: 'js',
      }));
    },
  };
}

/**
 * The platform's social contract, straight from its file: the image is built from the gateway's
 * workspace alone (installing the platform's dependencies would need a native build), and the
 * contract needs nothing but zod and @matrixos/shared.
 */
function platformContract(root: string): Plugin {
  return {
    name: 'platform-contract',
    setup(b) {
      b.onResolve({ filter: /^@matrixos\/platform\/social$/ }, () => ({
        path: join(root, 'packages/platform/src/api/contract/social.ts'),
      }));
    },
  };
}

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'dist/gateway'));

await rm(out, { recursive: true, force: true });
const result = await build({
  // The job runner is its own entry: each job run is a child process that starts from it.
  entryPoints: {
    gateway: join(root, 'packages/gateway/src/main.ts'),
    'job-runner': join(root, 'packages/gateway/src/jobs/runner.ts'),
  },
  outdir: join(out, 'bin'),
  entryNames: '[name]',
  outExtension: { '.js': '.mjs' },
  // Modules the gateway imports on demand (the Anthropic SDK) become chunks loaded when used.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // The CommonJS dependencies (ws, pino) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  // Optional modules the dependencies try in a try/catch: ws's native speed-ups, debug's colours and
  // node-fetch's charset converter (grammY's). Absent, and each works without them. Resolved to a
  // module in the bundle that throws, never looked up at run time: Node's global module folders
  // include $HOME/.node_modules, and the instance's HOME is the user's writable home.
  plugins: [
    noOptionalModules(['bufferutil', 'utf-8-validate', 'supports-color', 'encoding']),
    platformContract(root),
  ],
  sourcemap: 'linked',
  // Stack traces need only the mappings. Without a copy of every source the map is 5x smaller,
  // and an instance (which parses it at start, --enable-source-maps) needs ~30 MB less memory.
  sourcesContent: false,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
await cp(join(root, 'packages/gateway/template'), join(out, 'template'), { recursive: true });
await cp(join(root, 'packages/gateway/shell'), join(out, 'shell'), { recursive: true });
// The browser helpers shared with the platform's pages (BROWSER_DIR finds them at ../browser/).
await cp(join(root, 'packages/shared/browser'), join(out, 'browser'), { recursive: true });

const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`bundle-gateway: ${out} (${(bytes / 1024).toFixed(0)} KiB with source map)`);

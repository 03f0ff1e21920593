/**
 * `npm run bench [-- platform|proxy|billing|social|matrix]`: runs the benchmarks (all by default), one after the other
 * so they do not disturb each other. Each prints markdown and writes bench/results/.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const suites = ['platform', 'proxy', 'oidc', 'jobs', 'billing', 'backup', 'social', 'matrix', 'rollout'];
const asked = process.argv.slice(2);
const run = asked.length ? asked : suites;
for (const name of run) {
  if (!suites.includes(name)) {
    console.error(`bench: unknown suite "${name}" (choose from ${suites.join(', ')})`);
    process.exit(2);
  }
  console.log(`\n=== bench: ${name} ===`);
  execFileSync(process.execPath, [path.join(import.meta.dirname, name, 'run.ts')], { stdio: 'inherit' });
}

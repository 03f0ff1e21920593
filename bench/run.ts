/**
 * `npm run bench [-- platform|proxy|billing|social|matrix|rollout|density|swarm|edge|edge-chain|edge-wake]`: runs the benchmarks
 * (all but the heavy ones by default), one after the other so they do not disturb each other. Each
 * prints markdown and writes bench/results/. `density` (hundreds of instances, ~25 min) and `swarm`
 * (a 3-node swarm, ~10 min, root) and `edge` (native edge candidates, needs nginx, HAProxy and
 * Caddy) and `edge-chain` (the built edge against static nginx) run only when named.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const suites = ['platform', 'proxy', 'oidc', 'jobs', 'billing', 'backup', 'social', 'matrix', 'rollout'];
const heavy = ['density', 'swarm', 'edge', 'edge-chain', 'edge-wake'];
const asked = process.argv.slice(2);
const run = asked.length ? asked : suites;
for (const name of run) {
  if (!suites.includes(name) && !heavy.includes(name)) {
    console.error(`bench: unknown suite "${name}" (choose from ${[...suites, ...heavy].join(', ')})`);
    process.exit(2);
  }
  console.log(`\n=== bench: ${name} ===`);
  // `edge-chain` is bench/edge/chain.ts; every other suite is {name}/run.ts.
  const [dir = name, file = 'run'] = name.split('-');
  execFileSync(process.execPath, [path.join(import.meta.dirname, dir, `${file}.ts`)], { stdio: 'inherit' });
}

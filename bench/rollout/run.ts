/**
 * Rolling instance-image upgrades on Docker with the real instance image: BENCH_USERS instances
 * (default 5) awake, each with a file in its home; a new release of the image (a label added, so a
 * new image id) under the configured tag; `POST /admin/rollout`; then the rollout's own figures:
 * per-instance move time (remove the container, create and start it on the new image, health
 * check passed), which is also how long that instance is unavailable, and the whole rollout's wall
 * time. Then a broken release (its entrypoint exits): how long the first instance takes to be back
 * on the old image (bounded by ROLLOUT_HEALTH_TIMEOUT, here 10 s), with nothing else moved.
 *
 *   npm run bench -- rollout               (BENCH_USERS, default 5)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { TEST_INSTANCE_IMAGE } from '@matrixos/shared/testing';
import type { RolloutView } from '../../packages/platform/src/rollout/createRollouts.ts';
import { startTestPlatform } from '../../packages/platform/test/harness.ts';

const USERS = Number(process.env.BENCH_USERS ?? 5);
const HEALTH_TIMEOUT_S = 10;
const repo = TEST_INSTANCE_IMAGE.slice(0, TEST_INSTANCE_IMAGE.lastIndexOf(':'));
const tag = `${repo}:bench-rollout-${randomBytes(3).toString('hex')}`;
/** The images built here (removed at the end; the instance image itself is left alone). */
const built: string[] = [];
const release = (extra: string) => {
  execFileSync('docker', ['build', '-q', '-t', tag, '-'], {
    input: `FROM ${TEST_INSTANCE_IMAGE}\nLABEL dev.matrixos.bench="${randomBytes(4).toString('hex')}"\n${extra}\n`,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  built.push(execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', tag], { encoding: 'utf8' }).trim());
};

execFileSync('docker', ['tag', TEST_INSTANCE_IMAGE, tag]);
const t = await startTestPlatform({
  runtime: 'docker',
  env: { INSTANCE_IMAGE: tag, PROXY_ADMIN_URL: 'none', ROLLOUT_HEALTH_TIMEOUT: `${HEALTH_TIMEOUT_S}s` },
});
const handles = Array.from({ length: USERS }, (_, i) => `user${i}`);
const ms = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
};

async function rollOut(): Promise<{ rollout: RolloutView; wallS: number }> {
  const t0 = performance.now();
  const started = await t.admin('POST', '/admin/rollout');
  if (started.status !== 202) throw new Error(`rollout: ${started.status} ${started.text}`);
  await t.platform.rollouts.idle();
  const wallS = (performance.now() - t0) / 1000;
  return { rollout: (await t.admin('GET', '/admin/rollout')).json<{ rollout: RolloutView }>().rollout, wallS };
}

try {
  for (const h of handles) {
    await t.provision(h);
    await t.instance(h, { method: 'PUT', path: '/files/keep.txt', body: `${h}'s work` });
  }
  release('');
  const good = await rollOut();
  if (good.rollout.state !== 'done') throw new Error(`good rollout: ${JSON.stringify(good.rollout)}`);
  const moves = ms(good.rollout.steps.map((s) => s.durationMs!));
  for (const h of handles) {
    const got = await t.instance(h, { path: '/files/keep.txt' });
    if (got.text !== `${h}'s work`) throw new Error(`${h} lost its file: ${got.status} ${got.text}`);
  }

  release('ENTRYPOINT ["node", "-e", "process.exit(3)"]');
  const bad = await rollOut();
  const first = bad.rollout.steps[0]!;
  if (bad.rollout.state !== 'failed' || first.outcome !== 'rolled_back')
    throw new Error(`broken rollout: ${JSON.stringify(bad.rollout)}`);

  console.log(`| instances | rollout | per instance: median (s) | max (s) | whole rollout (s) | outcome |
| --------- | ------- | ------------------------ | ------- | ----------------- | ------- |
| ${USERS} | good image | ${(moves.median / 1000).toFixed(1)} | ${(moves.max / 1000).toFixed(1)} | ${good.wallS.toFixed(1)} | ${good.rollout.counts.moved} moved |
| ${USERS} | broken image (health bound ${HEALTH_TIMEOUT_S} s) | ${(first.durationMs! / 1000).toFixed(1)} (first, back on old) | – | ${bad.wallS.toFixed(1)} | 1 rolled back, ${bad.rollout.counts.not_reached} not reached |`);
} finally {
  for (const h of handles) t.track(h);
  await t.destroy();
  for (const image of [tag, ...built]) {
    try {
      execFileSync('docker', ['image', 'rm', image], { stdio: 'ignore' });
    } catch {}
  }
}

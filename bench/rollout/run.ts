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
import { rmSync } from 'node:fs';
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
// Generous bounds for the good image: a loaded machine must not turn a slow start into a rollback.
const env = {
  INSTANCE_IMAGE: tag,
  PROXY_ADMIN_URL: 'none',
  WAKE_TIMEOUT: '120s',
  ROLLOUT_HEALTH_TIMEOUT: '180s',
};
let t = await startTestPlatform({ runtime: 'docker', env });
const handles = Array.from({ length: USERS }, (_, i) => `user${i}`);
const ms = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, max: s.at(-1)! };
};

/** The rollout started by `begin` (the admin route, or a platform start), to its end. */
async function rollOut(begin: () => Promise<void>): Promise<{ rollout: RolloutView; wallS: number }> {
  const t0 = performance.now();
  await begin();
  await t.platform.rollouts.idle();
  const wallS = (performance.now() - t0) / 1000;
  return {
    rollout: (await t.admin('GET', '/admin/rollout')).json<{ rollout: RolloutView }>().rollout,
    wallS,
  };
}

try {
  for (const h of handles) {
    await t.provision(h);
    await t.instance(h, { method: 'PUT', path: '/files/keep.txt', body: `${h}'s work` });
  }
  release('');
  const good = await rollOut(async () => {
    const started = await t.admin('POST', '/admin/rollout');
    if (started.status !== 202) throw new Error(`rollout: ${started.status} ${started.text}`);
  });
  if (good.rollout.state !== 'done') throw new Error(`good rollout: ${JSON.stringify(good.rollout)}`);
  const moves = ms(good.rollout.steps.map((s) => s.durationMs!));
  for (const h of handles) {
    const got = await t.instance(h, { path: '/files/keep.txt' });
    if (got.text !== `${h}'s work`) throw new Error(`${h} lost its file: ${got.status} ${got.text}`);
  }

  // The broken release, rolled out by a platform start with the short health bound.
  release('ENTRYPOINT ["node", "-e", "process.exit(3)"]');
  await t.stop();
  const { dataDir, platformId, adminToken } = t;
  const bad = await rollOut(async () => {
    t = await startTestPlatform({
      runtime: 'docker',
      dataDir,
      platformId,
      adminToken,
      env: { ...env, ROLLOUT_HEALTH_TIMEOUT: `${HEALTH_TIMEOUT_S}s` },
    });
    await t.reconciled;
  });
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
  rmSync(t.dataDir, { recursive: true, force: true });
  for (const image of [tag, ...built]) {
    try {
      execFileSync('docker', ['image', 'rm', image], { stdio: 'ignore' });
    } catch {}
  }
}

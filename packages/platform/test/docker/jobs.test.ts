import { dockerAvailable } from '@matrixos/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

const JOB = `export default async function run() { console.log('ran at ' + new Date().toISOString()); }\n`;

describe.skipIf(!(await dockerAvailable()))('jobs on Docker', () => {
  let t: TestPlatform | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  it('a sleeping instance is woken by the platform for a due job, runs it, and goes back to sleep', async () => {
    t = await startTestPlatform({
      runtime: 'docker',
      // 6 s idle: long enough for the gateway's first load of the jobs (seconds at 0.5 CPU on a
      // loaded machine) to be reported before the sweep stops it, short enough for two sleeps.
      env: { IDLE_TIMEOUT: '6s', SWEEP_INTERVAL: '300ms', JOB_WAKE_LEAD: '15s' },
    });
    const p = t;
    await p.provision('alice');
    const put = (path: string, body: string) => p.instance('alice', { method: 'PUT', path, body });
    expect((await put('/files/jobs/tick.mjs', JOB)).status).toBe(201);
    const manifest = { jobs: [{ id: 'tick', module: 'tick.mjs', cron: '*/30 * * * * *' }] };
    expect((await put('/files/jobs/jobs.json', JSON.stringify(manifest))).status).toBe(200);
    // The gateway reloads on the change, and tells the platform when the job is next due.
    // (At 0.5 CPU the first load, which checks each module in a child process, takes seconds.)
    // Until then the test's requests keep it awake: with a 6 s idle timeout a slow first load
    // would otherwise lose the race with the sweep, and the report would never be sent.
    await expect
      .poll(
        async () => {
          if (p.platform.wakes.get('alice') === null) await p.instance('alice', { path: '/api/jobs' });
          return p.platform.wakes.get('alice');
        },
        { timeout: 110_000, interval: 1000 },
      )
      .not.toBeNull();

    const state = () => p.platform.store.get('alice')?.state;
    await expect.poll(state, { timeout: 30_000, interval: 100 }).toBe('stopped');
    const asleepAt = Date.now();
    // Nobody sends it a request now: only the platform's wake can bring it back, before the
    // job is due (JOB_WAKE_LEAD), so that the job starts on time.
    await expect.poll(state, { timeout: 30_000, interval: 100 }).toBe('running');
    await expect.poll(state, { timeout: 30_000, interval: 100 }).toBe('stopped');

    const runs = (await p.instance('alice', { path: '/api/jobs/tick/runs' })).json<{
      runs: { status: string; trigger: string; startedAt: string; scheduledAt: string }[];
    }>().runs;
    const whileAsleep = runs.filter((r) => Date.parse(r.scheduledAt) > asleepAt);
    expect(whileAsleep.length).toBeGreaterThan(0);
    expect(whileAsleep.at(-1)).toMatchObject({ status: 'success', trigger: 'schedule', late: false });
    // Sleep, wake and sleep again take up to two 30 s periods of the job.
  }, 240_000);

  it('the repo of a fresh instance is a git repo with one commit (GET /api/jobs/repo)', async () => {
    t = await startTestPlatform({ runtime: 'docker' });
    await t.provision('bob');
    const repo = (await t.instance('bob', { path: '/api/jobs/repo' })).json();
    expect(repo).toMatchObject({ initialized: true, commits: 1, branch: 'main', dirty: [] });
  });
});

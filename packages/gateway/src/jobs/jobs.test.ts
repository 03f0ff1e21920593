import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, TEMPLATE_DIR, type TestGateway } from '../../test/harness.ts';
import { seedHome } from '../home/seed.ts';

let gw: TestGateway | undefined;
let restarted: TestGateway | undefined;
afterEach(async () => {
  await restarted?.close();
  await gw?.close();
  gw = restarted = undefined;
});

const start = async () => {
  gw = await startGateway({}, { jobs: true });
  return gw;
};

/** A gateway over a home that outlives it (for restarts); removed after the test. */
async function startKeepingHome(): Promise<TestGateway> {
  const home = await mkdtemp(join(tmpdir(), 'matrixos-jobs-'));
  homes.push(home);
  await seedHome(home, TEMPLATE_DIR);
  gw = await startGateway({}, { home, jobs: true });
  return gw;
}
const homes: string[] = [];
afterEach(async () => {
  for (const h of homes.splice(0)) await rm(h, { recursive: true, force: true });
});

/** Writes the repo's manifest and modules (as the owner would, through files or git) and reloads. */
async function writeJobs(
  g: TestGateway,
  jobs: Record<string, unknown>[],
  modules: Record<string, string>,
): Promise<void> {
  const dir = join(g.home, 'jobs');
  for (const [name, text] of Object.entries(modules)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'jobs.json'), `${JSON.stringify({ jobs }, null, 2)}\n`);
  await g.gateway.jobs.scheduler.reload();
}

const post = (g: TestGateway, path: string) => g.api(path, { method: 'POST' });
const job = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  module: `${id}.mjs`,
  cron: '0 0 1 1 *',
  ...over,
});
const OK = 'export default async function run() { console.log("hello from the job"); }\n';

async function runNow(g: TestGateway, id: string) {
  const res = await post(g, `/api/jobs/${id}/run?wait=true`);
  expect(res.status).toBe(200);
  return (await res.json()).run;
}

async function runs(g: TestGateway, id: string) {
  return (await (await g.api(`/api/jobs/${id}/runs`)).json()).runs as {
    id: number;
    status: string;
    trigger: string;
    attempt: number;
    error: string | null;
    scheduledAt: string | null;
    startedAt: string;
    late: boolean;
  }[];
}

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', `safe.directory=${dir}`, '-C', dir, ...args], { encoding: 'utf8' });

describe('the jobs repo', () => {
  it('is created on first boot as a git repo with one commit, and GET /api/jobs/repo says so', async () => {
    const g = await start();
    const repo = await (await g.api('/api/jobs/repo')).json();
    expect(repo).toMatchObject({ initialized: true, branch: 'main', commits: 1, dirty: [] });
    // The git CLI reads what isomorphic-git wrote.
    expect(git(join(g.home, 'jobs'), 'log', '--format=%s').trim()).toBe('Start the jobs repo');
    expect(git(join(g.home, 'jobs'), 'ls-files').trim().split('\n').sort()).toEqual([
      'README.md',
      'hello.mjs',
      'jobs.json',
    ]);
    const list = await (await g.api('/api/jobs')).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toEqual(['hello']);
    expect(list.problems).toEqual([]);
  });

  it("POST /api/jobs/repo/init is idempotent and never overwrites the owner's files", async () => {
    const g = await start();
    const manifest = join(g.home, 'jobs', 'jobs.json');
    await writeFile(manifest, '{"jobs": []}\n');
    await writeFile(join(g.home, 'jobs', 'hello.mjs'), '// mine\n');
    const first = await (await post(g, '/api/jobs/repo/init')).json();
    expect(first.wrote).toEqual([]);
    const second = await (await post(g, '/api/jobs/repo/init')).json();
    expect(second.wrote).toEqual([]);
    expect(await readFile(manifest, 'utf8')).toBe('{"jobs": []}\n');
    expect(second.dirty).toEqual([]);
    // The owner's edits were committed once, with a message naming the files.
    expect(git(join(g.home, 'jobs'), 'log', '--format=%s').trim().split('\n')).toEqual([
      'Update hello.mjs, jobs.json',
      'Start the jobs repo',
    ]);
  });

  it('commits every change on reload with a clear message, and reloads on a file change by itself', async () => {
    gw = await startGateway({}, { jobs: true });
    const g = gw;
    await g.gateway.jobs.close();
    // A second gateway over the same home, watching the repo.
    const home = g.home;
    restarted = await startGateway({}, { home, jobs: false });
    await restarted.gateway.jobs.scheduler.start({ watch: true });
    await writeFile(join(home, 'jobs', 'later.mjs'), OK);
    await writeFile(join(home, 'jobs', 'jobs.json'), JSON.stringify({ jobs: [job('later')] }));
    await expect
      .poll(
        async () => (await (await restarted!.api('/api/jobs')).json()).jobs.map((j: { id: string }) => j.id),
        {
          timeout: 10_000,
        },
      )
      .toEqual(['later']);
    expect(git(join(home, 'jobs'), 'log', '-1', '--format=%s').trim()).toMatch(
      /^Update (jobs\.json, later\.mjs|later\.mjs, jobs\.json)$/,
    );
  });
  it('loads a manifest written through the files API at once, without watching the folder', async () => {
    // The kernel may refuse a watch (inotify instances are per uid on the host, shared by every
    // tenant): a change the gateway made itself must still load.
    const g = await start(); // started without a watcher
    const put = (path: string, body: string) => g.api(`/files/jobs/${path}`, { method: 'PUT', body });
    expect((await put('viaapi.mjs', OK)).status).toBe(201);
    expect((await put('jobs.json', JSON.stringify({ jobs: [job('viaapi')] }))).status).toBe(200);
    await expect
      .poll(async () => (await (await g.api('/api/jobs')).json()).jobs.map((j: { id: string }) => j.id), {
        timeout: 10_000,
      })
      .toEqual(['viaapi']);
  });
});

describe('runs', () => {
  it('runs a seconds-level schedule on time, with its output and status in the history', async () => {
    const g = await start();
    await writeJobs(g, [job('tick', { cron: '* * * * * *' })], { 'tick.mjs': OK });
    await expect.poll(async () => (await runs(g, 'tick')).length, { timeout: 10_000 }).toBeGreaterThan(0);
    await post(g, '/api/jobs/tick/disable');
    await expect
      .poll(async () => (await runs(g, 'tick')).every((r) => r.status !== 'running'), { timeout: 10_000 })
      .toBe(true);
    const [first] = (await runs(g, 'tick')).reverse();
    expect(first).toMatchObject({
      status: 'success',
      trigger: 'schedule',
      attempt: 1,
      late: false,
      error: null,
    });
    expect(Date.parse(first!.startedAt)).toBeGreaterThanOrEqual(Date.parse(first!.scheduledAt!));
    const detail = await (await g.api(`/api/jobs/tick/runs/${first!.id}`)).json();
    expect(detail.output).toContain('hello from the job');
    expect(detail.exitCode).toBe(0);
  });

  it('retries a failing job with backoff, then records the failure', async () => {
    const g = await start();
    await writeJobs(g, [job('flaky', { retries: 2, backoffSeconds: 0.05 })], {
      'flaky.mjs': 'export default async function run() { throw new Error("the API said no"); }\n',
    });
    const run = await runNow(g, 'flaky');
    expect(run).toMatchObject({ status: 'failure', attempt: 3, trigger: 'retry' });
    const all = await runs(g, 'flaky');
    expect(all.map((r) => [r.attempt, r.status, r.trigger])).toEqual([
      [3, 'failure', 'retry'],
      [2, 'failure', 'retry'],
      [1, 'failure', 'manual'],
    ]);
    expect(all[0]?.error).toContain('the API said no');
  });

  it('kills a hanging job at its timeout while the gateway keeps answering', async () => {
    const g = await start();
    await writeJobs(g, [job('hang', { timeoutSeconds: 1 })], {
      'hang.mjs':
        'export default async function run() { await new Promise(() => setInterval(() => {}, 1000)); }\n',
    });
    const running = runNow(g, 'hang');
    await expect.poll(async () => (await runs(g, 'hang'))[0]?.status).toBe('running');
    expect((await g.api('/health')).status).toBe(200);
    expect((await post(g, '/api/jobs/hang/run')).status).toBe(409);
    const run = await running;
    expect(run).toMatchObject({ status: 'timeout', exitCode: null });
    expect(run.error).toMatch(/timeout \(1 s\)/);
  });

  it.each([
    [
      'Buffers (outside the heap)',
      'const keep = []; for (;;) { keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 5)); }',
    ],
    [
      'objects on the heap',
      'const keep = []; for (;;) { keep.push(new Array(100000).fill({ a: Math.random() })); if (keep.length % 50 === 0) await new Promise((r) => setImmediate(r)); }',
    ],
  ])('kills a job that allocates %s without bound at its memory limit', async (_kind, body) => {
    const g = await start();
    await writeJobs(g, [job('hog', { memoryMb: 32, timeoutSeconds: 60 })], {
      'hog.mjs': `export default async function run() { ${body} }\n`,
    });
    const run = await runNow(g, 'hog');
    expect(run.status).toBe('failure');
    expect(run.error).toMatch(/memory limit \(32 MB\)/);
    expect((await g.api('/health')).status).toBe(200);
  });

  it('gives a run only its declared secrets as its environment, the home as its directory, and the inbox', async () => {
    const g = await start();
    for (const [name, value] of [
      ['API_TOKEN', 'tok-123'],
      ['OTHER_SECRET', 'not-for-this-job'],
    ]) {
      const res = await g.api(`/api/jobs/secrets/${name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value }),
      });
      expect(res.status).toBe(200);
    }
    await writeJobs(g, [job('env', { secrets: ['API_TOKEN'] })], {
      'env.mjs':
        'export default async function run(ctx) { console.log(JSON.stringify({ env: process.env, cwd: process.cwd() })); await ctx.notify("done: " + process.env.API_TOKEN.length); }\n',
    });
    const run = await runNow(g, 'env');
    const detail = await (await g.api(`/api/jobs/env/runs/${run.id}`)).json();
    const printed = JSON.parse(detail.output.trim().split('\n').at(-1));
    expect(printed).toEqual({
      env: { API_TOKEN: 'tok-123', MATRIXOS_JOB_MODEL: expect.any(String) },
      cwd: g.home,
    });
    const inbox = await (await g.api('/api/messages')).json();
    expect(inbox.messages).toEqual([expect.objectContaining({ text: 'done: 7', from: 'job:env' })]);
    // Sealed at rest: the value is not in the file.
    expect(await readFile(join(g.home, '.matrixos', 'job-secrets.json'), 'utf8')).not.toContain('tok-123');
  });
});

describe('broken jobs', () => {
  it('reports a syntax error with file and line, and the other jobs keep running', async () => {
    const g = await start();
    await writeJobs(
      g,
      [
        job('good'),
        job('broken'),
        job('noexport'),
        job('badcron', { cron: 'every tuesday' }),
        job('missing'),
      ],
      {
        'good.mjs': OK,
        'broken.mjs': 'export default async function run() {\n  const x = 1;\n  const y = ;\n}\n',
        'noexport.mjs': 'export const run = () => 1;\n',
        'badcron.mjs': OK,
      },
    );
    const list = await (await g.api('/api/jobs')).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toEqual(['good']);
    const byId = Object.fromEntries(list.problems.map((p: { id: string }) => [p.id, p]));
    expect(byId.broken).toMatchObject({
      file: 'broken.mjs',
      line: 3,
      message: expect.stringMatching(/SyntaxError/),
    });
    expect(byId.noexport).toMatchObject({
      file: 'noexport.mjs',
      message: expect.stringMatching(/default export/),
    });
    expect(byId.badcron).toMatchObject({
      file: 'jobs.json',
      line: expect.any(Number),
      message: expect.stringMatching(/cron/),
    });
    expect(byId.missing).toMatchObject({
      file: 'missing.mjs',
      message: expect.stringMatching(/does not exist/),
    });
    expect((await runNow(g, 'good')).status).toBe('success');
    expect((await post(g, '/api/jobs/broken/run')).status).toBe(404);
  });

  it('keeps the last good manifest running when the manifest does not parse, until a fixed one loads', async () => {
    const g = await start();
    await writeJobs(g, [job('good')], { 'good.mjs': OK });
    await writeFile(join(g.home, 'jobs', 'jobs.json'), '{\n  "jobs": [\n    { "id": "good" \n  ]\n}\n');
    await g.gateway.jobs.scheduler.reload();
    const list = await (await g.api('/api/jobs')).json();
    expect(list.manifestOk).toBe(false);
    expect(list.problems).toEqual([{ id: null, file: 'jobs.json', line: 4, message: expect.any(String) }]);
    expect(list.jobs.map((j: { id: string }) => j.id)).toEqual(['good']);
    expect((await runNow(g, 'good')).status).toBe('success');
    await writeJobs(g, [job('good'), job('second')], { 'second.mjs': OK });
    const fixed = await (await g.api('/api/jobs')).json();
    expect(fixed.manifestOk).toBe(true);
    expect(fixed.jobs.map((j: { id: string }) => j.id)).toEqual(['good', 'second']);
  });
});

describe('enable and disable', () => {
  it('survive a restart of the instance', async () => {
    const g = await startKeepingHome();
    await writeJobs(g, [job('daily', { cron: '0 8 * * *' })], { 'daily.mjs': OK });
    const disabled = await (await post(g, '/api/jobs/daily/disable')).json();
    expect(disabled).toMatchObject({ enabledNow: false, nextRun: null });
    await g.close();
    gw = undefined;
    restarted = await startGateway({}, { home: g.home, token: g.token, jobs: true });
    const after = await (await restarted.api('/api/jobs/daily')).json();
    expect(after).toMatchObject({ enabledNow: false, nextRun: null });
    const enabled = await (await post(restarted, '/api/jobs/daily/enable')).json();
    expect(enabled.enabledNow).toBe(true);
    expect(Date.parse(enabled.nextRun)).toBeGreaterThan(Date.now());
    await restarted.close();
    restarted = await startGateway({}, { home: g.home, token: g.token, jobs: true });
    expect((await (await restarted.api('/api/jobs/daily')).json()).enabledNow).toBe(true);
  });
});

describe('missed runs', () => {
  it('catches up at most once per job on the next start, marked late', async () => {
    const g = await startKeepingHome();
    await writeJobs(g, [job('hourly', { cron: '0 * * * *' })], { 'hourly.mjs': OK });
    await g.close();
    gw = undefined;
    // The instance was down for five hours: five runs were missed.
    const db = new DatabaseSync(join(g.home, '.matrixos', 'jobs.db'));
    db.prepare('UPDATE job_state SET last_due_at = ? WHERE job_id = ?').run(
      Date.now() - 5 * 3600_000,
      'hourly',
    );
    db.close();
    restarted = await startGateway({}, { home: g.home, token: g.token, jobs: true });
    await expect
      .poll(async () => (await runs(restarted!, 'hourly'))[0]?.status, { timeout: 10_000 })
      .toBe('success');
    const all = await runs(restarted, 'hourly');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ trigger: 'catch-up', late: true });
  });
});

describe('the API refuses bad requests', () => {
  it('without the owner token, for bad ids, oversized bodies, and too many runs', async () => {
    const g = await start();
    expect((await fetch(`${g.url}/api/jobs`)).status).toBe(401);
    expect((await fetch(`${g.url}/api/jobs/hello/run`, { method: 'POST' })).status).toBe(401);
    const other = await fetch(`${g.url}/api/jobs`, {
      headers: { authorization: 'Bearer mxi_someone-elses-token-000' },
    });
    expect(other.status).toBe(401);
    const bad = await post(g, '/api/jobs/..%2F..%2Fetc/run');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_job_id');
    expect((await post(g, '/api/jobs/nope/run')).status).toBe(404);
    expect((await g.api('/api/jobs/hello/runs/abc')).status).toBe(400);
    const huge = await g.api('/api/jobs/secrets/BIG', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'x'.repeat(100_000) }),
    });
    expect(huge.status).toBe(413);
    const lower = await g.api('/api/jobs/secrets/lower', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'x' }),
    });
    expect(lower.status).toBe(400);
    await writeJobs(g, [job('quick')], { 'quick.mjs': OK });
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) statuses.push((await post(g, '/api/jobs/quick/run')).status);
    expect(statuses).toContain(429);
    const limited = await post(g, '/api/jobs/quick/run');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

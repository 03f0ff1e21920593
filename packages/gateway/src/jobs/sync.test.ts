import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GitServer, startGitServer } from '../../test/gitServer.ts';
import { startGateway, type TestGateway } from '../../test/harness.ts';

const CREDS = { username: 'owner', password: 's3cret-push-password' };
let server: GitServer;
let gw: TestGateway | undefined;
beforeAll(async () => {
  server = await startGitServer(CREDS);
});
afterAll(() => server.close());
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const json = { 'content-type': 'application/json' };
const OK = 'export default async function run() { console.log("ok"); }\n';
const manifest = (...ids: string[]) =>
  `${JSON.stringify({ jobs: ids.map((id) => ({ id, module: `${id}.mjs`, cron: '0 8 * * *' })) }, null, 2)}\n`;
const localGit = (g: TestGateway, ...args: string[]) =>
  execFileSync('git', ['-c', 'safe.directory=*', '-C', join(g.home, 'jobs'), ...args], {
    encoding: 'utf8',
  }).trim();

async function withRemote(name: string, creds = CREDS): Promise<TestGateway> {
  gw = await startGateway({}, { jobs: true });
  server.createRepo(name);
  const r = await gw.api('/api/jobs/repo/remote', {
    method: 'PUT',
    headers: json,
    body: JSON.stringify({ url: server.url(name), ...creds }),
  });
  expect(r.status).toBe(200);
  return gw;
}
const sync = (g: TestGateway) => g.api('/api/jobs/repo/sync', { method: 'POST' });

describe('remote sync against a real git server', () => {
  it('pushes, with the credentials sealed and never in .git/config', async () => {
    const g = await withRemote('push');
    const r = await sync(g);
    expect(r.status).toBe(200);
    expect((await r.json()).action).toBe('pushed');
    expect(server.log('push')).toEqual(['Start the jobs repo']);
    const config = await readFile(join(g.home, 'jobs', '.git', 'config'), 'utf8');
    expect(config).not.toContain(CREDS.password);
    expect(config).not.toContain(CREDS.username);
    expect(config).toContain(`url = ${server.url('push')}`);
    expect(await readFile(join(g.home, '.matrixos', 'jobs-remote.json'), 'utf8')).not.toContain(
      CREDS.password,
    );
    const repo = await (await g.api('/api/jobs/repo')).json();
    expect(repo.remote).toEqual({ url: server.url('push'), username: 'owner', hasCredentials: true });
  });

  it('pulls a change made elsewhere (fast-forward) and loads its jobs', async () => {
    const g = await withRemote('pull');
    await sync(g);
    server.pushFrom(
      'pull',
      { 'jobs.json': manifest('hello', 'remote'), 'remote.mjs': OK },
      'Add a job elsewhere',
    );
    const r = await sync(g);
    const body = await r.json();
    expect(body.action).toBe('fast-forwarded');
    expect(await readFile(join(g.home, 'jobs', 'remote.mjs'), 'utf8')).toBe(OK);
    const list = await (await g.api('/api/jobs')).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toEqual(['hello', 'remote']);
  });

  it('replays local commits onto remote ones, keeping both, and pushes', async () => {
    const g = await withRemote('rebase');
    await sync(g);
    server.pushFrom('rebase', { 'other.mjs': OK }, 'Remote adds other.mjs');
    await writeFile(join(g.home, 'jobs', 'mine.mjs'), OK);
    await g.gateway.jobs.scheduler.reload(); // commits the local change
    const r = await sync(g);
    expect(await r.json()).toMatchObject({ action: 'rebased-and-pushed', replayed: 1 });
    expect(server.log('rebase')).toEqual(['Update mine.mjs', 'Remote adds other.mjs', 'Start the jobs repo']);
    expect(localGit(g, 'log', '--format=%s').split('\n')).toEqual(server.log('rebase'));
    expect(await readFile(join(g.home, 'jobs', 'other.mjs'), 'utf8')).toBe(OK);
  });

  it('stops at a conflict, names the files, and leaves the local repo exactly as it was', async () => {
    const g = await withRemote('conflict');
    await sync(g);
    server.pushFrom('conflict', { 'jobs.json': manifest('theirs') }, 'Remote rewrites the manifest');
    await writeFile(join(g.home, 'jobs', 'jobs.json'), manifest('ours'));
    await writeFile(join(g.home, 'jobs', 'ours.mjs'), OK);
    await g.gateway.jobs.scheduler.reload();
    const head = localGit(g, 'rev-parse', 'HEAD');
    const r = await sync(g);
    expect(r.status).toBe(409);
    const { error } = await r.json();
    expect(error).toMatchObject({ code: 'sync_conflict', files: ['jobs.json'] });
    expect(localGit(g, 'rev-parse', 'HEAD')).toBe(head);
    expect(localGit(g, 'status', '--porcelain')).toBe('');
    expect(localGit(g, 'branch', '--format=%(refname:short)')).toBe('main');
    expect(await readFile(join(g.home, 'jobs', 'jobs.json'), 'utf8')).toBe(manifest('ours'));
    expect(server.log('conflict')[0]).toBe('Remote rewrites the manifest');
  });

  it("refuses a sync before a remote is set as the caller's to fix (409), not a failing remote", async () => {
    // Found by the fuzz: this was a 502 `sync_failed`.
    gw = await startGateway({}, { jobs: true });
    const r = await sync(gw);
    expect(r.status).toBe(409);
    expect((await r.json()).error.code).toBe('no_remote');
  });

  it('fails clearly with wrong credentials, and refuses credentials inside the URL', async () => {
    const g = await withRemote('wrong', { username: 'owner', password: 'not-the-password' });
    const r = await sync(g);
    expect(r.status).toBe(502);
    expect((await r.json()).error.code).toBe('sync_failed');
    for (const url of ['http://owner:pw@127.0.0.1/x.git', 'ftp://127.0.0.1/x.git', 'file:///etc']) {
      const bad = await g.api('/api/jobs/repo/remote', {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({ url }),
      });
      expect(bad.status).toBe(400);
    }
  });
});

describe('an instance provisioned with a jobs repo', () => {
  it('clones it into ~/jobs before its first load, and keeps it as the sync remote', async () => {
    server.createRepo('seeded', { 'jobs.json': manifest('digest'), 'digest.mjs': OK });
    // A remote without credentials: the git server in this file wants them, so serve another.
    const open = await startGitServer();
    try {
      open.createRepo('seeded', { 'jobs.json': manifest('digest'), 'digest.mjs': OK });
      gw = await startGateway({ jobsRepo: open.url('seeded') }, { jobs: true });
      const list = await (await gw.api('/api/jobs')).json();
      expect(list.jobs.map((j: { id: string }) => j.id)).toEqual(['digest']);
      const repo = await (await gw.api('/api/jobs/repo')).json();
      expect(repo).toMatchObject({ initialized: true, commits: 1, remote: { url: open.url('seeded') } });
    } finally {
      await gw?.close();
      gw = undefined;
      await open.close();
    }
  });
});

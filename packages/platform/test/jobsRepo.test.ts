import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitServer, startGitServer } from '../../gateway/test/gitServer.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const MANIFEST = `${JSON.stringify({ jobs: [{ id: 'sauron-digest', module: 'digest.mjs', cron: '0 8 * * *' }] })}\n`;
const JOB = 'export default async function run() { console.log("digest"); }\n';

/** The seed's "David's migration": provision with a jobs repo, cloned before the first boot. */
describe('provision with a jobs repo', () => {
  let t: TestPlatform;
  let git: GitServer;
  beforeAll(async () => {
    git = await startGitServer();
    git.createRepo('sauron-jobs', { 'jobs.json': MANIFEST, 'digest.mjs': JOB });
    t = await startTestPlatform({ runtime: 'process' });
  });
  afterAll(async () => {
    await t?.destroy();
    await git?.close();
  });

  it("starts the instance with the repo's jobs loaded", async () => {
    t.track('david');
    const r = await t.admin('POST', '/containers/provision', {
      handle: 'david',
      jobsRepo: git.url('sauron-jobs'),
    });
    expect(r.status).toBe(201);
    const token = r.json<{ token: string }>().token;
    const auth = { authorization: `Bearer ${token}` };
    const jobs = (await t.instance('david', { path: '/api/jobs', headers: auth })).json<{
      jobs: { id: string }[];
    }>();
    expect(jobs.jobs.map((j) => j.id)).toEqual(['sauron-digest']);
    const repo = (await t.instance('david', { path: '/api/jobs/repo', headers: auth })).json();
    expect(repo).toMatchObject({ initialized: true, commits: 1, remote: { url: git.url('sauron-jobs') } });
    const run = await t.instance('david', {
      method: 'POST',
      path: '/api/jobs/sauron-digest/run?wait=true',
      headers: auth,
    });
    expect(run.json<{ run: { status: string } }>().run.status).toBe('success');
  });

  it.each([
    ['credentials in the URL', 'http://david:hunter2@127.0.0.1/x.git'],
    ['a file URL', 'file:///etc/passwd'],
    ['not a URL', 'sauron-jobs'],
  ])('refuses a jobs repo with %s, provisioning nothing', async (_n, jobsRepo) => {
    const r = await t.admin('POST', '/containers/provision', { handle: 'eve', jobsRepo });
    expect(r.status).toBe(400);
    expect((await t.admin('GET', '/containers/eve')).status).toBe(404);
  });
});

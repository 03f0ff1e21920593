import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dockerAvailable } from '@matrixos/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

const SCRIPT = fileURLToPath(new URL('../e2e/sdp1-e2e.sh', import.meta.url));

describe.skipIf(!(await dockerAvailable()))("the seed's end-to-end script (SDP-1) on Docker", () => {
  let t: TestPlatform | undefined;
  afterAll(() => t?.destroy());

  it('provisions e2etest, finds it healthy with a jobs repo, and deletes it', async () => {
    t = await startTestPlatform({ runtime: 'docker' });
    t.track('e2etest');
    const { stdout } = await promisify(execFile)('bash', [SCRIPT], {
      env: {
        ...process.env,
        CONTROL_URL: `http://127.0.0.1:${t.port}`,
        INSTANCE_URL_TEMPLATE: `http://%s.localhost:${t.port}`,
        TOKEN: t.adminToken,
        WAIT_SECONDS: '1',
      },
    });
    const [provision, health, repo, deleted] = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(provision).toMatchObject({ subdomain: 'e2etest', instance: { state: 'running' } });
    expect(health).toMatchObject({ status: 'ok', handle: 'e2etest' });
    expect(repo).toMatchObject({ initialized: true, commits: 1 });
    expect(deleted).toEqual({ deleted: 'e2etest' });
    expect((await t.admin('GET', '/admin/instances/e2etest')).status).toBe(404);
  });
});

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORTS_PER_HOUR } from '../src/api/exportRoute.ts';
import { createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const CLI = fileURLToPath(new URL('../src/cli/matrixos.ts', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/** `GET /me/export`: a user leaves with their whole home, and nobody else's. */
describe('GET /me/export', () => {
  let t: TestPlatform;
  const now = Date.now();
  const scratch = mkdtempSync(path.join(tmpdir(), 'matrixos-export-'));

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      clock: () => now,
      env: { TRUST_PROXY: 'true' },
    });
  });
  afterAll(async () => {
    await t?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function signUp(handle: string) {
    const client = createCookieClient(t.port);
    await signUpWithTotp(client, handle, now);
    return client;
  }

  it("streams the user's own home as a tar archive with its size, stopping the instance first", async () => {
    const alice = await signUp('alice');
    await signUp('bob');
    mkdirSync(path.join(t.homeOf('alice'), 'notes'), { recursive: true });
    writeFileSync(path.join(t.homeOf('alice'), 'notes', 'alice.txt'), 'mine');
    writeFileSync(path.join(t.homeOf('bob'), 'bob-secret.txt'), 'not yours');

    // The dashboard offers it.
    const page = await alice.cp('/dashboard');
    expect(page.text).toContain('href="/me/export" download>Download my data</a>');
    const r = await alice.cp('/me/export');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-tar');
    expect(r.headers['content-disposition']).toMatch(
      /^attachment; filename="matrixos-alice-\d{4}-\d{2}-\d{2}\.tar"$/,
    );
    expect(Number(r.headers['x-content-bytes'])).toBeGreaterThan(0);
    // The harness reads text; write the archive back as bytes (latin1 round-trips them) and list it.
    const file = path.join(scratch, 'alice.tar');
    const res = await fetch(`http://127.0.0.1:${t.port}/me/export`, {
      headers: { host: `localhost:${t.port}`, cookie: cookieHeader(alice), 'x-forwarded-for': alice.ip },
    });
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const listing = execFileSync('tar', ['--list', '--file', file], { encoding: 'utf8' });
    expect(listing).toContain('./notes/alice.txt');
    expect(listing).not.toContain('bob-secret');
    expect(
      execFileSync('tar', ['--extract', '--to-stdout', '--file', file, './notes/alice.txt'], {
        encoding: 'utf8',
      }),
    ).toBe('mine');
    const state = (await t.admin('GET', '/containers/alice')).json<{ instance: { state: string } }>().instance
      .state;
    expect(state).toBe('stopped');
  });

  it('imports an export into another instance (matrixos import), and refuses hostile archives, leaving the home as it was', async () => {
    const cliEnv = {
      ...process.env,
      DATA_DIR: t.dataDir,
      PLATFORM_ID: t.platformId,
      RUNTIME: 'process',
      PLATFORM_PORT: String(t.port),
      PLATFORM_ADMIN_TOKEN: t.adminToken,
      LOG_LEVEL: 'silent',
    };
    // Asynchronous: the platform answering the CLI's stop runs in this very process.
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, ...args], { env: cliEnv, encoding: 'utf8' }, (err, _out, stderr) =>
          resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
      });
    const dave = await signUp('dave');
    writeFileSync(path.join(t.homeOf('dave'), 'old.txt'), 'before');
    for (const kind of ['escape', 'setuid', 'device', 'hardlink'] as const) {
      const file = path.join(scratch, `${kind}.tar`);
      hostileTar(file, kind);
      const r = await cli('import', 'dave', file);
      expect(r.status, kind).toBe(1);
      expect(r.stderr).toMatch(
        /matrixos: .*(outside the archive's root|set-id|only files, directories and symbolic links)/,
      );
      expect(readFileSync(path.join(t.homeOf('dave'), 'old.txt'), 'utf8')).toBe('before');
    }
    expect(existsSync(path.join(t.dataDir, 'escape.txt'))).toBe(false);
    expect(existsSync(path.join(t.dataDir, 'homes', 'escape.txt'))).toBe(false);

    const ok = await cli('import', 'dave', path.join(scratch, 'alice.tar'));
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(readFileSync(path.join(t.homeOf('dave'), 'notes', 'alice.txt'), 'utf8')).toBe('mine');
    expect(existsSync(path.join(t.homeOf('dave'), 'old.txt'))).toBe(false);
    // The instance wakes on its next request with the imported home.
    const state = (await t.admin('GET', '/containers/dave')).json<{ instance: { state: string } }>().instance
      .state;
    expect(state).toBe('stopped');
    expect((await dave.cp('/me')).status).toBe(200);
    expect((await cli('import', 'nobody', path.join(scratch, 'alice.tar'))).stderr).toContain(
      'nobody has no instance here',
    );
  });

  it('refuses anyone signed out, and more than a few exports an hour', async () => {
    expect((await createCookieClient(t.port).cp('/me/export')).status).toBe(401);
    const carol = await signUp('carol');
    for (let i = 0; i < EXPORTS_PER_HOUR; i++) expect((await carol.cp('/me/export')).status).toBe(200);
    const limited = await carol.cp('/me/export');
    expect(limited.status).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(limited.headers['retry-after']).toBeDefined();
  });
});

/** A tar archive with one hostile member, made with Python's tarfile (GNU tar would clean it up). */
function hostileTar(file: string, kind: 'escape' | 'setuid' | 'device' | 'hardlink'): void {
  const member = {
    escape: "t = tarfile.TarInfo('../../escape.txt'); t.size = 2; f.addfile(t, io.BytesIO(b'hi'))",
    setuid: "t = tarfile.TarInfo('./sh'); t.size = 2; t.mode = 0o4755; f.addfile(t, io.BytesIO(b'hi'))",
    device:
      "t = tarfile.TarInfo('./null'); t.type = tarfile.CHRTYPE; t.devmajor = 1; t.devminor = 3; f.addfile(t)",
    hardlink:
      "t = tarfile.TarInfo('./shadow'); t.type = tarfile.LNKTYPE; t.linkname = '/etc/shadow'; f.addfile(t)",
  }[kind];
  execFileSync('python3', ['-c', `import tarfile, io\nwith tarfile.open('${file}', 'w') as f:\n  ${member}`]);
}

function cookieHeader(client: ReturnType<typeof createCookieClient>): string {
  return [...client.cookies()].map(([k, v]) => `${k}=${v}`).join('; ');
}

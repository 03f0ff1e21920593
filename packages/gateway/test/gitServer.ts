import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GitServer {
  /** `http://127.0.0.1:port/<name>.git` */
  url(name: string): string;
  /** Creates a bare repo served at url(name); with `seed`, one commit of these files on main. */
  createRepo(name: string, seed?: Record<string, string>): string;
  /** Runs the git CLI in a fresh clone of the repo, then pushes (another user's change). */
  pushFrom(name: string, files: Record<string, string>, message: string): void;
  /** The repo's commits on main, newest first, as subjects. */
  log(name: string): string[];
  root: string;
  close(): Promise<void>;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Other', '-c', 'user.email=other@example.com', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/**
 * A real git server on loopback: `git http-backend` (smart HTTP, push enabled) behind a small
 * CGI bridge, with HTTP Basic credentials when `auth` is given.
 */
export async function startGitServer(auth?: { username: string; password: string }): Promise<GitServer> {
  const root = await mkdtemp(join(tmpdir(), 'matrixos-git-'));
  const server = http.createServer((req, res) => {
    if (auth) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: auth?.username ?? 'anonymous',
        REMOTE_ADDR: '127.0.0.1',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'safe.directory',
        GIT_CONFIG_VALUE_0: '*',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = (name: string) => `http://127.0.0.1:${port}/${name}.git`;
  const bare = (name: string) => join(root, `${name}.git`);

  function pushFrom(name: string, files: Record<string, string>, message: string): void {
    const work = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    git(work, 'clone', '-q', bare(name), '.');
    git(work, 'checkout', '-q', '-B', 'main');
    for (const [path, text] of Object.entries(files))
      execFileSync('sh', ['-c', `mkdir -p "$(dirname "$1")" && cat > "$1"`, 'sh', join(work, path)], {
        input: text,
      });
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', message);
    git(work, 'push', '-q', 'origin', 'main');
    execFileSync('rm', ['-rf', work]);
  }

  return {
    root,
    url,
    createRepo(name, seed) {
      git(root, 'init', '-q', '--bare', '-b', 'main', bare(name));
      git(bare(name), 'config', 'http.receivepack', 'true');
      if (seed) pushFrom(name, seed, 'First commit');
      return url(name);
    },
    pushFrom,
    log: (name) => git(bare(name), 'log', '--format=%s', 'main').trim().split('\n').filter(Boolean),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

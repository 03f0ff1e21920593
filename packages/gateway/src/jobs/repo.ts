import * as fs from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { MANIFEST_FILE } from './manifest.ts';

/**
 * The jobs repo, through isomorphic-git: the instance image has no git binary, and a library in
 * the gateway's own process needs no uid to match (no "dubious ownership"). The git CLI reads
 * what it writes, so the owner can clone it or inspect it with ordinary tools.
 */
export const AUTHOR = { name: 'Matrix OS', email: 'jobs@matrixos.invalid' };

const STARTER_MANIFEST = `{
  "jobs": [
    {
      "id": "hello",
      "module": "hello.mjs",
      "cron": "0 8 * * *",
      "timezone": "UTC",
      "description": "An example: says good morning in your inbox. Disabled until you enable it.",
      "enabled": false,
      "timeoutSeconds": 60,
      "retries": 0,
      "secrets": []
    }
  ]
}
`;

const STARTER_JOB = `// A job is a module whose default export is an async function; it runs in its own process,
// with the jobs repo as its working directory and only its declared secrets in process.env.
// ctx.notify(text) puts a message in your inbox; ctx.ai(prompt) asks the AI (billed like chat).
export default async function run(ctx) {
  await ctx.notify(\`Good morning! It is \${new Date().toUTCString()}.\`);
  console.log('said good morning');
}
`;

const README = `# Jobs

Each job is a module here plus an entry in \`${MANIFEST_FILE}\` (id, cron, timezone, timeout,
retries, secrets). Every change is committed automatically. See docs/jobs.md in Matrix OS.
`;

export interface RepoStatus {
  initialized: boolean;
  branch: string | null;
  head: string | null;
  commits: number;
  /** Files changed since the last commit (should be empty: changes are committed on reload). */
  dirty: string[];
}

/**
 * Creates the repo with a starter manifest, an example job and a first commit. Idempotent and
 * never overwrites: files the owner already has are kept (and committed as they are).
 */
export async function initRepo(dir: string): Promise<{ created: boolean; wrote: string[] }> {
  await mkdir(dir, { recursive: true });
  const wrote: string[] = [];
  for (const [name, text] of [
    [MANIFEST_FILE, STARTER_MANIFEST],
    ['hello.mjs', STARTER_JOB],
    ['README.md', README],
  ] as const) {
    try {
      await writeFile(join(dir, name), text, { flag: 'wx' });
      wrote.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (await isRepo(dir)) return { created: false, wrote }; // the next reload commits what changed
  await git.init({ fs, dir, defaultBranch: 'main' });
  await commitAll(dir, 'Start the jobs repo');
  return { created: true, wrote };
}

export async function isRepo(dir: string): Promise<boolean> {
  try {
    await fs.promises.stat(join(dir, '.git'));
    return true;
  } catch {
    return false;
  }
}

/** Files whose working copy differs from HEAD (added, changed or deleted). */
export async function changedFiles(dir: string): Promise<string[]> {
  const matrix = await git.statusMatrix({ fs, dir });
  return matrix.filter(([, head, work, stage]) => !(head === 1 && work === 1 && stage === 1)).map(([f]) => f);
}

/** Stages every change and commits it; null when there was nothing to commit. */
export async function commitAll(dir: string, message: string): Promise<string | null> {
  const matrix = await git.statusMatrix({ fs, dir });
  let changes = 0;
  for (const [filepath, head, work, stage] of matrix) {
    if (head === 1 && work === 1 && stage === 1) continue;
    if (work === 0) await git.remove({ fs, dir, filepath });
    else await git.add({ fs, dir, filepath });
    changes++;
  }
  const hasHead = await git.resolveRef({ fs, dir, ref: 'HEAD' }).then(
    () => true,
    () => false,
  );
  if (changes === 0 && hasHead) return null;
  return git.commit({ fs, dir, message, author: { ...AUTHOR, timestamp: Math.floor(Date.now() / 1000) } });
}

export async function repoStatus(dir: string): Promise<RepoStatus> {
  if (!(await isRepo(dir))) return { initialized: false, branch: null, head: null, commits: 0, dirty: [] };
  const branch = (await git.currentBranch({ fs, dir })) ?? null;
  const head = await git.resolveRef({ fs, dir, ref: 'HEAD' }).catch(() => null);
  const commits = head ? (await git.log({ fs, dir, depth: 1000 })).length : 0;
  return { initialized: true, branch, head, commits, dirty: await changedFiles(dir) };
}

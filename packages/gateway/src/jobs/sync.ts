import { hkdfSync } from 'node:crypto';
import * as fs from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { Logger } from '@matrixos/shared';
import { createSealer } from '@matrixos/shared';
import git, { Errors } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { z } from 'zod';
import { writeTextAtomic } from '../files/write.ts';
import { AUTHOR, commitAll } from './repo.ts';
import type { Scheduler } from './scheduler.ts';

/** A remote URL: http(s) only (isomorphic-git speaks smart HTTP), credentials never inside it. */
export const remoteUrl = z
  .url({ protocol: /^https?$/ })
  .max(500)
  .refine((u) => {
    // Refinements run even after the URL check failed: a non-URL is not this one's to report.
    if (!URL.canParse(u)) return true;
    const parsed = new URL(u);
    return parsed.username === '' && parsed.password === '';
  }, 'put credentials in username/password, not in the URL');

export const remoteSchema = z.union([
  z.strictObject({
    url: remoteUrl,
    username: z.string().min(1).max(200).optional(),
    password: z.string().min(1).max(2000).optional(),
  }),
  z.strictObject({ url: z.null() }),
]);

export type RemoteInput = z.infer<typeof remoteSchema>;

export class SyncConflict extends Error {
  readonly files: string[];
  constructor(files: string[]) {
    super(`local commits and the remote change the same lines in: ${files.join(', ')}`);
    this.files = files;
  }
}
export class SyncFailed extends Error {}
/** Sync asked for before `PUT /api/jobs/repo/remote`: the owner's to fix, not the remote's failure. */
export class NoRemote extends Error {}

export interface SyncResult {
  action: 'up-to-date' | 'pushed' | 'fast-forwarded' | 'rebased' | 'rebased-and-pushed';
  head: string;
  remoteHead: string | null;
  /** Local commits replayed onto the remote (a rebase), oldest first. */
  replayed: number;
}

interface Stored {
  url: string;
  username?: string | undefined;
  passwordSealed?: string | undefined;
}

const SEAL_CONTEXT = 'jobs-remote';
/** The remote's name in .git/config: its URL (and refspec) only, never a credential. */
const REMOTE = 'origin';

/**
 * Sync of the jobs repo with one remote (set through the API, not env vars): fetch; fast-forward,
 * or replay local commits onto the remote (cherry-picks on a scratch branch: isomorphic-git has
 * no rebase); push. A conflict restores the local branch and files exactly as they were and names
 * the files. Local commits are never discarded. The remote and its credentials live in the
 * instance's private directory, the password sealed; `.git/config` holds the URL, never a credential.
 */
export function createRepoSync(deps: {
  dir: string;
  file: string;
  token: string;
  scheduler: Pick<Scheduler, 'exclusive'>;
  log: Logger;
}) {
  const { dir, file, log } = deps;
  const sealer = createSealer(
    Buffer.from(hkdfSync('sha256', deps.token, new Uint8Array(0), 'matrixos jobs remote', 32)),
  );

  async function load(): Promise<Stored | null> {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Stored;
    } catch {
      return null;
    }
  }

  function auth(stored: Stored) {
    if (!stored.username && !stored.passwordSealed) return undefined;
    const password = stored.passwordSealed ? sealer.open(stored.passwordSealed, SEAL_CONTEXT) : '';
    return () => ({ username: stored.username ?? 'git', password });
  }

  const view = (s: Stored | null) =>
    s ? { url: s.url, username: s.username ?? null, hasCredentials: Boolean(s.passwordSealed) } : null;

  async function branchOf(): Promise<string> {
    return (await git.currentBranch({ fs, dir })) ?? 'main';
  }

  async function syncLocked(): Promise<SyncResult> {
    const stored = await load();
    if (!stored) throw new NoRemote('no remote is configured (PUT /api/jobs/repo/remote)');
    await git.addRemote({ fs, dir, remote: REMOTE, url: stored.url, force: true });
    const onAuth = auth(stored);
    const branch = await branchOf();
    await commitAll(dir, 'Commit local changes before sync');
    const local = await git.resolveRef({ fs, dir, ref: branch });
    let remote: string | null;
    try {
      const fetched = await git.fetch({
        fs,
        http,
        dir,
        remote: REMOTE,
        url: stored.url,
        ref: branch,
        remoteRef: branch,
        singleBranch: true,
        tags: false,
        onAuth,
      });
      remote = fetched.fetchHead;
    } catch (err) {
      if (
        err instanceof Errors.NotFoundError ||
        /Could not find|couldn't find remote ref/i.test((err as Error).message)
      )
        remote = null;
      else throw new SyncFailed(`fetch from ${stored.url} failed: ${(err as Error).message}`);
    }
    const push = async () => {
      try {
        await git.push({
          fs,
          http,
          dir,
          remote: REMOTE,
          url: stored.url,
          ref: branch,
          remoteRef: branch,
          onAuth,
        });
      } catch (err) {
        throw new SyncFailed(`push to ${stored.url} failed: ${(err as Error).message}`);
      }
    };
    if (!remote) {
      await push();
      return { action: 'pushed', head: local, remoteHead: null, replayed: 0 };
    }
    if (remote === local) return { action: 'up-to-date', head: local, remoteHead: remote, replayed: 0 };
    if (await git.isDescendent({ fs, dir, oid: local, ancestor: remote, depth: -1 })) {
      await push();
      return { action: 'pushed', head: local, remoteHead: remote, replayed: 0 };
    }
    if (await git.isDescendent({ fs, dir, oid: remote, ancestor: local, depth: -1 })) {
      await git.writeRef({ fs, dir, ref: `refs/heads/${branch}`, value: remote, force: true });
      await git.checkout({ fs, dir, ref: branch, force: true });
      return { action: 'fast-forwarded', head: remote, remoteHead: remote, replayed: 0 };
    }
    // Diverged: replay the local commits since the common base onto the remote's head.
    const [base] = await git.findMergeBase({ fs, dir, oids: [local, remote] });
    const mine: string[] = [];
    for (const entry of await git.log({ fs, dir, ref: local, depth: 10_000 })) {
      if (entry.oid === base) break;
      if (entry.commit.parent.length > 1)
        throw new SyncFailed('local history has merge commits; sync cannot replay them');
      mine.push(entry.oid);
    }
    mine.reverse();
    const scratch = 'matrixos-sync';
    await git.writeRef({ fs, dir, ref: `refs/heads/${scratch}`, value: remote, force: true });
    await git.checkout({ fs, dir, ref: scratch, force: true });
    try {
      for (const oid of mine)
        await git.cherryPick({ fs, dir, oid, committer: { ...AUTHOR }, abortOnConflict: true });
    } catch (err) {
      // Back to exactly where we were: the branch never moved; the files return to its head.
      await git.checkout({ fs, dir, ref: branch, force: true });
      await git.deleteRef({ fs, dir, ref: `refs/heads/${scratch}` });
      await cleanUntracked(local);
      if (err instanceof Errors.MergeConflictError) throw new SyncConflict(err.data.filepaths);
      throw new SyncFailed(`could not replay local commits: ${(err as Error).message}`);
    }
    const head = await git.resolveRef({ fs, dir, ref: scratch });
    await git.writeRef({ fs, dir, ref: `refs/heads/${branch}`, value: head, force: true });
    await git.checkout({ fs, dir, ref: branch, force: true });
    await git.deleteRef({ fs, dir, ref: `refs/heads/${scratch}` });
    await push();
    return { action: 'rebased-and-pushed', head, remoteHead: remote, replayed: mine.length };
  }

  /** Files the scratch branch added that the local head does not have. */
  async function cleanUntracked(head: string): Promise<void> {
    const tracked = new Set(await git.listFiles({ fs, dir, ref: head }));
    for (const [path, headStatus, work] of await git.statusMatrix({ fs, dir })) {
      if (headStatus === 0 && work !== 0 && !tracked.has(path)) await rm(`${dir}/${path}`, { force: true });
    }
  }

  return {
    remoteSchema,
    async remoteView() {
      return view(await load());
    },
    async setRemote(input: RemoteInput) {
      if (input.url === null) {
        await rm(file, { force: true });
        await git.deleteRemote({ fs, dir, remote: REMOTE }).catch(() => undefined);
        return null;
      }
      const stored: Stored = {
        url: input.url,
        username: input.username,
        passwordSealed: input.password ? sealer.seal(input.password, SEAL_CONTEXT) : undefined,
      };
      await writeTextAtomic(file, `${JSON.stringify(stored, null, 2)}\n`, 64 * 1024, 0o600);
      return view(stored);
    },
    /** One sync at a time, with the repo to itself; the manifest reloads afterwards. */
    sync(): Promise<SyncResult> {
      return deps.scheduler.exclusive(() =>
        syncLocked().catch((err) => {
          log.warn({ err: (err as Error).message }, 'jobs: sync failed');
          throw err;
        }),
      );
    },
  };
}

export type RepoSync = ReturnType<typeof createRepoSync>;

/** Clones `url` into `dir` (first boot of an instance provisioned with a jobs repo). */
export async function cloneRepo(dir: string, url: string): Promise<void> {
  await git.clone({ fs, http, dir, url, singleBranch: true });
}

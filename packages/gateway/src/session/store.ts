import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Logger, newToken } from '@matrixos/shared';
import { writeTextAtomic } from '../files/write.ts';

/** How long a browser stays signed in. */
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
// Sign-ins beyond this forget the oldest session: no unbounded file from a sign-in loop.
const MAX_SESSIONS = 50;

export interface SessionStore {
  /** A new session; the id is what the cookie carries, and is never stored. */
  create(): Promise<string>;
  verify(id: string): boolean;
  revoke(id: string): Promise<void>;
}

interface Stored {
  /** SHA-256 of the session id: the file alone opens nothing. */
  hash: string;
  expiresAt: number;
}

/**
 * Browser sessions of the owner, kept in memory and in `.matrixos/sessions.json` (so a restart,
 * or the platform putting the instance to sleep, does not sign anyone out).
 */
export async function createSessionStore(
  file: string,
  log: Logger,
  now: () => number = Date.now,
): Promise<SessionStore> {
  const sessions = new Map<string, number>();
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Stored[];
    for (const s of stored)
      if (typeof s.hash === 'string' && s.expiresAt > now()) sessions.set(s.hash, s.expiresAt);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn({ err }, 'sessions.json is damaged: every browser signs in again');
  }
  let queue: Promise<unknown> = Promise.resolve();

  function persist(): Promise<void> {
    const snapshot: Stored[] = [...sessions].map(([hash, expiresAt]) => ({ hash, expiresAt }));
    const done = queue.then(async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeTextAtomic(file, `${JSON.stringify(snapshot)}\n`, 1024 * 1024, 0o600);
    });
    queue = done.catch(() => undefined);
    return done;
  }

  const hash = (id: string) => createHash('sha256').update(id).digest('hex');

  return {
    async create() {
      const id = newToken('mxs');
      for (const [h, expiresAt] of sessions) if (expiresAt <= now()) sessions.delete(h);
      while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      sessions.set(hash(id), now() + SESSION_TTL_MS);
      await persist();
      return id;
    },
    verify(id) {
      const expiresAt = sessions.get(hash(id));
      return expiresAt !== undefined && expiresAt > now();
    },
    async revoke(id) {
      if (sessions.delete(hash(id))) await persist();
    },
  };
}

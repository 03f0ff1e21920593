import { hkdfSync } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createSealer, HttpError, type Logger } from '@matrixos/shared';
import type { GatewayConfig } from '../config.ts';
import { writeTextAtomic } from '../files/write.ts';
import { homePaths } from '../home/layout.ts';

export interface OwnKeyStatus {
  configured: boolean;
  /** The key's last four characters (`…abcd`), never more. */
  hint: string | null;
}

/**
 * The owner's own Anthropic key, set from the shell's settings. In platform mode the LLM proxy
 * keeps it (sealed, used upstream instead of the platform's key); in single-user mode the
 * instance keeps it sealed under `.matrixos/` and calls Anthropic with it.
 */
export interface OwnKey {
  status(): Promise<OwnKeyStatus>;
  set(apiKey: string): Promise<OwnKeyStatus>;
  remove(): Promise<void>;
  /** Single-user mode: the stored key in clear, for the kernel's calls (null: none, or unreadable). */
  stored(): Promise<string | null>;
}

const PROXY_TIMEOUT_MS = 10_000;

export function createOwnKey({
  config,
  token,
  log,
}: {
  config: Pick<GatewayConfig, 'mode' | 'home' | 'anthropicBaseUrl' | 'anthropicApiKey'>;
  token: string;
  log: Logger;
}): OwnKey {
  return config.mode === 'platform' ? proxyKey(config, log) : sealedKey(config.home, token, log);
}

/** Platform mode: `GET|PUT|DELETE {proxy}/keys/self/anthropic` with the instance's proxy token. */
function proxyKey(config: Pick<GatewayConfig, 'anthropicBaseUrl' | 'anthropicApiKey'>, log: Logger): OwnKey {
  async function call(method: string, body?: unknown): Promise<OwnKeyStatus> {
    if (!config.anthropicApiKey) {
      throw new HttpError(503, 'no_proxy_token', 'this instance has no LLM proxy token (ANTHROPIC_API_KEY)');
    }
    let res: Response;
    try {
      res = await fetch(`${config.anthropicBaseUrl}/keys/self/anthropic`, {
        method,
        headers: {
          authorization: `Bearer ${config.anthropicApiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(PROXY_TIMEOUT_MS),
      });
    } catch (err) {
      log.warn({ err }, 'the LLM proxy did not answer about the own key');
      throw new HttpError(502, 'proxy_unreachable', 'the LLM proxy did not answer; try again');
    }
    const answer = (await res.json().catch(() => null)) as {
      configured?: boolean;
      hint?: string | null;
      error?: { message?: string };
    } | null;
    if (!res.ok) {
      const message = answer?.error?.message ?? `the LLM proxy answered ${res.status}`;
      throw new HttpError(
        res.status === 400 ? 400 : 502,
        res.status === 400 ? 'invalid_key' : 'proxy_error',
        message,
      );
    }
    return { configured: answer?.configured ?? method === 'PUT', hint: answer?.hint ?? null };
  }
  return {
    status: () => call('GET'),
    set: (apiKey) => call('PUT', { apiKey }),
    async remove() {
      await call('DELETE');
    },
    stored: async () => null,
  };
}

interface SealedFile {
  v: 2;
  /** `createSealer`'s format (@matrixos/shared), bound to the context below. */
  sealed: string;
  hint: string;
}

const CONTEXT = 'anthropic-api-key';

/**
 * Single-user mode: sealed (AES-256-GCM, the shared sealer) under a key derived from the
 * instance's access token, so a copy of the home without the token (a backup, a synced folder)
 * does not reveal the Anthropic key. A new token makes the stored key unreadable: the owner
 * enters it again (so does a key stored by an older version in another format).
 */
function sealedKey(home: string, token: string, log: Logger): OwnKey {
  const { ownKey: file, privateDir } = homePaths(home);
  const sealer = createSealer(Buffer.from(hkdfSync('sha256', token, 'matrixos', 'own-anthropic-key', 32)));

  async function read(): Promise<SealedFile | null> {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as SealedFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn({ err }, 'the stored Anthropic key is damaged');
      return null;
    }
  }

  function open(stored: SealedFile): string | null {
    try {
      if (stored.v !== 2 || typeof stored.sealed !== 'string') throw new Error('an older format');
      return sealer.open(stored.sealed, CONTEXT);
    } catch {
      log.warn('the stored Anthropic key cannot be opened (was the access token changed?); set it again');
      return null;
    }
  }

  return {
    async status() {
      const stored = await read();
      return stored && open(stored) !== null
        ? { configured: true, hint: stored.hint }
        : { configured: false, hint: null };
    },
    async set(apiKey) {
      const stored: SealedFile = { v: 2, sealed: sealer.seal(apiKey, CONTEXT), hint: `…${apiKey.slice(-4)}` };
      await mkdir(privateDir, { recursive: true, mode: 0o700 });
      await writeTextAtomic(file, `${JSON.stringify(stored)}\n`, 64 * 1024, 0o600);
      return { configured: true, hint: stored.hint };
    },
    async remove() {
      await rm(file, { force: true });
    },
    async stored() {
      const stored = await read();
      return stored ? open(stored) : null;
    },
  };
}

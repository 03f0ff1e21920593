import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { newToken } from '@matrixos/shared';
import type { GatewayConfig } from '../config.ts';
import { homePaths } from '../home/layout.ts';

export interface ResolvedToken {
  token: string;
  /** `generated` only on the boot that created it: the one time it is printed. */
  source: 'env' | 'stored' | 'generated';
}

const MIN_LENGTH = 16;

/**
 * The instance's API token: `MATRIX_AUTH_TOKEN` when set; otherwise (single-user mode only, the
 * config refuses platform mode without one) the token stored in the home, generated on first boot.
 */
export async function resolveToken(
  config: Pick<GatewayConfig, 'authToken' | 'home'>,
): Promise<ResolvedToken> {
  if (config.authToken) return { token: config.authToken, source: 'env' };
  const { privateDir, tokenFile } = homePaths(config.home);
  const stored = await readStored(tokenFile);
  if (stored.token) return { token: stored.token, source: 'stored' };

  await mkdir(privateDir, { recursive: true, mode: 0o700 });
  const token = newToken('mxi');
  // Written whole to a temp file first, so no crash leaves an empty token behind.
  const tmp = `${tokenFile}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  try {
    if (stored.state === 'invalid') {
      await rename(tmp, tokenFile);
    } else {
      // link() fails if another boot got there first: then there is still only one token, theirs.
      await link(tmp, tokenFile);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = await readStored(tokenFile);
    if (!winner.token) throw err;
    return { token: winner.token, source: 'stored' };
  } finally {
    await rm(tmp, { force: true });
  }
  return { token, source: 'generated' };
}

type Stored = { state: 'ok'; token: string } | { state: 'missing' | 'invalid'; token?: undefined };

async function readStored(file: string): Promise<Stored> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    throw err;
  }
  return text.length >= MIN_LENGTH && !/\s/.test(text) ? { state: 'ok', token: text } : { state: 'invalid' };
}

import { createHash, hkdfSync, randomInt } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createSealer, type Logger } from '@matrixos/shared';
import { writeTextAtomic } from '../../files/write.ts';
import { homePaths } from '../../home/layout.ts';

/** A link code is good for this long, and for this many wrong guesses in all. */
export const LINK_CODE_TTL_MS = 15 * 60_000;
export const LINK_CODE_ATTEMPTS = 5;
// No 0/O, 1/I/L: the owner types it on a phone.
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export interface TelegramState {
  v: 1;
  /** The bot token, sealed (shared createSealer) under a key derived from the instance token. */
  botToken: string;
  bot: { id: number; username: string; firstName: string };
  owner?: { id: number; name: string };
  /** While no owner is linked: the one-time code the bot asks for (sealed), its expiry and tries left. */
  link?: { code: string; expiresAt: number; attemptsLeft: number };
  /** The webhook URL last registered with setWebhook (webhook mode), so a wake does not register again. */
  webhookUrl?: string;
  /** Telegram chat → the conversation its messages continue (until `/new`). */
  chats: Record<string, string>;
}

const CONTEXT = 'telegram-bot-token';

/**
 * The Telegram channel's state in `.matrixos/telegram.json` (mode 0600, never served by /files).
 * Secrets in it are sealed with a key derived from the instance's token, like the own Anthropic
 * key: a copy of the home without the token does not reveal the bot token.
 */
export function createTelegramStore(home: string, instanceToken: string, log: Logger) {
  const { privateDir } = homePaths(home);
  const file = join(privateDir, 'telegram.json');
  const sealer = createSealer(Buffer.from(hkdfSync('sha256', instanceToken, 'matrixos', CONTEXT, 32)));

  return {
    async read(): Promise<TelegramState | null> {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        return null;
      }
      try {
        const state = JSON.parse(text) as TelegramState;
        return state.v === 1 && typeof state.botToken === 'string' ? state : null;
      } catch {
        log.warn('the Telegram settings are damaged; set the bot token again');
        return null;
      }
    },
    async write(state: TelegramState): Promise<void> {
      await mkdir(privateDir, { recursive: true, mode: 0o700 });
      await writeTextAtomic(file, `${JSON.stringify(state)}\n`, 1024 * 1024, 0o600);
    },
    async remove(): Promise<void> {
      await rm(file, { force: true });
    },
    seal: (plain: string) => sealer.seal(plain, CONTEXT),
    /** The clear value, or null when it cannot be opened (the instance token changed). */
    open(sealed: string): string | null {
      try {
        return sealer.open(sealed, CONTEXT);
      } catch {
        return null;
      }
    },
  };
}

export type TelegramStore = ReturnType<typeof createTelegramStore>;

/** A fresh one-time link code: 8 characters, ~40 bits (5 guesses allowed). */
export function newLinkCode(): string {
  return Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
}

export const sameCode = (typed: string, code: string) =>
  createHash('sha256').update(typed.trim().toUpperCase().replace(/[\s-]/g, '')).digest('hex') ===
  createHash('sha256').update(code).digest('hex');

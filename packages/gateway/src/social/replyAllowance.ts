import { readFile } from 'node:fs/promises';
import { writeTextAtomic } from '../files/write.ts';

/**
 * Auto-replies a day when the owner set no cap: enough for a few real conversations, little
 * enough that a stranger messaging in a loop spends cents of the owner's budget, not dollars
 * (each answer is at most PEER_MAX_TOKENS of output). docs/social.md states it.
 */
export const DEFAULT_DAILY_AUTO_REPLY_CAP = 20;

export interface ReplyAllowance {
  /** Takes one auto-reply from today's allowance (UTC days); false when `cap` are used up. */
  take(cap: number): Promise<boolean>;
  /** Gives back one taken by `take` whose answer was never sent (the model call failed). */
  giveBack(): Promise<void>;
  /** Today's count. */
  used(): Promise<number>;
}

/**
 * A counter in a small file (`.matrixos/auto-replies.json`), so a restart does not reset the cap
 * mid-day. Takes are serialised in-process: two messages at once cannot both take the last one.
 */
export function createReplyAllowance(file: string, now: () => number = Date.now): ReplyAllowance {
  let queue: Promise<unknown> = Promise.resolve();
  const today = () => new Date(now()).toISOString().slice(0, 10);

  async function read(): Promise<number> {
    try {
      const state = JSON.parse(await readFile(file, 'utf8')) as { day?: string; count?: number };
      return state.day === today() && typeof state.count === 'number' ? state.count : 0;
    } catch {
      return 0;
    }
  }
  const write = (count: number) =>
    writeTextAtomic(file, `${JSON.stringify({ day: today(), count })}\n`, 1024, 0o600);

  function serial<T>(work: () => Promise<T>): Promise<T> {
    const done = queue.then(work);
    queue = done.catch(() => undefined);
    return done;
  }

  return {
    take: (cap) =>
      serial(async () => {
        const count = await read();
        if (count >= cap) return false;
        await write(count + 1);
        return true;
      }),
    giveBack: () =>
      serial(async () => {
        const count = await read();
        if (count > 0) await write(count - 1);
      }),
    used: () => serial(read),
  };
}

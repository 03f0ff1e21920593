import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTextAtomic } from '../files/write.ts';

/** One message of a conversation with another user's AI, as this instance saw it. */
export interface PeerItem {
  /** `peer`: they wrote it; `me`: this instance's AI (or its owner, through message_ai) did. */
  from: 'peer' | 'me';
  text: string;
  at: string;
  /** An answer the sandbox wrote on its own (billed to this instance's auto-reply cap). */
  auto?: boolean;
}

export interface PeerConversations {
  /** The conversation with one peer, oldest first (empty when they never talked). */
  get(peer: string): Promise<PeerItem[]>;
  append(peer: string, item: Omit<PeerItem, 'at'> & { at?: string }): Promise<PeerItem>;
}

/** Kept whole on disk, but only the end of it goes to the model (see answerPeer). */
const MAX_ITEMS = 200;

/**
 * `~/data/peers/<handle>.json`, one file per peer: the only history the sandboxed answer sees.
 * Appends to one peer are serialised; the handle was checked by the caller (a DNS label).
 */
export function createPeerConversations(dir: string, now: () => number = Date.now): PeerConversations {
  const queues = new Map<string, Promise<unknown>>();
  const fileOf = (peer: string) => join(dir, `${peer}.json`);

  async function read(peer: string): Promise<PeerItem[]> {
    try {
      const parsed = JSON.parse(await readFile(fileOf(peer), 'utf8')) as { items?: PeerItem[] };
      return Array.isArray(parsed.items) ? parsed.items : [];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      // A file broken by hand starts the conversation over rather than stopping every answer.
      return [];
    }
  }

  return {
    get: read,
    append(peer, input) {
      const item: PeerItem = {
        from: input.from,
        text: input.text,
        at: input.at ?? new Date(now()).toISOString(),
        ...(input.auto ? { auto: true } : {}),
      };
      const previous = queues.get(peer) ?? Promise.resolve();
      const done = previous.then(async () => {
        await mkdir(dir, { recursive: true });
        const items = [...(await read(peer)), item].slice(-MAX_ITEMS);
        await writeTextAtomic(fileOf(peer), `${JSON.stringify({ peer, items }, null, 1)}\n`, 8 * 1024 * 1024);
      });
      queues.set(
        peer,
        done.catch(() => undefined),
      );
      return done.then(() => item);
    },
  };
}

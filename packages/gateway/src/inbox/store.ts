import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface InboxMessage {
  /** Sorts in arrival order, so it doubles as the `since` cursor. */
  id: string;
  text: string;
  /** Who the sender says they are (the platform stamps it for instance-to-instance messages). */
  from: string | null;
  receivedAt: string;
  /** A message of a conversation with another user's AI (either way): see social/answerPeer.ts. */
  peer?: InboxPeer;
}

export interface InboxPeer {
  handle: string;
  direction: 'in' | 'out';
  auto?: boolean;
}

export interface Inbox {
  append(input: { text: string; from?: string | undefined; peer?: InboxPeer }): Promise<InboxMessage>;
  /** Messages after `since` (an id, or a time), oldest first; without it, the latest `limit`. */
  list(query: {
    since?: string | Date | undefined;
    limit: number;
  }): Promise<{ messages: InboxMessage[]; more: boolean }>;
}

export const MESSAGE_ID_PATTERN = /^msg_[0-9a-z]{21}$/;

/**
 * The inbox is a JSON-lines file: one message per line, appended and fsynced before the sender
 * hears 201. Appends are serialised in-process; a torn last line (power loss mid-write) is skipped.
 */
export function createInbox(file: string, now: () => number = Date.now): Inbox {
  let queue: Promise<unknown> = Promise.resolve();
  const nextId = idGenerator(now);

  async function appendLine(message: InboxMessage): Promise<void> {
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(file, 'a', 0o600);
    try {
      await handle.write(`${JSON.stringify(message)}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  async function readAll(): Promise<InboxMessage[]> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const messages: InboxMessage[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        messages.push(JSON.parse(line) as InboxMessage);
      } catch {
        // A torn write: the sender never got a 201 for it.
      }
    }
    return messages;
  }

  return {
    append(input) {
      const { id, time } = nextId();
      const message: InboxMessage = {
        id,
        text: input.text,
        from: input.from ?? null,
        receivedAt: new Date(time).toISOString(),
        ...(input.peer ? { peer: input.peer } : {}),
      };
      const done = queue.then(() => appendLine(message));
      queue = done.catch(() => undefined);
      return done.then(() => message);
    },
    async list({ since, limit }) {
      const all = await readAll();
      if (since === undefined) return { messages: all.slice(-limit), more: all.length > limit };
      const after =
        typeof since === 'string'
          ? all.filter((m) => m.id > since)
          : all.filter((m) => Date.parse(m.receivedAt) > since.getTime());
      return { messages: after.slice(0, limit), more: after.length > limit };
    },
  };
}

/** `msg_` + 9 base-36 digits of milliseconds + 4 of a per-millisecond counter + 8 random. */
function idGenerator(now: () => number) {
  let lastTime = 0;
  let counter = 0;
  return () => {
    const t = now();
    // Never step back, even if the clock does: ids must keep sorting in arrival order.
    if (t > lastTime) {
      lastTime = t;
      counter = 0;
    } else {
      counter += 1;
    }
    const id = `msg_${lastTime.toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
    return { id, time: lastTime };
  };
}

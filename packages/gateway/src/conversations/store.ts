import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { HttpError } from '@matrixos/shared';
import { writeTextAtomic } from '../files/write.ts';

/** Sorts by creation time, like inbox ids. */
export { CONVERSATION_ID_PATTERN } from '../events/contract.ts';

import { CONVERSATION_ID_PATTERN } from '../events/contract.ts';

export interface Conversation {
  id: string;
  title: string;
  createdAt: string;
  updatedAt: string;
  /** Exactly what the Messages API is sent, so a conversation resumes where it stopped. */
  messages: MessageParam[];
}

export interface ConversationSummary {
  id: string;
  title: string;
  createdAt: string;
  updatedAt: string;
}

export interface ConversationStore {
  create(title: string): Conversation;
  get(id: string): Promise<Conversation | null>;
  save(conversation: Conversation): Promise<void>;
  list(): Promise<ConversationSummary[]>;
  remove(id: string): Promise<boolean>;
}

// A conversation file holds whole app sources; far past this something is wrong.
const MAX_CONVERSATION_BYTES = 64 * 1024 * 1024;

/** Conversations as one JSON file each in `data/conversations/`, replaced atomically on save. */
export function createConversationStore(dir: string): ConversationStore {
  const file = (id: string) => {
    if (!CONVERSATION_ID_PATTERN.test(id)) throw new HttpError(404, 'not_found', 'no such conversation');
    return join(dir, `${id}.json`);
  };

  async function read(id: string): Promise<Conversation | null> {
    try {
      return JSON.parse(await readFile(file(id), 'utf8')) as Conversation;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  return {
    create(title) {
      const now = new Date();
      const id = `c_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(4).toString('hex')}`;
      const at = now.toISOString();
      return { id, title, createdAt: at, updatedAt: at, messages: [] };
    },
    get: read,
    async save(conversation) {
      await mkdir(dir, { recursive: true });
      conversation.updatedAt = new Date().toISOString();
      await writeTextAtomic(file(conversation.id), JSON.stringify(conversation), MAX_CONVERSATION_BYTES);
    },
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return [];
      }
      const ids = names.map((n) => n.replace(/\.json$/, '')).filter((id) => CONVERSATION_ID_PATTERN.test(id));
      const all = await Promise.all(
        ids.map((id) =>
          read(id).then(
            (c) => c && { id: c.id, title: c.title, createdAt: c.createdAt, updatedAt: c.updatedAt },
            // One damaged file must not hide the others.
            () => null,
          ),
        ),
      );
      return all
        .filter((c): c is ConversationSummary => c !== null)
        .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    },
    async remove(id) {
      const path = file(id);
      const existed = (await read(id)) !== null;
      await rm(path, { force: true });
      return existed;
    },
  };
}

import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { HttpError } from '@matrixos/shared';
import { Hono } from 'hono';
import type { Toolbox } from '../tools/toolbox.ts';
import type { ConversationStore } from './store.ts';

/** A conversation as the shell shows it: text, and one line per tool call. */
export type ConversationItem =
  | { role: 'user' | 'assistant'; text: string }
  | { role: 'tool'; id: string; name: string; summary: string; ok: boolean | null };

/** `GET /api/conversations`, `GET|DELETE /api/conversations/:id`. */
export function conversationRoutes({
  conversations,
  toolbox,
}: {
  conversations: ConversationStore;
  toolbox: Pick<Toolbox, 'describe'>;
}): Hono {
  const app = new Hono();

  app.get('/api/conversations', async (c) => c.json({ conversations: await conversations.list() }));

  app.get('/api/conversations/:id', async (c) => {
    const conversation = await conversations.get(c.req.param('id'));
    if (!conversation) throw new HttpError(404, 'not_found', 'no such conversation');
    const { messages, ...summary } = conversation;
    return c.json({ ...summary, items: itemsOf(messages, toolbox) });
  });

  app.delete('/api/conversations/:id', async (c) => {
    if (!(await conversations.remove(c.req.param('id'))))
      throw new HttpError(404, 'not_found', 'no such conversation');
    return c.body(null, 204);
  });

  return app;
}

export function itemsOf(messages: MessageParam[], toolbox: Pick<Toolbox, 'describe'>): ConversationItem[] {
  const items: ConversationItem[] = [];
  const tools = new Map<string, Extract<ConversationItem, { role: 'tool' }>>();
  for (const message of messages) {
    const role = message.role;
    if (role !== 'user' && role !== 'assistant') continue;
    const blocks =
      typeof message.content === 'string'
        ? [{ type: 'text' as const, text: message.content }]
        : message.content;
    for (const block of blocks) {
      if (block.type === 'text' && block.text.trim()) {
        const last = items.at(-1);
        // Consecutive texts of one speaker read as one message.
        if (last && last.role === role) last.text += `\n\n${block.text}`;
        else items.push({ role, text: block.text });
      } else if (block.type === 'tool_use') {
        const item = {
          role: 'tool' as const,
          id: block.id,
          name: block.name,
          summary: toolbox.describe(block.name, block.input),
          ok: null,
        };
        tools.set(block.id, item);
        items.push(item);
      } else if (block.type === 'tool_result') {
        const item = tools.get(block.tool_use_id);
        if (item) item.ok = !block.is_error;
      }
    }
  }
  return items;
}

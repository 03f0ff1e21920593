import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BotCall {
  method: string;
  token: string;
  params: Record<string, unknown>;
}

export interface BotApiStandIn {
  url: string;
  /** Every Bot API call, in order. */
  calls: BotCall[];
  /** Queues an update for getUpdates (long polling); update_id is filled in. */
  push(update: Record<string, unknown>): void;
  /** A file that getFile and the download answer for. */
  addFile(fileId: string, bytes: Buffer, path: string): void;
  /** Resolves with the calls of `method` once there are at least `count` of them since `from`. */
  waitFor(method: string, count?: number, from?: number): Promise<BotCall[]>;
  close(): Promise<void>;
}

/**
 * The Telegram Bot API at the wire level, for the methods the channel calls: getMe, getUpdates
 * (a real long poll), setWebhook, deleteWebhook, sendMessage (4096 characters at most, HTML
 * checked for balanced tags), sendChatAction, getFile and `/file/bot<token>/<path>` downloads.
 * One bot, with the token given; any other token gets Telegram's 401.
 */
export async function startBotApiStandIn(
  botToken: string,
  bot = { id: 777, username: 'alice_os_bot' },
): Promise<BotApiStandIn> {
  const calls: BotCall[] = [];
  const updates: Record<string, unknown>[] = [];
  const files = new Map<string, { bytes: Buffer; path: string }>();
  let nextUpdateId = 1;
  let nextMessageId = 100;
  const wake = new Set<() => void>();
  const watchers = new Set<() => void>();
  const notify = (set: Set<() => void>) => {
    for (const fn of [...set]) fn();
  };

  const ok = (result: unknown) => ({ ok: true, result });
  const fail = (code: number, description: string) => ({ ok: false, error_code: code, description });

  async function answer(method: string, params: Record<string, unknown>, req: IncomingMessage) {
    switch (method) {
      case 'getMe':
        return ok({
          id: bot.id,
          is_bot: true,
          first_name: 'Alice OS',
          username: bot.username,
          can_join_groups: false,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        });
      case 'getUpdates': {
        const offset = Number(params.offset ?? 0);
        while (updates.length && Number(updates[0]!.update_id) < offset) updates.shift();
        if (!updates.length && Number(params.timeout ?? 0) > 0) {
          await new Promise<void>((resolve) => {
            const done = () => {
              wake.delete(done);
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(done, Number(params.timeout) * 1000);
            wake.add(done);
            req.once('close', done);
          });
        }
        return ok(updates.filter((u) => Number(u.update_id) >= offset));
      }
      case 'setWebhook':
      case 'deleteWebhook':
      case 'sendChatAction':
        return ok(true);
      case 'sendMessage': {
        const text = String(params.text ?? '');
        const visible = params.parse_mode === 'HTML' ? text.replace(/<[^>]+>/g, '') : text;
        if (visible.length > 4096) return fail(400, 'Bad Request: message is too long');
        if (params.parse_mode === 'HTML' && !balanced(text))
          return fail(400, "Bad Request: can't parse entities");
        return ok({
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: params.chat_id, type: 'private' },
          text: visible,
        });
      }
      case 'getFile': {
        const file = files.get(String(params.file_id));
        if (!file) return fail(400, 'Bad Request: invalid file_id');
        return ok({
          file_id: params.file_id,
          file_unique_id: `u${params.file_id}`,
          file_size: file.bytes.length,
          file_path: file.path,
        });
      }
      default:
        return fail(404, 'Not Found');
    }
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (download) {
      const file = [...files.values()].find((f) => f.path === download[2]);
      if (download[1] !== botToken || !file) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.length });
      res.end(file.bytes);
      return;
    }
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let params: Record<string, unknown> = Object.fromEntries(url.searchParams);
    if (raw && (req.headers['content-type'] ?? '').includes('json'))
      params = { ...params, ...JSON.parse(raw) };
    let body: unknown;
    if (!m) body = fail(404, 'Not Found');
    else if (m[1] !== botToken) body = fail(401, 'Unauthorized');
    else {
      calls.push({ method: m[2]!, token: m[1]!, params });
      notify(watchers);
      body = await answer(m[2]!, params, req);
    }
    if (res.destroyed) return;
    const status = (body as { ok: boolean; error_code?: number }).ok
      ? 200
      : (body as { error_code: number }).error_code;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    push(update) {
      updates.push({ ...update, update_id: nextUpdateId++ });
      notify(wake);
    },
    addFile(fileId, bytes, path) {
      files.set(fileId, { bytes, path });
    },
    waitFor(method, count = 1, from = 0) {
      const matching = () => calls.slice(from).filter((c) => c.method === method);
      return new Promise((resolve) => {
        const check = () => {
          if (matching().length >= count) {
            watchers.delete(check);
            resolve(matching());
          }
        };
        watchers.add(check);
        check();
      });
    },
    async close() {
      notify(wake);
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Whether every HTML tag is closed, in order (Telegram refuses the message otherwise). */
function balanced(html: string): boolean {
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-z]+)[^>]*>/g)) {
    if (m[1]) {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]!);
  }
  return stack.length === 0;
}

let chatUpdate = 0;
/** A private-chat text (or photo/document) message update from a Telegram user. */
export function messageFrom(
  user: { id: number; first_name: string; username?: string },
  fields: Record<string, unknown>,
  chatType: 'private' | 'group' = 'private',
): Record<string, unknown> {
  return {
    message: {
      message_id: ++chatUpdate,
      date: Math.floor(Date.now() / 1000),
      chat:
        chatType === 'private'
          ? { id: user.id, type: 'private', first_name: user.first_name }
          : { id: -1001, type: 'group', title: 'A group' },
      from: { ...user, is_bot: false },
      ...fields,
    },
  };
}

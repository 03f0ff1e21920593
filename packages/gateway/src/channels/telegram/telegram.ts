import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadableStream } from 'node:stream/web';
import {
  HttpError,
  type Logger,
  safeEqual,
  TELEGRAM_WEBHOOK_PATH,
  telegramWebhookSecret,
} from '@matrixos/shared';
import { Bot, GrammyError } from 'grammy';
import type { Message, Update, UserFromGetMe } from 'grammy/types';
import type { Activity } from '../../activity.ts';
import type { GatewayConfig } from '../../config.ts';
import type { EventBus } from '../../events/bus.ts';
import { writeFileAtomic } from '../../files/write.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import { type ImageInput, readImage } from '../../kernel/readImage.ts';
import type { Channel, ChannelStatus } from '../channel.ts';
import { deliver } from '../deliver.ts';
import { splitMessage, TELEGRAM_TEXT_LIMIT } from './splitMessage.ts';
import {
  createTelegramStore,
  LINK_CODE_ATTEMPTS,
  LINK_CODE_TTL_MS,
  newLinkCode,
  sameCode,
  type TelegramState,
} from './store.ts';
import { toTelegramHtml } from './toTelegramHtml.ts';

/** Telegram shows "typing…" for 5 s per sendChatAction: renewed a little sooner while the AI works. */
const TYPING_EVERY_MS = 4_000;
/** The Bot API serves files up to 20 MB through getFile. */
const BOT_API_FILE_LIMIT = 20 * 1024 * 1024;
/** Where photos and documents sent to the bot are kept, inside the home. */
export const TELEGRAM_FILES_DIR = 'data/telegram';

export const TEXT = {
  askCode:
    'Hello! This bot belongs to a Matrix OS. To link your Telegram account, send the link code shown in Matrix OS under Settings → Telegram.',
  wrongCode: 'That is not the link code. Check Settings → Telegram in Matrix OS and send it again.',
  noCode:
    'No link code is active. Create a new one in Matrix OS under Settings → Telegram, then send it here.',
  linked:
    'Linked. From now on your messages here go to your Matrix OS AI. Send /new to start a fresh conversation.',
  stranger: 'Sorry, this is a private assistant: it only talks with its owner.',
  privateOnly: 'I only answer in a private chat with my owner.',
  fresh: 'Started a fresh conversation.',
  fileFailed: 'I could not save that file into your home',
  unsupported: 'I can read text, photos and documents; that kind of message I cannot use yet.',
} as const;

export interface TelegramSettings {
  configured: boolean;
  bot: { username: string; firstName: string } | null;
  owner: { name: string } | null;
  /** Shown until an owner is linked. */
  linkCode: { code: string; expiresAt: string; attemptsLeft: number } | null;
  status: ChannelStatus;
}

export interface TelegramChannel extends Channel {
  settings(): Promise<TelegramSettings>;
  /** Checks the token with getMe, keeps it sealed, makes a new link code, and starts receiving. */
  setToken(botToken: string): Promise<TelegramSettings>;
  newLinkCode(): Promise<TelegramSettings>;
  /** Forgets the linked owner (a new code is made for the next one). */
  unlink(): Promise<TelegramSettings>;
  /** Stops, deregisters the webhook, and forgets the token and everything else. */
  remove(): Promise<void>;
  /** Throws 401 unless `secret` (a webhook call's X-Telegram-Bot-Api-Secret-Token) is this instance's. */
  verifyWebhook(secret: string | undefined): void;
  /** One update from a verified webhook call. */
  webhook(update: Update): Promise<void>;
}

export interface TelegramDeps {
  config: Pick<GatewayConfig, 'mode' | 'home' | 'maxFileBytes' | 'telegramApiRoot' | 'publicUrl'>;
  /** The instance's access token: seals the bot token, and derives the webhook secret. */
  token: string;
  log: Logger;
  kernel: Kernel;
  bus: EventBus;
  activity: Activity;
  clock?: () => number;
}

export function createTelegramChannel(deps: TelegramDeps): TelegramChannel {
  const { config, log } = deps;
  const clock = deps.clock ?? Date.now;
  const store = createTelegramStore(config.home, deps.token, log);
  const secret = telegramWebhookSecret(deps.token);
  // Platform instances are reached through the router (and woken by it): always a webhook.
  const webhookUrl =
    config.mode === 'platform' || config.publicUrl
      ? `${config.publicUrl ?? ''}${TELEGRAM_WEBHOOK_PATH}`
      : null;
  let bot: Bot | null = null;
  let botToken: string | null = null;
  let status: ChannelStatus = { name: 'telegram', state: 'off', linked: false };
  // One message at a time per chat, in order; the webhook call itself answers at once.
  const queues = new Map<number, Promise<void>>();
  // State changes are serialised: two updates never read-modify-write the file together.
  let writing: Promise<unknown> = Promise.resolve();
  function serially<T>(work: () => Promise<T>): Promise<T> {
    const run = writing.then(work);
    writing = run.catch(() => {});
    return run;
  }
  const update = <T>(change: (state: TelegramState) => T | Promise<T>): Promise<T> =>
    serially(async () => {
      const state = await store.read();
      if (!state) throw new HttpError(409, 'not_configured', 'no Telegram bot is set up');
      const result = await change(state);
      await store.write(state);
      return result;
    });

  function makeBot(token: string, info: UserFromGetMe | undefined): Bot {
    const b = new Bot(token, {
      client: { apiRoot: config.telegramApiRoot },
      ...(info ? { botInfo: info } : {}),
    });
    b.on('message', (ctx) => {
      const msg = ctx.message;
      const prior = queues.get(msg.chat.id) ?? Promise.resolve();
      const next = prior
        .then(() => onMessage(b, msg))
        .catch((err) => log.warn({ err }, 'a Telegram message could not be handled'));
      queues.set(msg.chat.id, next);
      void next.finally(() => {
        if (queues.get(msg.chat.id) === next) queues.delete(msg.chat.id);
      });
    });
    b.catch((err) => log.warn({ err: err.error }, 'the Telegram bot failed on an update'));
    return b;
  }

  async function onMessage(b: Bot, msg: Message): Promise<void> {
    const state = await store.read();
    if (!state || !msg.from) return;
    const say = (text: string) => b.api.sendMessage(msg.chat.id, text).then(() => {});
    if (msg.chat.type !== 'private') {
      if (state.owner && msg.from.id === state.owner.id) await say(TEXT.privateOnly);
      return;
    }
    if (!state.owner) return link(b, msg);
    if (msg.from.id !== state.owner.id) return say(TEXT.stranger);
    const text = (msg.text ?? msg.caption ?? '').trim();
    if (text === '/new' || text.startsWith('/new@') || text === '/start') {
      await update((s) => {
        delete s.chats[String(msg.chat.id)];
      });
      return say(text === '/start' ? TEXT.linked : TEXT.fresh);
    }
    let prompt = text;
    const images: ImageInput[] = [];
    const file = msg.photo?.at(-1) ?? msg.document;
    if (file) {
      let saved: string;
      try {
        saved = await saveFile(b, file.file_id, msg.document?.file_name ?? 'photo.jpg', msg.date);
      } catch (err) {
        log.warn({ err }, 'a file sent on Telegram could not be saved');
        return say(`${TEXT.fileFailed} (${(err as Error).message})`);
      }
      // A photo (or an image sent as a document) the AI sees itself; any file it can open by path.
      const image = await readImage(join(config.home, saved)).catch(() => null);
      if (image) images.push(image);
      const what = msg.photo ? 'a photo' : image ? 'an image' : 'a document';
      prompt = `${text ? `${text}\n\n` : ''}[The owner sent ${what} from Telegram; it is saved in the home as ${saved}.]`;
    }
    if (!prompt) return say(TEXT.unsupported);
    await answer(b, msg.chat.id, prompt, images);
  }

  /** No owner yet: only the current link code, sent in a private chat, makes its sender the owner. */
  async function link(b: Bot, msg: Message): Promise<void> {
    const typed = (msg.text ?? '').trim();
    const outcome = await update((s): keyof typeof TEXT | null => {
      if (s.owner) return 'stranger';
      const code =
        s.link && s.link.expiresAt > clock() && s.link.attemptsLeft > 0 ? store.open(s.link.code) : null;
      if (!typed || typed === '/start') return code ? 'askCode' : 'noCode';
      if (!code) return 'noCode';
      if (sameCode(typed, code)) {
        const name = [msg.from?.first_name, msg.from?.last_name].filter(Boolean).join(' ') || 'owner';
        s.owner = { id: msg.from!.id, name: msg.from?.username ? `${name} (@${msg.from.username})` : name };
        delete s.link;
        return 'linked';
      }
      s.link!.attemptsLeft -= 1;
      return s.link!.attemptsLeft > 0 ? 'wrongCode' : 'noCode';
    });
    if (outcome === 'linked') {
      status = { ...status, linked: true };
      log.info('the owner linked their Telegram account');
    }
    if (outcome) await b.api.sendMessage(msg.chat.id, TEXT[outcome]);
  }

  async function saveFile(b: Bot, fileId: string, name: string, date: number): Promise<string> {
    const info = await b.api.getFile(fileId);
    if (!info.file_path) throw new Error('Telegram gave no file path');
    const limit = Math.min(config.maxFileBytes, BOT_API_FILE_LIMIT);
    if ((info.file_size ?? 0) > limit) throw new Error('the file is larger than this instance accepts');
    const res = await fetch(`${config.telegramApiRoot}/file/bot${botToken}/${info.file_path}`, {
      signal: AbortSignal.timeout(60_000),
    });
    if (!res.ok || !res.body) throw new Error(`Telegram's file download answered ${res.status}`);
    const stamp = new Date(date * 1000).toISOString().replace(/[:T]/g, '-').slice(0, 19);
    const safe =
      name
        .replace(/[^A-Za-z0-9._-]+/g, '_')
        .replace(/^[._]+/, '')
        .slice(-80) || 'file';
    const relative = `${TELEGRAM_FILES_DIR}/${stamp}-${safe}`;
    const target = join(config.home, relative);
    await mkdir(join(config.home, TELEGRAM_FILES_DIR), { recursive: true });
    await writeFileAtomic(target, res.body as ReadableStream<Uint8Array>, limit);
    deps.bus.publish({ type: 'files.changed', path: relative, action: 'created' });
    return relative;
  }

  async function answer(b: Bot, chatId: number, prompt: string, images: ImageInput[] = []): Promise<void> {
    const typing = () => {
      deps.activity.touch();
      b.api.sendChatAction(chatId, 'typing').catch(() => {});
    };
    typing();
    const timer = setInterval(typing, TYPING_EVERY_MS);
    let reply: string;
    try {
      const state = await store.read();
      const delivered = await deliver(
        { kernel: deps.kernel, bus: deps.bus },
        { text: prompt, images, conversationId: state?.chats[String(chatId)] },
      );
      await update((s) => {
        s.chats[String(chatId)] = delivered.conversationId;
      });
      reply = delivered.text;
    } catch (err) {
      reply =
        err instanceof HttpError ? err.message : 'Something went wrong on the way to the AI; try again.';
      if (!(err instanceof HttpError)) log.warn({ err }, 'a Telegram message did not reach the kernel');
    } finally {
      clearInterval(timer);
    }
    await send(b, chatId, reply);
  }

  /** Markdown as Telegram HTML, one message per 4096 characters; plain text if Telegram refuses the HTML. */
  async function send(b: Bot, chatId: number, markdown: string): Promise<void> {
    for (const piece of splitMessage(markdown, TELEGRAM_TEXT_LIMIT)) {
      try {
        await b.api.sendMessage(chatId, toTelegramHtml(piece), { parse_mode: 'HTML' });
      } catch (err) {
        if (!(err instanceof GrammyError && err.error_code === 400)) throw err;
        await b.api.sendMessage(chatId, piece);
      }
    }
  }

  /** The start under way: a webhook that arrives while the instance is still waking waits for it. */
  let starting: Promise<void> | null = null;
  function start(): Promise<void> {
    starting = startOnce();
    return starting;
  }

  async function startOnce(): Promise<void> {
    const state = await store.read();
    if (!state) {
      status = { name: 'telegram', state: 'off', linked: false };
      return;
    }
    botToken = store.open(state.botToken);
    if (!botToken) {
      status = {
        name: 'telegram',
        state: 'error',
        linked: false,
        detail: 'the bot token cannot be opened; set it again',
      };
      return;
    }
    const info: UserFromGetMe = {
      id: state.bot.id,
      is_bot: true,
      first_name: state.bot.firstName,
      username: state.bot.username,
      can_join_groups: false,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    } as UserFromGetMe;
    const b = makeBot(botToken, info);
    bot = b;
    const linked = state.owner !== undefined;
    status = { name: 'telegram', state: 'starting', linked };
    try {
      if (webhookUrl) {
        if (state.webhookUrl !== webhookUrl) {
          await b.api.setWebhook(webhookUrl, { secret_token: secret, allowed_updates: ['message'] });
          await update((s) => {
            s.webhookUrl = webhookUrl;
          });
        }
        status = { name: 'telegram', state: 'running', via: 'webhook', linked };
      } else {
        // bot.start() deletes any webhook first, then long-polls until stop().
        void b
          .start({
            allowed_updates: ['message'],
            onStart: () => {
              status = { ...status, state: 'running', via: 'polling' };
            },
          })
          .catch((err: Error) => {
            if (bot !== b) return;
            log.warn({ err }, 'Telegram long polling stopped');
            status = { ...status, state: 'error', detail: err.message };
          });
        if (state.webhookUrl) await update((s) => void delete s.webhookUrl);
      }
    } catch (err) {
      log.warn({ err }, 'the Telegram channel did not start');
      status = { name: 'telegram', state: 'error', linked, detail: (err as Error).message };
    }
  }

  async function stop(): Promise<void> {
    const b = bot;
    bot = null;
    if (b?.isRunning()) await b.stop().catch(() => {});
    status = { ...status, state: 'off' };
    await Promise.allSettled([...queues.values()]);
  }

  async function settings(): Promise<TelegramSettings> {
    const state = await store.read();
    const code =
      state?.link && state.link.expiresAt > clock() && state.link.attemptsLeft > 0
        ? store.open(state.link.code)
        : null;
    return {
      configured: state !== null,
      bot: state ? { username: state.bot.username, firstName: state.bot.firstName } : null,
      owner: state?.owner ? { name: state.owner.name } : null,
      linkCode:
        code && state?.link
          ? {
              code,
              expiresAt: new Date(state.link.expiresAt).toISOString(),
              attemptsLeft: state.link.attemptsLeft,
            }
          : null,
      status,
    };
  }

  const freshLink = () => ({
    code: store.seal(newLinkCode()),
    expiresAt: clock() + LINK_CODE_TTL_MS,
    attemptsLeft: LINK_CODE_ATTEMPTS,
  });

  return {
    name: 'telegram',
    start,
    stop,
    status: () => status,
    async reply(chatId, markdown) {
      if (!bot) throw new HttpError(409, 'not_running', 'the Telegram channel is not running');
      await send(bot, Number(chatId), markdown);
    },
    settings,
    async setToken(token) {
      const probe = new Bot(token, { client: { apiRoot: config.telegramApiRoot } });
      let me: UserFromGetMe;
      try {
        me = await probe.api.getMe();
      } catch (err) {
        if (err instanceof GrammyError && (err.error_code === 401 || err.error_code === 404)) {
          throw new HttpError(400, 'invalid_bot_token', 'Telegram does not know this bot token');
        }
        log.warn({ err }, 'Telegram did not answer getMe');
        throw new HttpError(502, 'telegram_unreachable', 'Telegram did not answer; try again');
      }
      await stop();
      const previous = await store.read();
      const sameBot = previous?.bot.id === me.id;
      await serially(() =>
        store.write({
          v: 1,
          botToken: store.seal(token),
          bot: { id: me.id, username: me.username, firstName: me.first_name },
          // A new token for the same bot keeps its owner and conversations.
          ...(sameBot && previous?.owner ? { owner: previous.owner } : { link: freshLink() }),
          chats: sameBot ? (previous?.chats ?? {}) : {},
        }),
      );
      await start();
      return settings();
    },
    async newLinkCode() {
      await update((s) => {
        if (s.owner) throw new HttpError(409, 'already_linked', 'an owner is linked: unlink first');
        s.link = freshLink();
      });
      return settings();
    },
    async unlink() {
      await update((s) => {
        delete s.owner;
        s.chats = {};
        s.link = freshLink();
      });
      status = { ...status, linked: false };
      return settings();
    },
    async remove() {
      const b = bot;
      await stop();
      if (b && webhookUrl) await b.api.deleteWebhook().catch(() => {});
      await serially(() => store.remove());
      status = { name: 'telegram', state: 'off', linked: false };
    },
    verifyWebhook(presented) {
      if (!presented || !safeEqual(presented, secret)) {
        throw new HttpError(401, 'bad_secret', 'wrong or missing X-Telegram-Bot-Api-Secret-Token');
      }
    },
    async webhook(body) {
      await starting?.catch(() => undefined);
      if (!bot || !webhookUrl)
        throw new HttpError(409, 'not_running', 'the Telegram channel is not set up here');
      deps.activity.touch();
      await bot.handleUpdate(body);
    },
  };
}

import type {
  aiProfileReply,
  feedReply,
  ProfilePublish,
  profilePublishReply,
  profileReply,
  SendBody,
  SendReply,
  SettingsChange,
  SocialSettings,
  usersReply,
} from '@matrixos/platform/social';
import { HttpError, type Logger } from '@matrixos/shared';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';

// The owner's page waits on these: a slow platform must not hang the Community app.
const TIMEOUT_MS = 10_000;

type Page = { cursor?: string | undefined; limit?: number | undefined };

/** The platform's social API on its instance door (`/instance/v1/social/*`), with this instance's token. */
export interface SocialClient {
  users(page: Page): Promise<z.infer<typeof usersReply>>;
  profile(handle: string): Promise<z.infer<typeof profileReply>>;
  aiProfile(handle: string): Promise<z.infer<typeof aiProfileReply>>;
  feed(page: Page): Promise<z.infer<typeof feedReply>>;
  send(handle: string, body: SendBody): Promise<SendReply>;
  settings(): Promise<SocialSettings>;
  changeSettings(change: SettingsChange): Promise<SocialSettings>;
  block(handle: string): Promise<SocialSettings>;
  unblock(handle: string): Promise<SocialSettings>;
  publish(body: ProfilePublish): Promise<z.infer<typeof profilePublishReply>>;
}

/**
 * Calls the platform the way jobs/platformReport.ts does. A refusal keeps the platform's status
 * and code (the shell shows its message); no answer at all is a 502 `platform_unreachable`.
 * The platform's own schemas type the answers; they are trusted as the platform's, not re-parsed.
 */
export function createSocialClient(opts: { url: string; token: string; log: Logger }): SocialClient {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${opts.url}/instance/v1/social${path}`, {
        method,
        headers: {
          authorization: `Bearer ${opts.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      opts.log.warn({ err: (err as Error).message, path }, 'social: the platform did not answer');
      throw new HttpError(502, 'platform_unreachable', 'the platform did not answer; try again shortly');
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    if (res.ok) return parsed as T;
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const retry = res.headers.get('retry-after');
    // 401 from the platform is this instance's token, not the owner's session: never pass it on
    // as a 401 (the shell would take it for its own sign-out).
    const status = (res.status === 401 ? 502 : res.status) as ContentfulStatusCode;
    throw new HttpError(
      status,
      typeof error?.code === 'string' ? error.code : 'platform_error',
      typeof error?.message === 'string' ? error.message : `the platform answered ${res.status}`,
      undefined,
      retry ? { 'Retry-After': retry } : undefined,
    );
  }
  const page = ({ cursor, limit }: Page) => {
    const q = new URLSearchParams();
    if (cursor) q.set('cursor', cursor);
    if (limit) q.set('limit', String(limit));
    return q.size ? `?${q}` : '';
  };
  const h = encodeURIComponent;
  return {
    users: (p) => call('GET', `/users${page(p)}`),
    profile: (handle) => call('GET', `/profiles/${h(handle)}`),
    aiProfile: (handle) => call('GET', `/profiles/${h(handle)}/ai`),
    feed: (p) => call('GET', `/feed${page(p)}`),
    send: (handle, body) => call('POST', `/send/${h(handle)}`, body),
    settings: () => call('GET', '/settings'),
    changeSettings: (change) => call('PUT', '/settings', change),
    block: (handle) => call('PUT', `/blocks/${h(handle)}`),
    unblock: (handle) => call('DELETE', `/blocks/${h(handle)}`),
    publish: (body) => call('PUT', '/profile', body),
  };
}

import WebSocket from 'ws';
import { serverEventSchema } from '../src/events/contract.ts';
import type { TestGateway } from './harness.ts';

export type Event = { type: string; [key: string]: unknown };

export interface TestSocket {
  ws: WebSocket;
  /** Every event received so far, in order (`next` does not remove them from here). */
  events: Event[];
  /** The next not yet taken event of a type (and matching `where`), waiting for it if need be. */
  next(type: string, where?: (e: Event) => boolean, timeoutMs?: number): Promise<Event>;
  send(message: unknown): void;
  close(): void;
}

/** A WebSocket client on the gateway's /ws (the owner's bearer token unless told otherwise). */
export async function connectSocket(
  gw: Pick<TestGateway, 'url' | 'token'>,
  options: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<TestSocket> {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, options.protocols ?? [], {
    headers: options.headers ?? { authorization: `Bearer ${gw.token}` },
  });
  const events: Event[] = [];
  const taken = new Set<Event>();
  const waiters: (() => void)[] = [];
  // Every event is held to the protocol's schema (src/events/contract.ts): a test that sees one
  // that breaks it fails at its next wait, naming the event.
  const broken: string[] = [];
  ws.on('message', (data) => {
    const event = JSON.parse(String(data));
    const checked = serverEventSchema.safeParse(event);
    if (!checked.success) broken.push(`${String(data)}: ${checked.error.message}`);
    events.push(event);
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    events,
    async next(type, where = () => true, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (broken.length) throw new Error(`events that break the contract: ${broken.join('\n')}`);
        const found = events.find((e) => e.type === type && !taken.has(e) && where(e));
        if (found) {
          taken.add(found);
          return found;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${type} event; got ${JSON.stringify(events.map((e) => e.type))}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    send: (message) => ws.send(JSON.stringify(message)),
    close: () => ws.close(),
  };
}

/** The HTTP status the server refused an upgrade with. */
export function refusal(
  gw: Pick<TestGateway, 'url'>,
  options: { headers?: Record<string, string>; protocols?: string[] },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, options.protocols ?? [], {
      headers: options.headers,
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => {});
  });
}

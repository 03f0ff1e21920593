import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { pool } from './stats.ts';

export interface HoldResult {
  asked: number;
  seconds: number;
  opened: number;
  failed: number;
  /** Closed while they were meant to be held. */
  dropped: number;
  stillOpen: number;
}

/**
 * Opens `count` WebSockets (50 at a time), the i-th with `headersOf(i)`, holds them for `seconds`
 * (`whileOpen` runs once they are open), then closes them and says how many opened, failed and
 * dropped.
 */
export async function holdWebSockets(opts: {
  url: string;
  count: number;
  seconds: number;
  headersOf: (i: number) => Record<string, string>;
  whileOpen?: () => Promise<void>;
}): Promise<HoldResult> {
  let opened = 0;
  let failed = 0;
  let dropped = 0;
  let holding = true;
  const sockets: WebSocket[] = [];
  await pool(
    Array.from({ length: opts.count }, (_, i) => i),
    50,
    (i) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(opts.url, { headers: opts.headersOf(i) });
        ws.once('open', () => {
          opened++;
          resolve();
        });
        ws.once('error', () => {
          failed++;
          resolve();
        });
        ws.once('close', () => {
          if (holding) dropped++;
        });
        ws.on('message', () => undefined);
        sockets.push(ws);
      }),
  );
  await opts.whileOpen?.();
  await sleep(opts.seconds * 1000);
  const stillOpen = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  holding = false;
  for (const s of sockets) s.close();
  return { asked: opts.count, seconds: opts.seconds, opened, failed, dropped, stillOpen };
}

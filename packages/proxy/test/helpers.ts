import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, createSealer, newToken } from '@matrixos/shared';
import { createProxyApp, createProxyServer, type ProxyApp } from '../src/app.ts';
import type { BudgetNotifier } from '../src/budget/notifier.ts';
import { loadConfig } from '../src/config.ts';
import { type Db, openDb } from '../src/db/openDb.ts';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789abcdef';
export const PLATFORM_KEY = 'sk-ant-platform-key-for-tests';
export const ANTHROPIC_VERSION = '2023-06-01';

export interface TestProxy {
  url: string;
  app: ProxyApp;
  db: Db;
  dir: string;
  dbFile: string;
  /** Registers a handle through the admin API, as the platform does, and returns its token. */
  register(handle: string): Promise<string>;
  /** A Messages API call as an instance makes it. */
  messages(
    token: string,
    body: unknown,
    init?: { headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Response>;
  admin(method: string, urlPath: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  notifier?: BudgetNotifier;
  /** Reuse a data directory (a restart); it is then left in place on close. */
  dir?: string;
  secretKey?: Buffer;
}

/** A real proxy on loopback with its own SQLite file in a fresh temporary directory. */
export async function startProxy(upstreamUrl: string, o: StartOptions = {}): Promise<TestProxy> {
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), 'proxy-test-'));
  const config = loadConfig({
    DATA_DIR: dir,
    ANTHROPIC_UPSTREAM_URL: upstreamUrl,
    ANTHROPIC_API_KEY: PLATFORM_KEY,
    PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN,
    ...o.env,
  });
  const db = openDb(config.dbFile);
  const app = createProxyApp({
    db,
    config,
    log: createLogger('proxy-test'),
    sealer: createSealer(o.secretKey ?? randomBytes(32)),
    notifier: o.notifier,
  });
  const server = createProxyServer(app, config);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const admin = (method: string, urlPath: string, body?: unknown) =>
    fetch(url + urlPath, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  return {
    url,
    app,
    db,
    dir,
    dbFile: config.dbFile,
    admin,
    async register(handle) {
      const token = newToken('mxp');
      const res = await admin('PUT', `/keys/${handle}`, { token });
      if (res.status !== 200) throw new Error(`register ${handle}: ${res.status} ${await res.text()}`);
      return token;
    },
    messages(token, body, init = {}) {
      return fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': token,
          'anthropic-version': ANTHROPIC_VERSION,
          'content-type': 'application/json',
          ...init.headers,
        },
        body: JSON.stringify(body),
        signal: init.signal,
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      db.$client.close();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls until `check` returns (or resolves to) a value that is not undefined/false, or fails after
 * `timeoutMs`: a condition that never comes fails the test, it never falls through.
 */
export async function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Reads a streamed body until `enough(textSoFar)` says so, then returns what arrived. */
export async function readUntil(res: Response, enough: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!enough(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

import { randomBytes } from 'node:crypto';
import type { Logger, Sealer } from '@matrixos/shared';
import type { MatrixCredentials } from './homeserverClient.ts';
import { createHomeserverClient, HomeserverError } from './homeserverClient.ts';
import type { MatrixAccountStore } from './matrixAccountStore.ts';

export interface HomeserverConfig {
  /** Where the platform reaches the homeserver's client API (loopback, in the embedded setup). */
  url: string;
  /** The `:server` part of user ids. */
  serverName: string;
  registrationToken: string;
}

export type HomeserverState =
  | { status: 'not_configured' }
  | { status: 'ok'; serverName: string; checkedAt: string }
  | { status: 'unreachable'; serverName: string; error: string; checkedAt: string };

/** What each sealed secret is bound to: moved to another row or column, it will not open. */
const userContext = (handle: string) => `matrix-user:${handle}`;
const aiContext = (handle: string) => `matrix-ai:${handle}`;

/** How often /health's view of the homeserver is refreshed (answered from memory in between). */
const CHECK_EVERY_MS = 15_000;

/**
 * The platform's side of Matrix: each user's `@{handle}` and `@{handle}_ai`, registered once and
 * sealed at rest, handed to that user's instance only (`instanceEnv`), deactivated when the user
 * goes; and the homeserver's state for /health.
 */
export function createHomeserver(deps: {
  config: HomeserverConfig;
  accounts: MatrixAccountStore;
  sealer: Sealer;
  log: Logger;
  /** Where instances reach the homeserver (the platform's relay on the host), for their env. */
  instanceUrl: () => string | undefined;
  clock?: () => number;
}) {
  const { config, accounts, sealer, log } = deps;
  const clock = deps.clock ?? Date.now;
  const client = createHomeserverClient({ baseUrl: config.url, registrationToken: config.registrationToken });
  const inFlight = new Map<string, Promise<void>>();
  let state: HomeserverState = {
    status: 'unreachable',
    serverName: config.serverName,
    error: 'not checked yet',
    checkedAt: new Date(clock()).toISOString(),
  };
  let timer: NodeJS.Timeout | undefined;

  const mxid = (localpart: string) => `@${localpart}:${config.serverName}`;
  const password = () => randomBytes(24).toString('base64url');
  const seal = (c: MatrixCredentials, context: string) =>
    sealer.seal(
      JSON.stringify({ password: c.password, accessToken: c.accessToken, deviceId: c.deviceId }),
      context,
    );
  function open(sealed: string, context: string, userId: string): MatrixCredentials {
    return { userId, ...(JSON.parse(sealer.open(sealed, context)) as Omit<MatrixCredentials, 'userId'>) };
  }

  async function register(handle: string): Promise<void> {
    if (accounts.get(handle)) return;
    // Both or neither: a half-made pair is closed again, so the next try starts clean.
    const user = await client.register(handle, password(), 'Matrix OS platform');
    let ai: MatrixCredentials;
    try {
      ai = await client.register(`${handle}_ai`, password(), `Matrix OS instance of ${handle}`);
    } catch (err) {
      await client.deactivate(user).catch((e) => log.error({ err: e, handle }, 'could not undo @handle'));
      throw err;
    }
    accounts.insert({
      handle,
      userId: user.userId,
      userSecretSealed: seal(user, userContext(handle)),
      aiUserId: ai.userId,
      aiSecretSealed: seal(ai, aiContext(handle)),
      createdAt: clock(),
    });
    log.info({ handle, userId: user.userId, aiUserId: ai.userId }, 'matrix accounts registered');
  }

  const resets = new Map<string, Promise<{ userId: string; password: string } | null>>();
  async function resetOwner(handle: string): Promise<{ userId: string; password: string } | null> {
    const row = accounts.get(handle);
    if (!row) return null;
    let current = open(row.userSecretSealed, userContext(handle), row.userId);
    const next = password();
    try {
      await client.changePassword(current, next);
    } catch (err) {
      // The platform's device was signed out (e.g. "sign out other sessions" in Element): sign
      // in again with the password, which still works, and keep the new device's token.
      if (!(err instanceof HomeserverError && err.errcode === 'M_UNKNOWN_TOKEN')) throw err;
      current = await client.login(current.userId, current.password, 'Matrix OS platform');
      await client.changePassword(current, next);
    }
    accounts.setUserSecret(handle, seal({ ...current, password: next }, userContext(handle)));
    log.info({ handle, userId: current.userId }, 'matrix owner password reset');
    return { userId: current.userId, password: next };
  }

  async function check(): Promise<HomeserverState> {
    const checkedAt = new Date(clock()).toISOString();
    try {
      await client.versions();
      state = { status: 'ok', serverName: config.serverName, checkedAt };
    } catch (err) {
      state = {
        status: 'unreachable',
        serverName: config.serverName,
        error: (err as Error).message,
        checkedAt,
      };
    }
    return state;
  }

  return {
    serverName: config.serverName,
    mxid,
    /**
     * Registers the user's two accounts unless they exist. One registration at a time per handle
     * (a sign-up and the backfill may ask together).
     */
    ensure(handle: string): Promise<void> {
      const running = inFlight.get(handle);
      if (running) return running;
      const p = register(handle).finally(() => inFlight.delete(handle));
      inFlight.set(handle, p);
      return p;
    },
    /** Registers whoever lacks accounts (users from before Matrix), one at a time; failures logged. */
    async backfill(handles: string[]): Promise<{ registered: string[]; failed: string[] }> {
      const registered: string[] = [];
      const failed: string[] = [];
      for (const handle of handles) {
        if (accounts.get(handle)) continue;
        try {
          await this.ensure(handle);
          registered.push(handle);
        } catch (err) {
          failed.push(handle);
          log.error({ err, handle }, 'could not register matrix accounts');
        }
      }
      return { registered, failed };
    },
    /** Closes both accounts for good and forgets them. Already-closed accounts are fine. */
    async deactivate(handle: string): Promise<void> {
      const row = accounts.get(handle);
      if (!row) return;
      await client.deactivate(open(row.aiSecretSealed, aiContext(handle), row.aiUserId));
      await client.deactivate(open(row.userSecretSealed, userContext(handle), row.userId));
      accounts.delete(handle);
      log.info({ handle }, 'matrix accounts deactivated');
    },
    /** `@{handle}_ai`'s credentials for that instance's environment; nothing of `@{handle}`. */
    instanceEnv(handle: string): Record<string, string> {
      const row = accounts.get(handle);
      const url = deps.instanceUrl();
      if (!row || !url) return {};
      const ai = open(row.aiSecretSealed, aiContext(handle), row.aiUserId);
      return {
        MATRIX_HOMESERVER_URL: url,
        MATRIX_USER_ID: ai.userId,
        MATRIX_ACCESS_TOKEN: ai.accessToken,
        MATRIX_DEVICE_ID: ai.deviceId,
        MATRIX_OWNER_ID: row.userId,
      };
    },
    /** The owner's own `@{handle}` login, for their Matrix client (never given to an instance). */
    ownerLogin(handle: string): { userId: string; password: string } | null {
      const row = accounts.get(handle);
      if (!row) return null;
      const { userId, password: pw } = open(row.userSecretSealed, userContext(handle), row.userId);
      return { userId, password: pw };
    },
    /** The owner's `@{handle}` id, without its secret; null when it has none (yet). */
    ownerId(handle: string): string | null {
      return accounts.get(handle)?.userId ?? null;
    },
    /**
     * Gives `@{handle}` a new random password on the homeserver, seals it, and returns it (the
     * owner's dashboard shows it once). One at a time per handle: two at once would race on the
     * old password.
     */
    resetOwnerPassword(handle: string): Promise<{ userId: string; password: string } | null> {
      const running = resets.get(handle);
      if (running) return running;
      const p = resetOwner(handle).finally(() => resets.delete(handle));
      resets.set(handle, p);
      return p;
    },
    /** The last known state (refreshed every 15 s once started). */
    current: (): HomeserverState => state,
    check,
    start(): void {
      void check();
      timer = setInterval(() => void check(), CHECK_EVERY_MS);
      timer.unref();
    },
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}

export type Homeserver = ReturnType<typeof createHomeserver>;
export { HomeserverError };

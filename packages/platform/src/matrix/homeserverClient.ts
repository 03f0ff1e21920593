/** A Matrix account the platform made: its id, and what logs it in (kept sealed by the caller). */
export interface MatrixCredentials {
  userId: string;
  password: string;
  accessToken: string;
  deviceId: string;
}

/** What the homeserver refused, with Matrix's own error code (M_USER_IN_USE, M_FORBIDDEN, ...). */
export class HomeserverError extends Error {
  readonly status: number;
  readonly errcode: string;
  constructor(status: number, errcode: string, message: string) {
    super(message);
    this.status = status;
    this.errcode = errcode;
  }
}

/** Each call to the homeserver waits at most this long: a hung homeserver must not hold a sign-up. */
const CALL_TIMEOUT_MS = 10_000;

/**
 * The homeserver through the standard client-server API only, so that any homeserver works
 * (Synapse, or a Conduit-family one): accounts are made with `m.login.registration_token`
 * (spec v1.2) and closed with the account's own password (`/account/deactivate`), no admin API.
 */
export function createHomeserverClient(opts: { baseUrl: string; registrationToken: string }) {
  const base = opts.baseUrl.replace(/\/+$/, '');

  async function call(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { errcode: 'M_NOT_JSON', error: text.slice(0, 200) };
    }
    return { status: res.status, body: parsed };
  }

  const fail = (r: { status: number; body: Record<string, unknown> }, what: string) =>
    new HomeserverError(
      r.status,
      String(r.body.errcode ?? 'M_UNKNOWN'),
      `${what}: ${r.status} ${String(r.body.errcode ?? '')} ${String(r.body.error ?? '')}`.trim(),
    );

  /**
   * Runs a user-interactive auth flow: the first call learns the session and the stages, then
   * each stage the client can do (the registration token, the password, a dummy) is offered.
   */
  async function interactive(
    path: string,
    body: Record<string, unknown>,
    stage: (type: string, session: string) => Record<string, unknown> | null,
    token?: string,
  ) {
    let r = await call('POST', path, body, token);
    for (let round = 0; round < 4 && r.status === 401 && typeof r.body.session === 'string'; round++) {
      const session = r.body.session;
      const done = new Set((r.body.completed as string[] | undefined) ?? []);
      const flows = (r.body.flows as { stages: string[] }[] | undefined) ?? [];
      const next = flows
        .map((f) => f.stages.find((s) => !done.has(s)))
        .find((s): s is string => s !== undefined && stage(s, session) !== null);
      if (!next) break;
      r = await call('POST', path, { ...body, auth: stage(next, session) }, token);
    }
    return r;
  }

  return {
    /** Makes `@localpart:server` with this password; M_USER_IN_USE when the name is taken. */
    async register(localpart: string, password: string, deviceName: string): Promise<MatrixCredentials> {
      const r = await interactive(
        '/_matrix/client/v3/register?kind=user',
        { username: localpart, password, initial_device_display_name: deviceName, inhibit_login: false },
        (type, session) =>
          type === 'm.login.registration_token'
            ? { type, token: opts.registrationToken, session }
            : type === 'm.login.dummy'
              ? { type, session }
              : null,
      );
      if (r.status !== 200) throw fail(r, `registering ${localpart}`);
      return {
        userId: String(r.body.user_id),
        password,
        accessToken: String(r.body.access_token),
        deviceId: String(r.body.device_id),
      };
    },
    /** Closes the account for good (its name is never given out again), with its own password. */
    async deactivate(account: Pick<MatrixCredentials, 'userId' | 'password' | 'accessToken'>) {
      const r = await interactive(
        '/_matrix/client/v3/account/deactivate',
        { erase: false },
        withPassword(account),
        account.accessToken,
      );
      // Already gone (a token that no longer works) is what was asked for.
      if (r.status === 401 && r.body.errcode === 'M_UNKNOWN_TOKEN') return;
      if (r.status !== 200) throw fail(r, `deactivating ${account.userId}`);
    },
    /**
     * Sets a new password with the old one (`/account/password`, m.login.password). The account's
     * other devices are signed out (a new password is what one asks for when the old one may be
     * known); the device of `account.accessToken` stays signed in.
     */
    async changePassword(
      account: Pick<MatrixCredentials, 'userId' | 'password' | 'accessToken'>,
      newPassword: string,
    ): Promise<void> {
      const r = await interactive(
        '/_matrix/client/v3/account/password',
        { new_password: newPassword, logout_devices: true },
        withPassword(account),
        account.accessToken,
      );
      if (r.status !== 200) throw fail(r, `changing the password of ${account.userId}`);
    },
    /** A new access token (and device) for the account, from its password (`/login`). */
    async login(userId: string, password: string, deviceName: string): Promise<MatrixCredentials> {
      const r = await call('POST', '/_matrix/client/v3/login', {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: userId },
        password,
        initial_device_display_name: deviceName,
      });
      if (r.status !== 200) throw fail(r, `signing in ${userId}`);
      return {
        userId,
        password,
        accessToken: String(r.body.access_token),
        deviceId: String(r.body.device_id),
      };
    },
    /** Whether the homeserver answers the client API (`/versions` needs no account). */
    async versions(): Promise<string[]> {
      const r = await call('GET', '/_matrix/client/versions');
      if (r.status !== 200) throw fail(r, 'versions');
      return (r.body.versions as string[] | undefined) ?? [];
    },
  };
}

export type HomeserverClient = ReturnType<typeof createHomeserverClient>;

/** Answers a user-interactive auth flow's `m.login.password` stage with the account's own password. */
function withPassword(account: Pick<MatrixCredentials, 'userId' | 'password'>) {
  return (type: string, session: string) =>
    type === 'm.login.password'
      ? { type, identifier: { type: 'm.id.user', user: account.userId }, password: account.password, session }
      : null;
}

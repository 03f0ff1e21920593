import http from 'node:http';
import type { Duplex } from 'node:stream';
import {
  INSTANCE_PASS_TTL_S,
  INSTANCE_REFRESH_PATH,
  instancePassKey,
  type Logger,
  safeReturnPath,
  signInstancePass,
} from '@matrixos/shared';
import { serialize } from 'hono/utils/cookie';
import { createProxyServer } from 'http-proxy-3';
import { cookieNames } from '../accounts/cookieNames.ts';
import { BRIDGE_PATH, type InstanceAccess } from '../accounts/instanceAccess.ts';
import type { SessionEvents } from '../accounts/sessions.ts';
import { instanceUrl, type PlatformConfig } from '../config.ts';
import type { Activity } from '../lifecycle/activity.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { PlatformMetrics } from '../metrics/platformMetrics.ts';
import type { Orchestrator, Progress } from '../orchestrator/orchestrator.ts';
import type { Endpoint } from '../runtime/driver.ts';
import { type Access, type Authorized, createAuthorizer } from './authorize.ts';
import { filterResponseHeaders } from './filterResponseHeaders.ts';
import { connectionTokens, createForwarder, hasRequestBody } from './forward.ts';
import { closeResponse, closeWebSocket, createOpenSockets } from './openSockets.ts';
import { linkExpiredPage, notFoundPage, type RenderedPage, unavailablePage, wakingPage } from './pages.ts';
import { requestIdOf } from './requestId.ts';
import type { Target } from './resolveTarget.ts';

export interface RouterDeps {
  orchestrator: Orchestrator;
  lifecycle: Lifecycle;
  activity: Activity;
  config: Pick<PlatformConfig, 'publicUrl' | 'trustProxy' | 'lifecycle'>;
  access: InstanceAccess;
  log: Logger;
  /** Revocations and role changes: open WebSockets of the session (or user) are closed at once. */
  sessionEvents?: SessionEvents;
  /** Counts requests (status class, time) and open WebSockets. */
  metrics?: Pick<PlatformMetrics, 'routerRequest' | 'webSocketOpened'>;
  /**
   * With a native edge in front: a request on an instance's host reached the router although the
   * instance runs (the edge lost its route, after a restart), so the edge is given it again.
   */
  onRouteMissed?: (handle: string, endpoint: Endpoint) => void;
  /** What passes are signed and checked against (tests move it forward). */
  clock?: () => number;
}

/** Where the "waking up" page listens for progress, on the instance's own host. */
export const WAKE_EVENTS_PATH = '/.well-known/matrixos/wake';

/** A browser waits this long for a wake before it is shown the "waking up" page instead. */
const BROWSER_GRACE_MS = 1000;

// Request headers that describe one hop, not the request (RFC 9110 §7.6.1), plus `upgrade` on
// plain requests (h2c attempts): never forwarded.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer'];
const FORWARDED = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
];

// Errors that mean the instance is not where we thought (crashed, stopped, moved).
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

// Errors that mean nothing was sent: the request can go again, to wherever the instance is now.
const CONNECT_FAILED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const targetOf = new WeakMap<http.IncomingMessage, Target>();
const whereOf = new WeakMap<http.IncomingMessage, 'instance-host' | 'control-plane'>();

/**
 * Forwards requests for `{handle}.{domain}` (and `/proxy/{handle}/...`) to the instance, HTTP
 * and WebSocket, streaming both ways. A sleeping instance is woken first: API clients wait,
 * browsers see a live "waking up" page when it takes more than a moment.
 */
export function createRouter(deps: RouterDeps) {
  const { orchestrator, lifecycle, activity, config, log } = deps;
  const wakeTimeoutMs = config.lifecycle.wakeTimeoutMs;
  // Plain HTTP, the hot path, goes through the forwarder; WebSockets through http-proxy-3
  // (upgrade handshake, socket lifetimes). X-Forwarded-* are set in `prepare` for both.
  const forwarder = createForwarder();
  const secure = config.publicUrl.protocol === 'https:';
  const hostOf = (handle: string) => new URL(instanceUrl(config, handle)).host;
  const clock = deps.clock ?? Date.now;
  const authorize = createAuthorizer({ access: deps.access, secure, hostOf, clock });
  const passCookie = cookieNames(secure).instance;
  const proxy = createProxyServer({ connectTimeout: 2000 });

  function onUpstreamError(err: Error, req: http.IncomingMessage, res: http.ServerResponse | Duplex): void {
    const code = (err as NodeJS.ErrnoException).code;
    const target = targetOf.get(req);
    const handle = target?.handle;
    // The instance went away under us (crashed, or stopped behind our back): forget where it
    // was, so the next request wakes it instead of failing again.
    if (handle && code && UNREACHABLE.has(code)) orchestrator.invalidate(handle);
    if (!(res instanceof http.ServerResponse)) {
      res.destroy();
      return;
    }
    // Mid-response, or the client already left: nothing useful can be said any more.
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    log.warn({ handle, reqId: requestIdOf(req), code, err: err.message }, 'upstream error');
    if (target && wantsHtml(req))
      sendPage(res, 503, wakingPage(target.handle, `${target.prefix}${WAKE_EVENTS_PATH}`));
    else
      sendJson(res, 502, 'instance_unreachable', 'the instance did not answer; retry in a moment', {
        'retry-after': '1',
      });
  }
  proxy.on('error', (err, req, res) => onUpstreamError(err, req, res));
  // The instance's answer to a WebSocket handshake (101 or not) is filtered like any response:
  // these run before http-proxy-3 copies the headers to the client.
  proxy.on('proxyReqWs', (proxyReq, req) => {
    const where = whereOf.get(req) ?? 'control-plane';
    const filter = (res: http.IncomingMessage) => filterResponseHeaders(res.headers, where);
    proxyReq.prependListener('upgrade', filter);
    proxyReq.prependListener('response', filter);
  });

  const sockets = createOpenSockets();
  const onRevoked = ({ familyId }: { familyId: string }) =>
    sockets.close((s) => s.session?.familyId === familyId, 'session revoked');
  const onChanged = ({ userId }: { userId: string }) =>
    sockets.close(
      (s) => s.session?.userId === userId && !deps.access.viewer(s.session.sessionId, s.handle),
      'access revoked',
    );
  const onDestroyed = (handle: string) => sockets.close((s) => s.handle === handle, 'instance removed');
  deps.sessionEvents?.on('revoked', onRevoked);
  deps.sessionEvents?.on('changed', onChanged);
  orchestrator.events.on('destroyed', onDestroyed);

  function prepare(req: http.IncomingMessage, target: Target, isUpgrade: boolean): void {
    req.url = target.url;
    const h = req.headers;
    if (h.connection) for (const n of connectionTokens(h.connection)) if (n !== 'upgrade') delete h[n];
    for (const name of HOP_BY_HOP) delete h[name];
    if (isUpgrade) h.connection = 'upgrade';
    else delete h.upgrade;
    // Who asked, as this router saw it; what a peer claims is kept only from a trusted edge.
    const trusted = config.trustProxy;
    if (!trusted) for (const name of FORWARDED) delete h[name];
    const peer = req.socket.remoteAddress ?? '';
    h['x-forwarded-for'] = trusted && h['x-forwarded-for'] ? `${h['x-forwarded-for']}, ${peer}` : peer;
    h['x-forwarded-proto'] ??= 'http';
    h['x-forwarded-host'] ??= h.host ?? '';
    h['x-forwarded-port'] ??= String(req.socket.localPort ?? '');
    if (target.prefix) h['x-forwarded-prefix'] = target.prefix;
  }

  /**
   * The session cookie rides along on requests from any page of the same *site* (other tenants'
   * hosts included), so what a cookie allows to change must come from the instance's own origin.
   * Checked here, before the cookie becomes a bearer token: it never depends on the instance.
   */
  function sameOrigin(req: http.IncomingMessage): boolean {
    return req.headers.origin === `${config.publicUrl.protocol}//${req.headers.host}`;
  }

  /** Swaps a bridge token (arriving on the instance's own host) for an instance pass there. */
  async function bridge(req: http.IncomingMessage, res: http.ServerResponse, target: Target): Promise<void> {
    const query = new URL(target.url, 'http://x').searchParams;
    const token = query.get('token');
    const host = req.headers.host ?? '';
    const redeemed = token ? deps.access.redeemBridge(token, host) : null;
    const instanceToken = deps.access.instanceToken(target.handle);
    if (!redeemed || redeemed.handle !== target.handle || !instanceToken) {
      sendPage(res, 403, linkExpiredPage(`${config.publicUrl.origin}/login?next=${target.handle}`));
      return;
    }
    const pass = await signInstancePass(
      instancePassKey(instanceToken),
      {
        host: hostOf(target.handle),
        userId: redeemed.userId,
        sessionId: redeemed.sid,
        role: redeemed.role,
      },
      clock(),
    );
    // The cookie lives as long as the pass: once both are gone the gateway sends the browser
    // through the control plane for a new one (`refresh`).
    const cookie = serialize(passCookie, pass, {
      httpOnly: true,
      secure,
      sameSite: 'Lax',
      path: '/',
      maxAge: INSTANCE_PASS_TTL_S,
    });
    // Off the token's URL at once, so it is neither bookmarked nor sent on as a Referer.
    res.writeHead(303, {
      location: `${target.prefix}${safeReturnPath(query.get('next'))}`,
      'set-cookie': cookie,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    res.end();
  }

  /**
   * Through the control plane for a new pass, back to `next` on this host: what a browser without
   * one (or with one run out) is sent to, by the gateway or here. Signed out, it signs in first.
   */
  function refresh(res: http.ServerResponse, handle: string, next: string | null): void {
    res.writeHead(302, {
      location: `${config.publicUrl.origin}/open/${handle}?next=${encodeURIComponent(safeReturnPath(next))}`,
      'cache-control': 'no-store',
    });
    res.end();
  }

  /** An answer for whoever may not pass: a new pass (browsers) or 401 (API clients). */
  function refuse(req: http.IncomingMessage, res: http.ServerResponse, target: Target): void {
    const { handle } = target;
    if (wantsHtml(req) && !target.prefix) {
      refresh(res, handle, target.url);
      return;
    }
    if (wantsHtml(req)) {
      res.writeHead(302, {
        location: `${config.publicUrl.origin}/login?next=${handle}`,
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    sendJson(
      res,
      401,
      'unauthorized',
      `sign in as the owner of "${handle}", or send its token as Authorization: Bearer`,
      {
        'www-authenticate': 'Bearer realm="matrixos-instance"',
      },
    );
  }

  function known(handle: string): boolean {
    return orchestrator.route(handle) !== undefined || orchestrator.exists(handle);
  }

  /** Where a running instance answers; null when it has to be woken first. */
  function runningEndpoint(handle: string): Endpoint | null {
    const route = orchestrator.route(handle);
    return route?.state === 'running' ? route.endpoint : null;
  }

  /**
   * The control-plane origin never serves bytes an instance produced (a page there would run with
   * the control plane's cookies). `/proxy/{handle}/...` is answered there only for API clients
   * presenting the instance's token, sandboxed; everyone else is sent to the instance's own host.
   */
  function toInstanceHost(res: http.ServerResponse, target: Target): void {
    res.writeHead(307, {
      location: `${instanceUrl(config, target.handle)}${target.url}`,
      'cache-control': 'no-store',
      'content-type': 'text/plain; charset=utf-8',
      'x-content-type-options': 'nosniff',
    });
    res.end();
  }

  /**
   * `/health` for anonymous callers, from what the platform knows: it never forwards an
   * anonymous request (the instance's answer is its owner's code), and never wakes one.
   */
  function platformHealth(res: http.ServerResponse, handle: string): void {
    let row: { state: string; image: string } | undefined;
    try {
      row = orchestrator.get(handle);
    } catch {
      row = undefined; // removed meanwhile: what the route says is all there is
    }
    const state = orchestrator.route(handle)?.state ?? row?.state ?? 'stopped';
    sendJson200(res, { status: state === 'running' ? 'ok' : 'sleeping', handle, state, image: row?.image });
  }

  /** Wakes the instance for this request: the endpoint, or null when an answer was already sent. */
  async function wakeFor(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    target: Target,
  ): Promise<Endpoint | null> {
    const { handle } = target;
    const waking = lifecycle.wake(handle);
    const html = wantsHtml(req);
    try {
      const endpoint = await withTimeout(waking, html ? BROWSER_GRACE_MS : wakeTimeoutMs);
      return res.destroyed ? null : endpoint;
    } catch (err) {
      if (res.destroyed) return null;
      if (err instanceof WaitTimeout && html) {
        waking.catch(() => undefined); // its progress and failure reach the page over SSE
        sendPage(res, 503, wakingPage(handle, `${target.prefix}${WAKE_EVENTS_PATH}`), {
          'retry-after': '2',
        });
      } else if (err instanceof WaitTimeout) {
        sendJson(res, 503, 'wake_timeout', `instance "${handle}" did not wake within ${wakeTimeoutMs} ms`, {
          'retry-after': '5',
        });
      } else if (html) {
        sendPage(res, 503, unavailablePage(handle, 'It could not be started just now.'));
      } else {
        sendJson(res, 503, 'instance_unavailable', `instance "${handle}" could not be started`, {
          'retry-after': '5',
        });
      }
      return null;
    }
  }

  async function web(req: http.IncomingMessage, res: http.ServerResponse, target: Target): Promise<void> {
    deps.metrics?.routerRequest(res);
    const { handle } = target;
    if (!known(handle)) {
      if (wantsHtml(req)) sendPage(res, 404, notFoundPage(handle, config.publicUrl.origin));
      else sendJson(res, 404, 'not_found', `no instance "${handle}"`);
      return;
    }
    const where = target.prefix ? 'control-plane' : 'instance-host';
    let allowed: Access | undefined;
    if (where === 'control-plane') {
      allowed = (await authorize(req, handle, target.url)).access;
      if (allowed !== 'token') {
        toInstanceHost(res, target);
        return;
      }
    }
    if (target.redirect) {
      res.writeHead(301, { location: target.redirect });
      res.end();
      return;
    }
    if (where === 'instance-host' && isPath(target.url, BRIDGE_PATH)) {
      await bridge(req, res, target);
      return;
    }
    if (where === 'instance-host' && isPath(target.url, INSTANCE_REFRESH_PATH)) {
      refresh(res, handle, new URL(target.url, 'http://x').searchParams.get('next'));
      return;
    }
    let session: Authorized['session'];
    if (!allowed) ({ access: allowed, session } = await authorize(req, handle, target.url));
    if (allowed === 'refuse') {
      refuse(req, res, target);
      return;
    }
    if (allowed === 'session' && !SAFE_METHODS.has(req.method ?? '') && !sameOrigin(req)) {
      sendJson(res, 403, 'cross_origin', 'a signed-in browser may change things here only from this origin');
      return;
    }
    if (allowed === 'health') {
      platformHealth(res, handle);
      return;
    }
    if (isPath(target.url, WAKE_EVENTS_PATH)) {
      wakeEvents(req, res, handle);
      return;
    }
    activity.begin(handle);
    res.once('close', () => activity.end(handle));
    // A browser's event stream or long poll ends with its session, like its WebSocket.
    if (session) sockets.add(res, { handle, session, close: closeResponse(res) });
    const running = runningEndpoint(handle);
    if (running && where === 'instance-host') deps.onRouteMissed?.(handle, running);
    const endpoint = running ?? (await wakeFor(req, res, target));
    if (!endpoint) return;
    targetOf.set(req, target);
    prepare(req, target, false);
    // A request without a body can be sent again: when the address we had is dead (the instance
    // was stopped or removed behind our back), forget it and wake the instance for this request.
    const retryable = !hasRequestBody(req);
    const send = (to: Endpoint, retried: boolean) =>
      forwarder.forward(req, res, to, where, (err) => {
        if (
          !retried &&
          retryable &&
          CONNECT_FAILED.has(err.code ?? '') &&
          !res.headersSent &&
          !res.destroyed
        ) {
          log.info(
            { handle, reqId: requestIdOf(req), code: err.code },
            'instance address is stale: waking it for this request',
          );
          orchestrator.invalidate(handle);
          void wakeFor(req, res, target).then((again) => {
            if (again) send(again, true);
          });
          return;
        }
        onUpstreamError(err, req, res);
      });
    send(endpoint, false);
  }

  async function ws(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: Target): Promise<void> {
    const { handle } = target;
    if (!known(handle)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const { access: allowed, session } = await authorize(req, handle, target.url);
    // On the control-plane origin only the instance token opens a socket (no browser sends one).
    const ok = target.prefix ? allowed === 'token' : allowed === 'session' || allowed === 'token';
    if (!ok) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (allowed === 'session' && !sameOrigin(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    activity.begin(handle);
    socket.once('close', () => activity.end(handle));
    let endpoint = runningEndpoint(handle);
    if (endpoint && !target.prefix) deps.onRouteMissed?.(handle, endpoint);
    if (!endpoint) {
      try {
        endpoint = await withTimeout(lifecycle.wake(handle), wakeTimeoutMs);
      } catch {
        socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n',
        );
        return;
      }
      if (socket.destroyed) return;
    }
    // Revoked while it woke: the socket is never opened.
    if (session && !deps.access.viewer(session.sessionId, handle)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.add(socket, { handle, session, close: closeWebSocket(socket) });
    deps.metrics?.webSocketOpened(socket);
    targetOf.set(req, target);
    whereOf.set(req, target.prefix ? 'control-plane' : 'instance-host');
    prepare(req, target, true);
    proxy.ws(req, socket, head, { target: { host: endpoint.host, port: endpoint.port } });
  }

  /** Server-sent progress of a wake, for the "waking up" page; it also starts the wake. */
  function wakeEvents(req: http.IncomingMessage, res: http.ServerResponse, handle: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const send = (p: Pick<Progress, 'step' | 'message'>) =>
      res.write(`event: progress\ndata: ${JSON.stringify(p)}\n\n`);
    const onProgress = (p: Progress) => {
      if (p.handle === handle && p.step !== 'ready' && p.step !== 'failed') send(p);
    };
    const heartbeat = setInterval(() => res.write(': still waking\n\n'), 15_000);
    const done = () => {
      clearInterval(heartbeat);
      orchestrator.events.off('progress', onProgress);
      res.end();
    };
    req.once('close', done);
    if (runningEndpoint(handle)) {
      send({ step: 'ready', message: 'Ready' });
      done();
      return;
    }
    const last = orchestrator.lastProgress(handle);
    if (last && last.step !== 'ready' && last.step !== 'failed') send(last);
    orchestrator.events.on('progress', onProgress);
    lifecycle
      .wake(handle)
      .then(
        () => send({ step: 'ready', message: 'Ready' }),
        () => send({ step: 'failed', message: 'Your instance could not be started.' }),
      )
      .finally(done);
  }

  return {
    web,
    ws,
    /** Open instance WebSockets and browser responses in flight (what revocation closes). */
    openSockets: () => sockets.size,
    /**
     * Ends every open WebSocket and stream with "service restart" (1012): the platform is stopping,
     * and an upgraded connection would otherwise hold its close forever. The shell reconnects.
     */
    drain: (): number => sockets.close(() => true, 'the platform is restarting', 1012),
    close: () => {
      deps.sessionEvents?.off('revoked', onRevoked);
      deps.sessionEvents?.off('changed', onChanged);
      orchestrator.events.off('destroyed', onDestroyed);
      return forwarder.close();
    },
  };
}

export type Router = ReturnType<typeof createRouter>;

/** `path` exactly, or with a query. */
function isPath(url: string, path: string): boolean {
  return url === path || url.startsWith(`${path}?`);
}

function wantsHtml(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  return (
    req.headers['sec-fetch-mode'] === 'navigate' || String(req.headers.accept ?? '').includes('text/html')
  );
}

function sendPage(
  res: http.ServerResponse,
  status: number,
  page: RenderedPage,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': page.csp,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(page.html);
}

function sendJson200(res: http.ServerResponse, body: object): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra });
  res.end(JSON.stringify({ error: { code, message } }));
}

class WaitTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new WaitTimeout(`timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

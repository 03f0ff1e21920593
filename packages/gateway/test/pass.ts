import { type IncomingHttpHeaders, request } from 'node:http';
import { instancePassKey, signInstancePass } from '@matrixos/shared';
import type { GatewayConfig } from '../src/config.ts';
import { startGateway, type TestGateway } from './harness.ts';

/** The host the platform gives the test instance, as browsers see it (MATRIXOS_PUBLIC_URL's). */
export const ANN_HOST = 'ann.localhost:9000';
/** What a browser on that host sends: its Origin, and the edge's X-Forwarded-Host. */
export const FROM_ANN = { origin: `http://${ANN_HOST}`, 'x-forwarded-host': ANN_HOST };

/** A gateway in platform mode, as the platform starts one (it always sets the public URL). */
export function startPlatformGateway(
  overrides: Partial<GatewayConfig> = {},
  reuse: { now?: () => number; reportEveryMs?: number } = {},
): Promise<TestGateway> {
  return startGateway(
    { mode: 'platform', handle: 'ann', publicUrl: `http://${ANN_HOST}`, ...overrides },
    reuse,
  );
}

/**
 * The `Cookie` header of a browser holding a pass the platform signed for `gw` (by default: its
 * own key, its host, session `s1`, now, for the usual hour).
 */
export async function passCookie(
  gw: Pick<TestGateway, 'token'>,
  pass: {
    token?: string;
    host?: string;
    sid?: string;
    role?: 'user' | 'admin';
    ttlS?: number;
    at?: number;
  } = {},
): Promise<string> {
  const jwt = await signInstancePass(
    instancePassKey(pass.token ?? gw.token),
    {
      host: pass.host ?? ANN_HOST,
      userId: 'u_ann',
      sessionId: pass.sid ?? 's1',
      role: pass.role ?? 'user',
      ...(pass.ttlS ? { ttlS: pass.ttlS } : {}),
    },
    pass.at ?? Date.now(),
  );
  return `mx_pass=${jwt}`;
}

/**
 * A page load as a browser sends it (`Sec-Fetch-Mode: navigate`, which fetch replaces by its own),
 * not following redirects: its status and headers.
 */
export function pageLoad(
  gw: Pick<TestGateway, 'url'>,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, method, path, headers: { 'sec-fetch-mode': 'navigate', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

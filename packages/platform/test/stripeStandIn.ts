import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';

const SCRIPT = fileURLToPath(new URL('../../../scripts/stripe-mock.sh', import.meta.url));

/** What a test says a subscription is now (stripe-mock is stateless: it answers from fixtures). */
export interface SubscriptionState {
  status: string;
  priceId: string;
  customer: string;
  cancelAtPeriodEnd?: boolean;
  /** Seconds since the epoch. */
  periodEnd?: number;
}

export type StripeStandIn = Awaited<ReturnType<typeof startStripeStandIn>>;

/**
 * The real stripe-mock (scripts/stripe-mock.sh builds it), behind a thin wire-level layer that
 * answers `GET /v1/subscriptions/:id` with the state a test set, on top of stripe-mock's own
 * answer: stripe-mock keeps no state, and the platform reads a subscription's current state
 * rather than trusting an event. Every request is recorded (method, path, body).
 * Null when stripe-mock cannot be built and REQUIRE_TOOLS is not 1 (then it throws).
 */
export async function startStripeStandIn() {
  let bin: string;
  try {
    bin = execFileSync('bash', [SCRIPT, 'install'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (err) {
    if (process.env.REQUIRE_TOOLS === '1')
      throw new Error(`REQUIRE_TOOLS=1 but stripe-mock did not install: ${err}`);
    console.warn(
      '[tests] stripe-mock is not installed: the billing tests are skipped (set REQUIRE_TOOLS=1 to fail)',
    );
    return null;
  }
  const mockPort = await freePort();
  const child: ChildProcess = spawn(
    bin,
    ['-http-addr', `127.0.0.1:${mockPort}`, '-https-addr', '127.0.0.1:'],
    { stdio: 'ignore' },
  );
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(`${mockUrl}/v1/balance`, { headers: { authorization: 'Bearer sk_test_123' } });
      break;
    } catch (err) {
      if (i > 600) throw new Error(`stripe-mock did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const subscriptions = new Map<string, SubscriptionState>();
  const requests: { method: string; path: string; body: string }[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', path, body: body.toString('utf8') });
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
    ) as Record<string, string>;
    const upstream = await fetch(`${mockUrl}${path}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'DELETE' ? undefined : body,
    });
    let text = await upstream.text();
    const m = /^\/v1\/subscriptions\/([^/?]+)/.exec(path);
    const state = m && req.method === 'GET' ? subscriptions.get(m[1]!) : undefined;
    if (state && upstream.ok) {
      const sub = JSON.parse(text);
      sub.status = state.status;
      sub.customer = state.customer;
      sub.cancel_at_period_end = state.cancelAtPeriodEnd ?? false;
      const item = sub.items.data[0];
      item.price.id = state.priceId;
      item.current_period_end = state.periodEnd ?? Math.floor(Date.now() / 1000) + 30 * 86400;
      text = JSON.stringify(sub);
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setSubscription: (id: string, s: SubscriptionState) => subscriptions.set(id, s),
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      child.kill();
    },
  };
}

import { safeReturnPath, validateHandle } from '@matrixos/shared';
import { type Context, Hono } from 'hono';
import { BRIDGE_PATH, type InstanceAccess } from '../accounts/instanceAccess.ts';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import { instanceUrl, type PlatformConfig } from '../config.ts';
import type { InstanceStore } from '../instances/store.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import { adminPage } from '../pages/adminPage.ts';
import { loadAssets } from '../pages/assets.ts';
import { dashboardPage } from '../pages/dashboardPage.ts';
import { errorPage } from '../pages/errorPage.ts';
import { landingPage } from '../pages/landingPage.ts';
import { type Html, PAGE_HEADERS, type Viewer } from '../pages/layout.ts';
import { loginPage } from '../pages/loginPage.ts';
import { signupPage } from '../pages/signupPage.ts';
import type { Rollouts } from '../rollout/createRollouts.ts';
import { rateLimited } from './rateLimited.ts';
import type { SessionCookies } from './sessionCookies.ts';

export interface PageDeps {
  config: Pick<PlatformConfig, 'publicUrl'>;
  cookies: SessionCookies;
  store: InstanceStore;
  orchestrator: Orchestrator;
  /** The newest rolling image upgrade, shown on the admin page (absent: none shown). */
  rollouts?: Pick<Rollouts, 'latest'>;
  access: Pick<InstanceAccess, 'issueBridge'>;
  limiter: RateLimiter;
}

/** A path of this site to return to after signing in (`/dashboard`); never another origin. */
const LOCAL_PATH = /^\/(?![/\\])[\w\-/]*$/;

/**
 * Where `?next=` may send someone after signing in: an instance (the router sends people here
 * with its handle), or a page of this site. Anything else is dropped, so the sign-in page can
 * never be made to redirect elsewhere.
 */
export function parseNext(value: string | undefined): { next: string | null; nextHandle: string | null } {
  if (!value) return { next: null, nextHandle: null };
  const handle = validateHandle(value);
  if (handle.ok) return { next: handle.handle, nextHandle: handle.handle };
  return LOCAL_PATH.test(value) ? { next: value, nextHandle: null } : { next: null, nextHandle: null };
}

/**
 * The control plane's pages and their static files. Pages follow the API's rules: signed-out
 * visitors of a signed-in page are sent to sign in (and back), the admin page is for admins.
 */
export function pageRoutes(deps: PageDeps) {
  const { config, cookies, store, orchestrator } = deps;
  const assets = loadAssets();
  const hostOf = (handle: string) => new URL(instanceUrl(config, handle)).host;

  async function viewerOf(c: Context): Promise<Viewer | null> {
    const user = await cookies.resolve(c);
    return user ? { handle: user.handle, role: user.role } : null;
  }

  async function send(c: Context, page: Html, status: 200 | 403 = 200) {
    for (const [name, value] of Object.entries(PAGE_HEADERS)) c.header(name, value);
    return c.html(await page, status);
  }

  const signInFirst = (c: Context, next: string) =>
    c.redirect(`/login?next=${encodeURIComponent(next)}`, 302);

  return (
    new Hono()
      .get('/', async (c) => {
        const counts = store.counts();
        return send(
          c,
          landingPage({
            viewer: await viewerOf(c),
            counts: { total: counts.total, awake: counts.running },
            exampleHost: hostOf('alice'),
          }),
        );
      })
      .get('/stats', (c) => {
        const counts = store.counts();
        c.header('Cache-Control', 'no-store');
        return c.json({ instances: { total: counts.total, awake: counts.running } });
      })
      .get('/signup', async (c) => {
        if (await viewerOf(c)) return c.redirect('/dashboard', 302);
        return send(c, signupPage({ hostSuffix: hostOf('x').slice(1) }));
      })
      .get('/login', async (c) => {
        const viewer = await viewerOf(c);
        const { next, nextHandle } = parseNext(c.req.query('next'));
        if (viewer && next && !nextHandle) return c.redirect(next, 302);
        return send(c, loginPage({ viewer, next, nextHandle }));
      })
      /**
       * Where an instance sends a browser whose pass ran out (by way of its refresh path): a new
       * bridge token, straight back to the page it was on. Signed out: sign in first.
       */
      .get('/open/:handle', async (c) => {
        const handle = validateHandle(c.req.param('handle'));
        if (!handle.ok) return c.json({ error: { code: 'bad_handle', message: handle.reason } }, 400);
        const user = await cookies.resolve(c);
        if (!user) return signInFirst(c, handle.handle);
        // A tab refreshes about every INSTANCE_PASS_TTL_S; a loop of redirects would not.
        const gate = deps.limiter.hit(`open:${user.familyId}`, 120, 10 * 60_000);
        if (!gate.ok) throw rateLimited(gate.retryAfterMs);
        const base = new URL(instanceUrl(config, handle.handle));
        const token = deps.access.issueBridge(user, handle.handle, base.host);
        if (!token) {
          const page = errorPage({
            viewer: { handle: user.handle, role: user.role },
            status: 403,
            title: 'Not your instance',
            message: `Only the owner of "${handle.handle}" can open it.`,
          });
          return send(c, page, 403);
        }
        const next = encodeURIComponent(safeReturnPath(c.req.query('next')));
        c.header('Cache-Control', 'no-store');
        c.header('Referrer-Policy', 'no-referrer');
        return c.redirect(`${base.origin}${BRIDGE_PATH}?token=${token}&next=${next}`, 302);
      })
      .get('/dashboard', async (c) => {
        const viewer = await viewerOf(c);
        if (!viewer) return signInFirst(c, '/dashboard');
        return send(c, dashboardPage({ viewer, instanceHost: hostOf(viewer.handle) }));
      })
      .get('/admin', async (c) => {
        const viewer = await viewerOf(c);
        if (!viewer) return signInFirst(c, '/admin');
        if (viewer.role !== 'admin') {
          return send(
            c,
            errorPage({
              viewer,
              status: 403,
              title: 'For administrators only',
              message: 'This page is for the people who run this server. Your account is not one of them.',
            }),
            403,
          );
        }
        return send(
          c,
          adminPage({ viewer, runtime: orchestrator.runtime.kind, rollout: deps.rollouts?.latest() ?? null }),
        );
      })
      .get('/assets/:name', (c) => {
        const asset = assets.get(c.req.param('name'));
        if (!asset) return c.notFound();
        c.header('ETag', asset.etag);
        c.header('Cache-Control', 'no-cache');
        c.header('X-Content-Type-Options', 'nosniff');
        if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
        c.header('Content-Type', asset.type);
        return c.body(new Uint8Array(asset.body));
      })
  );
}

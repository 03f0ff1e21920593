import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Activity } from '../activity.ts';
import type { GatewayConfig } from '../config.ts';
import { VERSION } from '../version.ts';

/** `/`: a public page saying whose instance this is and that it runs. Nothing secret on it. */
export function pageRoutes(deps: {
  config: Pick<GatewayConfig, 'handle' | 'mode'>;
  activity: Activity;
  startedAt: Date;
}): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    );
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    return c.html(page(deps));
  });
  return app;
}

function page({ config, activity, startedAt }: Parameters<typeof pageRoutes>[0]) {
  const mode = config.mode === 'platform' ? 'hosted' : 'self-hosted';
  const tokenHint =
    config.mode === 'single'
      ? html`The token was printed when this instance first started, and is kept in the instance's home under <code>.matrixos/auth-token</code>.`
      : html`Sign in through your Matrix OS account to open it.`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${config.handle} · Matrix OS</title>
<style>
  :root { color-scheme: light dark; --bg: #f5f6f8; --card: #fff; --fg: #1d2330; --muted: #667085; --ok: #12b76a; }
  @media (prefers-color-scheme: dark) { :root { --bg: #0f1115; --card: #181b22; --fg: #e6e8ec; --muted: #98a2b3; } }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--fg);
         font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { width: min(92vw, 34rem); background: var(--card); border-radius: 16px; padding: 2rem 2.25rem;
         box-shadow: 0 1px 2px rgb(0 0 0 / .06), 0 8px 24px rgb(0 0 0 / .08); }
  h1 { margin: 0 0 .25rem; font-size: 1.6rem; letter-spacing: -.01em; }
  .sub { margin: 0 0 1.5rem; color: var(--muted); }
  .state { display: inline-flex; align-items: center; gap: .5rem; font-weight: 600; }
  .dot { width: .65rem; height: .65rem; border-radius: 50%; background: var(--ok); box-shadow: 0 0 0 4px rgb(18 183 106 / .18); }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1.25rem; margin: 1.25rem 0; }
  dt { color: var(--muted); } dd { margin: 0; font-variant-numeric: tabular-nums; }
  p.note { color: var(--muted); font-size: .9rem; margin: 0; }
  code { font: .85em ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
</style>
</head>
<body>
<main>
  <h1>@${config.handle}</h1>
  <p class="sub">Matrix OS · ${mode} instance</p>
  <span class="state"><span class="dot"></span>Running</span>
  <dl>
    <dt>Version</dt><dd>${VERSION}</dd>
    <dt>Up since</dt><dd><time datetime="${startedAt.toISOString()}">${startedAt.toUTCString()}</time></dd>
    <dt>Last used</dt><dd><time datetime="${activity.last().toISOString()}">${activity.last().toUTCString()}</time></dd>
  </dl>
  <p class="note">This instance's API needs its access token (<code>Authorization: Bearer …</code>). ${tokenHint}</p>
</main>
</body>
</html>`;
}

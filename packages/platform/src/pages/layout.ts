import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/** What the `html` template gives back (a promise only if a promise was put in). */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The signed-in person a page is shown to (the header shows their links). */
export interface Viewer {
  handle: string;
  role: 'user' | 'admin';
}

export interface PageSpec {
  title: string;
  body: Html;
  viewer: Viewer | null;
  /** Module scripts under `/assets/`, after the shared `lib.js`. */
  scripts?: string[];
  /** Marks the header link of the page being shown. */
  current?: 'dashboard' | 'admin';
  /** Settings for the page's script, as `data-*` attributes of `<body>`. */
  data?: Record<string, string>;
}

/**
 * Security headers of every page: scripts only from files of this origin (no inline code), no
 * framing, nothing loaded from elsewhere. QR codes are `data:` images.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function header(viewer: Viewer | null, current: PageSpec['current']): Html {
  const mark = (name: PageSpec['current']) => (current === name ? html` aria-current="page"` : '');
  const nav = viewer
    ? html`<a href="/dashboard"${mark('dashboard')}>Dashboard</a>
        ${viewer.role === 'admin' ? html`<a href="/admin"${mark('admin')}>Admin</a>` : ''}
        <button type="button" class="btn secondary small" data-signout>Sign out</button>`
    : html`<a href="/login">Sign in</a><a class="btn primary small" href="/signup">Get started</a>`;
  return html`<header class="site-header${viewer ? ' signed-in' : ''}"><div class="bar">
  <a class="brand" href="/"><img src="/assets/icon.svg" alt="Matrix OS" width="26" height="26"><span class="brand-name" aria-hidden="true">Matrix OS</span></a>
  <nav class="site-nav" aria-label="Main">${nav}</nav>
</div></header>`;
}

/** The one layout of every control-plane page. */
export function layout(spec: PageSpec): Html {
  const data = Object.entries(spec.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`);
  const scripts = ['lib.js', ...(spec.scripts ?? [])];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${spec.title} · Matrix OS</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/style.css">
${scripts.map((s) => html`<script type="module" src="/assets/${s}"></script>\n`)}
</head>
<body${data}>
<a class="skip-link" href="#main">Skip to content</a>
${header(spec.viewer, spec.current)}
<noscript><p class="alert warn container">These pages need JavaScript (for passkeys and live updates): please turn it on.</p></noscript>
<main id="main">${spec.body}</main>
<footer class="site-footer"><div class="bar"><span>Matrix OS: a personal AI operating system for everyone here.</span>
<span><a href="/">Home</a> · ${spec.viewer ? html`<a href="/dashboard">Dashboard</a>` : html`<a href="/login">Sign in</a>`}</span></div></footer>
</body>
</html>`;
}

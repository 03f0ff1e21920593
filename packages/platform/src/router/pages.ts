import { randomBytes } from 'node:crypto';

/** The router's own pages. Self-contained (no external assets), readable on a phone. */

const STYLE = `
  :root { color-scheme: light dark; --fg:#1d2330; --muted:#5d6677; --bg:#f6f7fb; --card:#fff; --accent:#3a6df0; }
  @media (prefers-color-scheme: dark) { :root { --fg:#e8ebf2; --muted:#9aa3b5; --bg:#10131a; --card:#181c25; } }
  * { box-sizing: border-box; }
  body { margin:0; min-height:100vh; display:grid; place-items:center; background:var(--bg); color:var(--fg);
         font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; padding: 1.5rem; }
  main { background:var(--card); border-radius:14px; padding:2rem; width:min(28rem,100%);
         box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 8px 24px rgba(0,0,0,.06); }
  h1 { font-size:1.35rem; margin:0 0 .5rem; }
  p { color:var(--muted); margin:.25rem 0 1rem; }
  code { font-size:.95em; }
  ol { list-style:none; padding:0; margin:1rem 0 0; }
  li { padding:.35rem 0; color:var(--muted); display:flex; gap:.6rem; align-items:center; }
  li::before { content:""; width:.7rem; height:.7rem; border-radius:50%; border:2px solid currentColor; flex:none; }
  li.done { color:var(--fg); } li.done::before { background:var(--accent); border-color:var(--accent); }
  li.now { color:var(--fg); font-weight:600; } li.now::before { border-color:var(--accent); animation: pulse 1s infinite alternate; }
  li.failed { color:#d33; } li.failed::before { background:#d33; border-color:#d33; }
  @keyframes pulse { to { opacity:.3; } }
  .elapsed { font-variant-numeric: tabular-nums; }
  a { color: var(--accent); font-weight: 600; }
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string, nonce?: string, script?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head><body><main>${body}</main>${script && nonce ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>`;
}

export interface RenderedPage {
  html: string;
  csp: string;
}

const BASE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Shown to a browser while its instance wakes: live steps from the platform over SSE, then a
 * reload into the instance. Without JavaScript, it refreshes itself.
 */
export function wakingPage(handle: string, eventsUrl: string): RenderedPage {
  const nonce = randomBytes(16).toString('base64');
  const steps = [
    ['creating', 'Creating your instance'],
    ['starting', 'Starting your instance'],
    ['health', 'Waiting for it to answer'],
    ['ready', 'Opening it'],
  ];
  const body = `<h1>Waking up ${handle}</h1>
<p>Your instance was asleep to save resources. This usually takes a second or two. <span class="elapsed" id="elapsed"></span></p>
<noscript><meta http-equiv="refresh" content="2"></noscript>
<ol id="steps">${steps.map(([k, t]) => `<li data-step="${k}"${k === 'creating' ? ' hidden' : ''}>${t}</li>`).join('')}</ol>
<p id="error" hidden></p>`;
  const script = `
const order = ${JSON.stringify(steps.map(([k]) => k))};
const t0 = Date.now();
const elapsed = document.getElementById('elapsed');
const tick = setInterval(() => { elapsed.textContent = '(' + ((Date.now() - t0) / 1000).toFixed(1) + ' s)'; }, 100);
function show(step) {
  // Only an instance the engine lost is created again; a plain wake starts at "starting".
  if (step === 'creating') document.querySelector('[data-step="creating"]').hidden = false;
  const at = order.indexOf(step === 'resuming' ? 'starting' : step);
  document.querySelectorAll('#steps li').forEach((li, i) => {
    li.className = i < at ? 'done' : i === at ? 'now' : '';
  });
}
const es = new EventSource(${JSON.stringify(eventsUrl)});
es.addEventListener('progress', (e) => {
  const p = JSON.parse(e.data);
  if (p.step === 'ready') { show('ready'); es.close(); clearInterval(tick); location.reload(); return; }
  if (p.step === 'failed') {
    es.close(); clearInterval(tick);
    document.querySelectorAll('#steps li.now').forEach((li) => { li.className = 'failed'; });
    const err = document.getElementById('error'); err.hidden = false;
    err.textContent = p.message + ' Reload the page to try again.';
    return;
  }
  show(p.step);
});
es.onerror = () => { es.close(); setTimeout(() => location.reload(), 1500); };
`;
  return {
    html: page(`Waking up ${handle}`, body, nonce, script),
    csp: `${BASE_CSP}; script-src 'nonce-${nonce}'; connect-src 'self'`,
  };
}

export function notFoundPage(handle: string, homeUrl: string): RenderedPage {
  return {
    html: page(
      'No such instance',
      `<h1>No instance called “${handle}”</h1><p>Nobody has claimed this name yet, or it was removed.</p><p><a href="${homeUrl}">Go to Matrix OS</a></p>`,
    ),
    csp: BASE_CSP,
  };
}

export function unavailablePage(handle: string, reason: string): RenderedPage {
  return {
    html: page(
      'Instance unavailable',
      `<h1>${handle} is not answering</h1><p>${escapeHtml(reason)}</p><p>Reload the page to try again. If it keeps happening, contact the operator of this server.</p>`,
    ),
    csp: BASE_CSP,
  };
}

export function linkExpiredPage(loginUrl: string): RenderedPage {
  return {
    html: page(
      'Link expired',
      `<h1>This sign-in link has expired</h1><p>Links that open your instance work once, for a few seconds. Sign in again to get a new one.</p><p><a href="${escapeHtml(loginUrl)}">Sign in</a></p>`,
    ),
    csp: BASE_CSP,
  };
}

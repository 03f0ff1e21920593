import { html } from 'hono/html';
import { type Html, layout, type Viewer } from './layout.ts';

/** A page that says what went wrong and where to go instead (403, 404). */
export function errorPage(d: {
  viewer: Viewer | null;
  status: number;
  title: string;
  message: string;
}): Html {
  const body = html`<div class="auth"><section class="card error-page">
  <p class="code">${d.status}</p>
  <h1>${d.title}</h1>
  <p class="lead">${d.message}</p>
  <div class="actions">
    ${d.viewer ? html`<a class="btn primary" href="/dashboard">Go to your dashboard</a>` : html`<a class="btn primary" href="/login">Sign in</a>`}
    <a class="btn secondary" href="/">Home</a>
  </div>
</section></div>`;
  return layout({ title: d.title, body, viewer: d.viewer });
}

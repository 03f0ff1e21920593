import { html } from 'hono/html';
import { type IconName, icon } from './icons.ts';
import { type Html, layout, type Viewer } from './layout.ts';

export interface LandingData {
  viewer: Viewer | null;
  counts: { total: number; awake: number };
  /** Where an instance called "alice" would be, e.g. `alice.localhost:9000`. */
  exampleHost: string;
}

const FEATURES: [IconName, string, string][] = [
  [
    'globe',
    'An address of your own',
    'Your instance lives at its own address, {host}, and only you can open it.',
  ],
  [
    'moon',
    'Sleeps, then wakes',
    'When you are away it sleeps, so the server stays light; your next visit wakes it in a moment.',
  ],
  [
    'sparkles',
    'An AI of its own',
    'Every instance has its own AI with its own budget. It knows your files and what you asked it before.',
  ],
  [
    'apps',
    'Builds apps for you',
    'Ask for a tracker, a dashboard or a game: it writes the app and puts it on your desktop.',
  ],
  [
    'key',
    'Passkeys, no passwords',
    'Sign in with your fingerprint, face or security key. An authenticator app works too.',
  ],
  [
    'shield',
    'Your data stays yours',
    'Your files live in storage of their own, kept while your instance sleeps, restarts or is upgraded.',
  ],
];

function counter(counts: LandingData['counts']): Html {
  return html`<p class="live" id="live-count" aria-live="polite"><span class="pulse" aria-hidden="true"></span>
<span><strong data-count="total">${counts.total}</strong> <span id="total-noun">${counts.total === 1 ? 'instance' : 'instances'}</span> ·
<strong data-count="awake">${counts.awake}</strong> awake right now</span></p>`;
}

/** A sketch of an instance (no screenshot: the real one is each person's own). */
function mockWindow(exampleHost: string): Html {
  const apps: [IconName, string][] = [
    ['folder', 'Files'],
    ['chat', 'Chat'],
    ['book', 'Reading list'],
    ['tasks', 'Tasks'],
    ['calendar', 'Calendar'],
    ['music', 'Music'],
    ['chart', 'Stats'],
    ['files', 'Notes'],
    ['plus', 'New app'],
  ];
  return html`<div class="mock" aria-hidden="true">
  <div class="mock-bar"><i></i><i></i><i></i><span class="mock-url">${exampleHost}</span></div>
  <div class="mock-body">
    <div class="mock-apps">${apps.map(
      ([name, label]) =>
        html`<div class="mock-app${label === 'Reading list' ? ' new' : ''}"><span>${icon(name, 20)}</span>${label}</div>`,
    )}</div>
    <div class="mock-chat">
      <p class="bubble me">Make me a reading list app</p>
      <p class="bubble ai">Done: “Reading list” is on your desktop, with the three books you mentioned yesterday.</p>
      <p class="bubble me">Remind me on Sunday to pick the next one</p>
      <p class="bubble ai">Scheduled for Sunday at 10:00.</p>
    </div>
  </div>
</div>`;
}

/** `/`: what Matrix OS is, a live count of instances, and the way in. */
export function landingPage(d: LandingData): Html {
  const cta = d.viewer
    ? html`<button type="button" class="btn primary large" data-open-instance>Open your instance</button>
       <a class="btn secondary large" href="/dashboard">Dashboard</a>`
    : html`<a class="btn primary large" href="/signup">Get started</a>
       <a class="btn secondary large" href="/login">Sign in</a>`;
  const body = html`<div class="container">
<section class="hero">
  <div>
    <h1>Your own AI operating system, <em>one per person</em></h1>
    <p class="lead">Matrix OS gives everyone here a personal instance at an address of their own, like
    <strong>${d.exampleHost}</strong>: a desktop in the browser with an AI that works for you, your files,
    and the apps it builds for you.</p>
    <div class="actions">${cta}</div>
    ${counter(d.counts)}
    <p class="msg error" id="open-error" role="alert"></p>
  </div>
  ${mockWindow(d.exampleHost)}
</section>

<h2 class="section-title">What you get</h2>
<div class="features">
${FEATURES.map(
  ([name, title, text]) => html`<article class="feature"><div class="icon">${icon(name)}</div>
<h3>${title}</h3><p>${text.replace('{host}', d.exampleHost)}</p></article>`,
)}
</div>

<h2 class="section-title">How it works</h2>
<ol class="how">
  <li><strong>Pick a handle</strong>It becomes your address, ${d.exampleHost.replace(/^[^.]+/, 'you')}.</li>
  <li><strong>Add a passkey</strong>Your device keeps it; there is no password to remember or leak.</li>
  <li><strong>Land in your instance</strong>It is made for you in seconds, and you are signed in.</li>
</ol>

${
  d.viewer
    ? ''
    : html`<section class="cta"><h2>Ready for your own?</h2><p class="muted">It takes about a minute.</p>
<a class="btn primary large" href="/signup">Create your instance</a></section>`
}
</div>`;
  return layout({ title: 'Your own AI operating system', body, viewer: d.viewer, scripts: ['landing.js'] });
}

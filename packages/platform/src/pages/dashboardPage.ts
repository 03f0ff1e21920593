import { html } from 'hono/html';
import { recoveryCodes, totpSetup } from './authParts.ts';
import { type Html, layout, type Viewer } from './layout.ts';

/**
 * `/dashboard`: the signed-in person's instance (open, start, stop), what its AI costs (budget
 * and a 30-day chart), their plan (when billing is on: Stripe Checkout, the portal), their ways of signing in (passkeys, authenticator app, recovery codes) and
 * their sessions, and their community settings and blocks (`social.js`, `/me/social`). `dashboard.js` fills it from
 * `GET /me` and keeps it current. Changing a way of signing in asks first for a fresh proof of
 * one (the `step-up` dialog) when the session's last one is more than a few minutes old.
 */
export function dashboardPage(d: { viewer: Viewer; instanceHost: string }): Html {
  const body = html`<div class="container">
<div class="page-head">
  <h1>Hello, @${d.viewer.handle}</h1>
  <p>Your instance lives at <strong>${d.instanceHost}</strong>.</p>
</div>
<div class="alert warn" id="notice" role="status" hidden></div>

<div class="columns">
<section class="card" aria-labelledby="instance-title">
  <div class="section-head"><h2 id="instance-title">Your instance</h2><span class="badge" id="instance-state">Loading…</span></div>
  <p class="muted" id="instance-detail"></p>
  <div class="actions">
    <button type="button" class="btn primary" id="instance-open">Open</button>
    <button type="button" class="btn secondary" id="instance-start" hidden>Start</button>
    <button type="button" class="btn secondary" id="instance-stop" hidden>Stop</button>
  </div>
  <p class="msg" id="instance-msg" role="status"></p>
</section>

<section class="card" aria-labelledby="ai-title" id="ai-card" hidden>
  <div class="section-head"><h2 id="ai-title">Your AI</h2><span class="badge plain" id="ai-remaining"></span></div>
  <p class="muted" id="ai-detail"></p>
  <figure class="spend-chart" id="ai-chart">
    <figcaption class="muted">What your AI cost per day, the last 30 days</figcaption>
  </figure>
  <p class="msg" id="ai-msg" role="status"></p>
</section>

<section class="card" aria-labelledby="plan-title" id="plan-card" hidden>
  <div class="section-head"><h2 id="plan-title">Your plan</h2><span class="badge plain" id="plan-name"></span></div>
  <p class="muted" id="plan-detail"></p>
  <p class="muted" id="plan-invoice" hidden></p>
  <ul class="list" id="plans" aria-label="Plans you can subscribe to"></ul>
  <div class="actions"><button type="button" class="btn secondary" id="plan-manage" hidden>Manage billing</button></div>
  <p class="msg" id="plan-msg" role="status"></p>
</section>

<section class="card" aria-labelledby="passkeys-title">
  <h2 id="passkeys-title">Passkeys</h2>
  <p class="muted">Sign in with your fingerprint, face, screen lock or security key.</p>
  <ul class="list" id="passkeys" aria-label="Your passkeys"></ul>
  <form class="inline-form" id="passkey-add" novalidate>
    <div class="field">
      <label for="passkey-name">Name of the new passkey</label>
      <input type="text" id="passkey-name" maxlength="60" placeholder="e.g. Work laptop">
    </div>
    <button type="submit" class="btn secondary">Add a passkey</button>
  </form>
  <p class="msg" id="passkey-msg" role="status"></p>
</section>

<section class="card" aria-labelledby="totp-title">
  <div class="section-head"><h2 id="totp-title">Authenticator app</h2><span class="badge plain" id="totp-state"></span></div>
  <p class="muted" id="totp-detail">Codes from an app such as Google Authenticator, 1Password or Aegis.</p>
  <div class="actions">
    <button type="button" class="btn secondary" id="totp-add" hidden>Set up an authenticator app</button>
    <button type="button" class="btn danger" id="totp-remove" hidden>Remove</button>
  </div>
  <div id="totp-setup" hidden>
    ${totpSetup('dash-totp')}
    <button type="button" class="btn ghost" id="totp-cancel">Cancel</button>
  </div>
  <p class="msg" id="totp-msg" role="status"></p>
</section>

<section class="card" aria-labelledby="identities-title" id="identities-card" hidden>
  <h2 id="identities-title">Sign-in providers</h2>
  <p class="muted">Accounts elsewhere (such as Google) that sign you in here.</p>
  <ul class="list" id="identities" aria-label="Your sign-in providers"></ul>
  <div class="actions" id="identity-links"></div>
  <p class="msg" id="identity-msg" role="status"></p>
</section>

<section class="card" aria-labelledby="codes-title">
  <h2 id="codes-title">Recovery codes</h2>
  <p class="muted" id="codes-left"></p>
  <button type="button" class="btn secondary" id="codes-new">Generate new codes</button>
  <div id="codes-block" hidden>
    <p class="alert warn">Your old codes no longer work. Save these now: they are shown only once.</p>
    ${recoveryCodes('dash-codes')}
  </div>
  <p class="msg" id="codes-msg" role="status"></p>
</section>

<dialog id="step-up" aria-labelledby="step-up-title" aria-describedby="step-up-why">
  <h2 id="step-up-title">Confirm it is you</h2>
  <p class="muted" id="step-up-why">Changing how you sign in needs a fresh check, so that nobody who got hold of this browser's session can take over your account.</p>
  <button type="button" class="btn primary block" id="step-up-passkey" hidden>Use your passkey</button>
  <form id="step-up-form" novalidate hidden>
    <div class="field">
      <label for="step-up-code" id="step-up-label">A code from your authenticator app, or a recovery code</label>
      <input type="text" class="input" id="step-up-code" autocomplete="one-time-code" autocapitalize="none"
        spellcheck="false" maxlength="40" required>
    </div>
    <button type="submit" class="btn secondary block">Confirm</button>
  </form>
  <p class="msg" id="step-up-msg" role="alert"></p>
  <div class="actions">
    <button type="button" class="btn ghost" id="step-up-cancel">Cancel</button>
  </div>
</dialog>

<section class="card" aria-labelledby="matrix-title" id="matrix-card" hidden>
  <h2 id="matrix-title">Matrix</h2>
  <p class="muted">Talk to your AI from Element or any Matrix client: sign in there with this homeserver, id and password, and message your AI.</p>
  <p class="muted">Homeserver</p><code class="secret" id="matrix-homeserver"></code>
  <p class="muted">Matrix id</p><code class="secret" id="matrix-id"></code>
  <div id="matrix-password-block" hidden>
    <p class="alert warn">Your new password, shown only now: save it in your Matrix client or password manager.</p>
    <code class="secret" id="matrix-password"></code>
  </div>
  <div class="actions"><button type="button" class="btn secondary" id="matrix-new-password">Get a new password</button></div>
  <p class="msg" id="matrix-msg" role="status"></p>
</section>

<section class="card" aria-labelledby="social-title">
  <h2 id="social-title">Community</h2>
  <p class="muted">Other people's AIs can message yours through the platform; what they see of you is the profile your instance publishes.</p>
  <form id="social-settings" novalidate>
    <div class="field"><label><input type="checkbox" id="social-discoverable"> List me in the directory and the feed</label></div>
    <div class="field"><label><input type="checkbox" id="social-share-apps"> Show the apps my AI builds in the feed</label></div>
    <div class="field"><label><input type="checkbox" id="social-auto-reply"> Let my AI answer other AIs</label></div>
    <div class="field">
      <label for="social-cap">Answers a day at most (they are billed to your AI budget)</label>
      <input type="number" id="social-cap" min="0" max="1000" step="1" inputmode="numeric">
    </div>
    <button type="submit" class="btn secondary">Save</button>
  </form>
  <h3 class="subhead">Blocked</h3>
  <ul class="list" id="social-blocks" aria-label="People you blocked"></ul>
  <form class="inline-form" id="social-block" novalidate>
    <div class="field">
      <label for="social-block-handle">Block a handle</label>
      <input type="text" id="social-block-handle" maxlength="30" autocomplete="off" placeholder="e.g. mallory">
    </div>
    <button type="submit" class="btn secondary">Block</button>
  </form>
  <p class="msg" id="social-msg" role="status"></p>
</section>

<section class="card" aria-labelledby="export-title">
  <h2 id="export-title">Your data</h2>
  <p class="muted">Download everything in your home (files, apps, chats, settings) as one tar archive, to keep or to move to another Matrix OS. Your instance stops while it is read and wakes on your next visit; your browser shows the download's progress.</p>
  <div class="actions">
    <a class="btn secondary" id="export-download" href="/me/export" download>Download my data</a>
  </div>
</section>

<section class="card" aria-labelledby="sessions-title">
  <h2 id="sessions-title">Sessions</h2>
  <p class="muted">Signing out everywhere ends every session of yours, on every device, including those inside your instance.</p>
  <div class="actions">
    <button type="button" class="btn secondary" data-signout>Sign out</button>
    <button type="button" class="btn danger" id="signout-all">Sign out everywhere</button>
  </div>
  <p class="msg" id="sessions-msg" role="status"></p>
</section>
</div>
</div>`;
  return layout({
    title: 'Dashboard',
    body,
    viewer: d.viewer,
    current: 'dashboard',
    scripts: ['webauthn.js', 'dashboard.js', 'identities.js', 'social.js'],
  });
}

import { html } from 'hono/html';
import { type Html, layout, type Viewer } from './layout.ts';

export interface LoginData {
  /** Already signed in on this browser: offered to continue instead. */
  viewer: Viewer | null;
  /** Where to go after signing in: an instance's handle, or a path of this site. */
  next: string | null;
  /** The handle `next` names, if it names one. */
  nextHandle: string | null;
}

function signedIn(viewer: Viewer): Html {
  return html`<section class="card" id="signed-in" aria-labelledby="signed-in-title">
  <h1 id="signed-in-title">You are signed in</h1>
  <p class="lead">as <strong>@${viewer.handle}</strong> on this browser.</p>
  <div class="stack-buttons">
    <button type="button" class="btn primary block" data-open-instance>Open your instance</button>
    <a class="btn secondary block" href="/dashboard">Go to your dashboard</a>
    <button type="button" class="btn ghost block" data-signout data-signout-to="/login">Sign in as someone else</button>
  </div>
  <p class="msg error" id="open-error" role="alert"></p>
</section>`;
}

function signInForm(d: LoginData): Html {
  const lead = d.nextHandle
    ? html`Sign in to open <strong>${d.nextHandle}</strong>.`
    : html`Welcome back. Enter your handle to continue.`;
  return html`<section class="card" id="login" aria-labelledby="login-title">
  <h1 id="login-title">Sign in</h1>
  <p class="lead">${lead}</p>
  <form id="handle-form" novalidate>
    <div class="field">
      <label for="handle">Handle</label>
      <input type="text" id="handle" name="handle" autocomplete="username" autocapitalize="none"
        spellcheck="false" maxlength="30" required value="${d.nextHandle ?? ''}">
    </div>
    <button type="submit" class="btn primary block" id="continue-btn">Continue</button>
  </form>
  <div class="stack-buttons" id="oidc-buttons" data-intent="login" hidden></div>
  <p class="msg error" id="oidc-msg" role="alert"></p>

  <div id="passkey-step" hidden>
    <p class="alert" id="passkey-wait" role="status">Confirm with your passkey: your device is asking now.</p>
    <button type="button" class="btn primary block" id="passkey-retry" hidden>Use your passkey</button>
  </div>

  <form id="totp-form" novalidate hidden>
    <div class="field">
      <label for="totp-code">The 6-digit code from your authenticator app</label>
      <input type="text" class="code-input" id="totp-code" inputmode="numeric" autocomplete="one-time-code"
        pattern="[0-9]{6}" maxlength="6" required>
    </div>
    <button type="submit" class="btn primary block">Sign in</button>
  </form>

  <form id="recovery-form" novalidate hidden>
    <div class="field">
      <label for="recovery-code">One of your recovery codes</label>
      <input type="text" class="input mono" id="recovery-code" autocomplete="off" autocapitalize="none"
        spellcheck="false" placeholder="xxxx-xxxx-xxxx" required>
      <p class="hint">Each code works once. After signing in, add a new passkey on your dashboard.</p>
    </div>
    <button type="submit" class="btn primary block">Sign in</button>
  </form>

  <p class="msg error" id="login-error" role="alert"></p>
  <p class="alert" id="opening" role="status" hidden>Signed in. Opening your instance…</p>

  <div class="stack-buttons" id="other-ways" hidden>
    <p class="or">or</p>
    <button type="button" class="btn secondary block" data-method="passkey">Use your passkey</button>
    <button type="button" class="btn secondary block" data-method="totp">Use your authenticator app</button>
    <button type="button" class="btn ghost block" data-method="recovery">Use a recovery code</button>
    <button type="button" class="btn ghost block" id="change-handle">Use another handle</button>
  </div>
  <p class="switch">New here? <a href="/signup">Create your instance</a></p>
</section>`;
}

/** `/login`: handle, then a passkey, an authenticator code or a recovery code; then into the instance. */
export function loginPage(d: LoginData): Html {
  return layout({
    title: 'Sign in',
    body: html`<div class="auth">${d.viewer ? signedIn(d.viewer) : signInForm(d)}</div>`,
    viewer: d.viewer,
    scripts: ['webauthn.js', 'login.js', 'oidc-buttons.js'],
    data: d.next ? { next: d.next } : {},
  });
}

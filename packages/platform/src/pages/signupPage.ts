import { html } from 'hono/html';
import { handleField, recoveryCodes, totpSetup } from './authParts.ts';
import { type Html, layout } from './layout.ts';

/** The steps the orchestrator reports while an instance comes up, as the progress view lists them. */
const PROGRESS_STEPS: [step: string, label: string][] = [
  ['queued', 'Getting ready'],
  ['creating', 'Creating your instance'],
  ['starting', 'Starting it'],
  ['health', 'Waiting for it to answer'],
  ['ready', 'Opening it'],
];

/**
 * `/signup`: handle (checked as it is typed), then a passkey or an authenticator app, recovery
 * codes, and the live progress of the new instance until the person lands in it.
 */
export function signupPage(d: { hostSuffix: string }): Html {
  const body = html`<div class="auth">
<ol class="stepper" id="stepper" aria-label="Sign-up steps">
  <li data-for="handle" aria-current="step">Handle</li>
  <li data-for="factor">Sign-in</li>
  <li data-for="codes">Codes</li>
  <li data-for="progress">Instance</li>
</ol>

<section class="card" id="step-handle" aria-labelledby="handle-title">
  <h1 id="handle-title">Create your Matrix OS</h1>
  <p class="lead">Pick a handle. It becomes your address and cannot be changed later.</p>
  <form id="handle-form" novalidate>
    ${handleField(d.hostSuffix)}
    <div class="stack-buttons">
      <button type="submit" class="btn primary block" id="passkey-btn" disabled>Create with a passkey</button>
      <button type="button" class="btn secondary block" id="totp-btn" disabled>Use an authenticator app instead</button>
    </div>
    <p class="hint" id="passkey-help">A passkey lives on this device (or your phone or password manager): you sign in with your fingerprint, face or screen lock.</p>
    <p class="msg error" id="signup-error" role="alert"></p>
  </form>
  <div class="stack-buttons" id="oidc-buttons" data-intent="signup" hidden></div>
  <p class="msg error" id="oidc-msg" role="alert"></p>
  <p class="switch">Already have an account? <a href="/login">Sign in</a></p>
</section>

<section class="card" id="step-totp" aria-labelledby="totp-title" hidden>
  <h1 id="totp-title">Set up your authenticator app</h1>
  <p class="lead">Scan the code with an authenticator app (Google Authenticator, 1Password, Aegis, …), then type the code it shows.</p>
  ${totpSetup('signup-totp')}
  <p class="switch"><button type="button" class="btn ghost" id="totp-back">Back</button></p>
</section>

<section class="card" id="step-codes" aria-labelledby="codes-title" hidden>
  <h1 id="codes-title">Save your recovery codes</h1>
  <p class="lead">If you lose your <span id="codes-factor">passkey</span>, each of these codes lets you sign in once. They are shown only now.</p>
  ${recoveryCodes('signup-codes')}
  <label class="check"><input type="checkbox" id="codes-saved"> I have saved these codes somewhere safe</label>
  <button type="button" class="btn primary block" id="codes-continue" disabled>Continue</button>
</section>

<section class="card" id="step-progress" aria-labelledby="progress-title" hidden>
  <h1 id="progress-title">Setting up your instance</h1>
  <p class="lead">It will live at <strong id="progress-host"></strong>. This usually takes a few seconds.
    <span class="elapsed" id="elapsed" aria-hidden="true"></span></p>
  <ol class="progress" id="progress-steps" aria-live="polite">
    ${PROGRESS_STEPS.map(
      ([step, label]) => html`<li data-step="${step}"><span>${label}</span><span class="time"></span></li>`,
    )}
  </ol>
  <div class="alert error" id="progress-error" role="alert" hidden>
    <p id="progress-error-text"></p>
    <div class="actions"><button type="button" class="btn primary" id="progress-retry">Try again</button>
    <a class="btn ghost" href="/dashboard">Go to your dashboard</a></div>
  </div>
</section>
</div>`;
  return layout({
    title: 'Create your instance',
    body,
    viewer: null,
    scripts: ['webauthn.js', 'signup.js', 'oidc-buttons.js'],
  });
}

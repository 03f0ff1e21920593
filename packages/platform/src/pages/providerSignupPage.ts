import { html } from 'hono/html';
import { handleField, recoveryCodes } from './authParts.ts';
import { type Html, layout } from './layout.ts';

/**
 * `/signup/provider`: a sign-up that came back from a provider (Google, ...) still picks its
 * handle here (checked as it is typed), then sees its recovery codes once, then opens its instance.
 */
export function providerSignupPage(d: { hostSuffix: string; provider: string; email: string | null }): Html {
  const body = html`<div class="auth">
<section class="card" id="step-handle" aria-labelledby="handle-title">
  <h1 id="handle-title">Pick your handle</h1>
  <p class="lead">You are signing up with <strong>${d.provider}</strong>${d.email ? html` as <strong>${d.email}</strong>` : ''}. Your handle becomes your address and cannot be changed later.</p>
  <form id="provider-handle-form" novalidate>
    ${handleField(d.hostSuffix)}
    <button type="submit" class="btn primary block" id="create-btn" disabled>Create my instance</button>
    <p class="msg error" id="signup-error" role="alert"></p>
  </form>
</section>

<section class="card" id="step-codes" aria-labelledby="codes-title" hidden>
  <h1 id="codes-title">Save your recovery codes</h1>
  <p class="lead">If you lose access to your ${d.provider} account, each of these codes lets you sign in once. They are shown only now.</p>
  ${recoveryCodes('provider-codes')}
  <label class="check"><input type="checkbox" id="codes-saved"> I have saved these codes somewhere safe</label>
  <button type="button" class="btn primary block" id="codes-continue" disabled>Open my instance</button>
  <p class="msg error" id="open-error" role="alert"></p>
</section>
</div>`;
  return layout({ title: 'Pick your handle', body, viewer: null, scripts: ['provider-signup.js'] });
}

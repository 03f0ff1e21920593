import { HANDLE_RULES } from '@matrixos/shared';
import { html } from 'hono/html';
import type { Html } from './layout.ts';

/**
 * Pieces the sign-up pages and the dashboard share; `lib.js` fills them in. `prefix` keeps ids
 * unique when a page has more than one.
 */

/** The handle field (checked as it is typed, by the page script): the name, the host it gives, the rules. */
export function handleField(hostSuffix: string): Html {
  return html`<div class="field">
      <label for="handle">Handle</label>
      <div class="input-affix">
        <input type="text" id="handle" name="handle" autocomplete="username" autocapitalize="none"
          spellcheck="false" maxlength="30" required aria-describedby="handle-msg handle-rules">
        <span class="affix" aria-hidden="true">${hostSuffix}</span>
      </div>
      <p class="msg" id="handle-msg" role="status" aria-live="polite"></p>
      <p class="hint" id="handle-rules">${HANDLE_RULES}.</p>
    </div>`;
}

/** An authenticator app's QR code, its secret as text, and the first code that confirms it. */
export function totpSetup(prefix: string): Html {
  return html`<div class="totp-setup">
  <img class="qr" id="${prefix}-qr" alt="QR code to scan with your authenticator app" width="168" height="168">
  <div>
    <p class="label">Can't scan it? Enter this key instead:</p>
    <code class="secret" id="${prefix}-secret"></code>
    <a class="btn ghost small" id="${prefix}-link" href="#">Open in an authenticator app on this device</a>
  </div>
</div>
<form id="${prefix}-form" novalidate>
  <div class="field">
    <label for="${prefix}-code">The 6-digit code your app shows</label>
    <input type="text" class="code-input" id="${prefix}-code" inputmode="numeric" autocomplete="one-time-code"
      pattern="[0-9]{6}" maxlength="6" required aria-describedby="${prefix}-msg">
    <p class="msg" id="${prefix}-msg" role="alert"></p>
  </div>
  <button type="submit" class="btn primary block">Confirm</button>
</form>`;
}

/** Recovery codes, shown once: copy, download, and a promise that they are kept somewhere safe. */
export function recoveryCodes(prefix: string): Html {
  return html`<ul class="codes" id="${prefix}-list" aria-label="Recovery codes"></ul>
<div class="actions">
  <button type="button" class="btn secondary small" id="${prefix}-copy">Copy</button>
  <button type="button" class="btn secondary small" id="${prefix}-download">Download</button>
  <span class="msg ok" id="${prefix}-copied" role="status"></span>
</div>`;
}

// @ts-check
// Shared by every page: API calls whose errors become sentences, small DOM helpers, the pieces
// the sign-up page and the dashboard share, and the header's sign-out button. The helpers the
// instance's shell uses too (formats, the DOM builder, API errors) come from @matrixos/shared's
// browser library, served beside this file.

import { h } from './dom.js';
import { formatBytes, formatUsd, sentence, timeAgo, usdToMicros } from './format.js';
import { ApiError } from './http.js';

export { ApiError, formatBytes, formatUsd, sentence, usdToMicros };
/** A DOM element: `el('li', {class: 'x', 'data-id': 1}, 'text', child)`; `on*` props add listeners. */
export const el = h;
/** "just now", "5 minutes ago", "yesterday", … */
export const ago = timeAgo;

/** Calls the API of this site (same origin: the browser sends the cookies and the Origin). */
export async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', '');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = data?.error ?? {};
    const retryAfter = Number(res.headers.get('retry-after')) || null;
    throw new ApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? '', retryAfter);
  }
  return data;
}

function waitText(seconds) {
  if (!seconds) return 'a moment';
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** Whatever went wrong, as a sentence for a person: never a status code or raw JSON. */
export function friendly(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return 'We could not reach the server. Check your connection and try again.';
    if (err.status === 429)
      return `Too many attempts. Please wait ${waitText(err.retryAfter)} and try again.`;
    if (err.code === 'signed_out') return 'Your session has ended. Please sign in again.';
    if (err.code === 'bad_origin')
      return 'This request was refused for your safety. Reload the page and try again.';
    if (err.code === 'invalid_json' || err.code === 'invalid_body')
      return 'Something in that request was not right. Reload the page and try again.';
    if (err.code === 'provision_failed' || err.code === 'start_failed')
      return 'Your instance could not be started just now. Please try again in a moment.';
    if (err.status >= 500 || !err.message)
      return 'Something went wrong on our side. Please try again in a moment.';
    return sentence(err.message);
  }
  switch (err?.name) {
    case 'NotAllowedError':
    case 'AbortError':
      return 'The passkey request was cancelled or timed out. Try again when you are ready.';
    case 'InvalidStateError':
      return 'This device already holds a passkey for this account.';
    case 'SecurityError':
      return 'Passkeys do not work on this address. Open this site at its usual address and try again.';
    case 'NotSupportedError':
      return 'This browser or device cannot use passkeys here.';
    default:
      return 'Something went wrong. Please try again.';
  }
}

/** Shows a message in a `.msg` element: kind is "ok", "error", "info" or "" (clears). */
export function say(node, text, kind = 'info') {
  node.classList.remove('ok', 'error', 'info');
  if (kind && text) node.classList.add(kind);
  node.textContent = text ?? '';
}

/** Runs `fn` with `button` marked busy and disabled, whatever happens. */
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/**
 * The page's element with this id, typed loosely: pages know which kind of element each id is.
 * @param {string} id
 * @returns {any}
 */
export const byId = (id) => document.getElementById(id);

/** The WebAuthn library (`webauthn.js`, a UMD bundle that sets a global). */
export function webauthn() {
  return globalThis.SimpleWebAuthnBrowser;
}

export function passkeysSupported() {
  return Boolean(webauthn()?.browserSupportsWebAuthn());
}

/** Opens an instance signed in: a one-use link from the platform, followed at once. */
export async function openInstance(handle) {
  const path = handle ? `/admin/instances/${encodeURIComponent(handle)}/open` : '/me/instance/open';
  const { url } = await api('POST', path);
  location.assign(url);
}

/** Fills a `totpSetup` block (see authParts.ts) with a new secret. */
export function fillTotpSetup(prefix, setup) {
  byId(`${prefix}-qr`).src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qrSvg)}`;
  byId(`${prefix}-secret`).textContent = setup.secret.replace(/(.{4})(?=.)/g, '$1 ');
  byId(`${prefix}-link`).href = setup.uri;
  const code = byId(`${prefix}-code`);
  code.value = '';
  say(byId(`${prefix}-msg`), '');
}

/** Fills a `recoveryCodes` block (see authParts.ts): the codes, with copy and download. */
export function showRecoveryCodes(prefix, codes, handle) {
  byId(`${prefix}-list`).replaceChildren(...codes.map((c) => el('li', {}, c)));
  const copied = byId(`${prefix}-copied`);
  say(copied, '');
  const text = `Matrix OS recovery codes for ${handle} (${location.host})\nEach code signs you in once.\n\n${codes.join('\n')}\n`;
  byId(`${prefix}-copy`).onclick = async () => {
    try {
      await navigator.clipboard.writeText(text);
      say(copied, 'Copied', 'ok');
    } catch {
      say(copied, 'Copying is not allowed here: select the codes and copy them by hand.', 'error');
    }
  };
  byId(`${prefix}-download`).onclick = () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = el('a', { href: url, download: `matrixos-recovery-codes-${handle}.txt` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    say(copied, 'Downloaded', 'ok');
  };
}

let dialog;

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmAction(text, okLabel) {
  if (!dialog) {
    dialog = el(
      'dialog',
      { 'aria-labelledby': 'confirm-text' },
      el('p', { id: 'confirm-text' }),
      el(
        'div',
        { class: 'actions' },
        el(
          'button',
          { type: 'button', class: 'btn secondary', onclick: () => dialog.close('cancel') },
          'Cancel',
        ),
        el('button', {
          type: 'button',
          class: 'btn danger solid',
          id: 'confirm-ok',
          onclick: () => dialog.close('ok'),
        }),
      ),
    );
    document.body.append(dialog);
  }
  byId('confirm-text').textContent = text;
  byId('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

// Buttons any page may have: sign out (header, dashboard) and open the instance (landing, login).
document.addEventListener('click', async (event) => {
  const target = /** @type {Element} */ (event.target);
  const signout = /** @type {HTMLElement | null} */ (target.closest('[data-signout]'));
  if (signout) {
    await busy(signout, async () => {
      try {
        await api('POST', '/auth/logout');
      } catch {
        // Signed out already, or the server is away: either way, leave the signed-in pages.
      }
      location.assign(signout.dataset.signoutTo ?? '/');
    });
    return;
  }
  const open = target.closest('[data-open-instance]');
  if (open) {
    const out = byId('open-error');
    await busy(open, async () => {
      try {
        await openInstance();
      } catch (err) {
        if (err instanceof ApiError && err.code === 'no_instance') location.assign('/dashboard');
        else if (out) say(out, friendly(err), 'error');
      }
    });
  }
});

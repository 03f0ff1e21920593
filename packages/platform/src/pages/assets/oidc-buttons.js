// "Continue with {provider}" on the sign-in and sign-up pages (and "Link" on the dashboard):
// the platform answers with the provider's URL for this browser's round trip; we go there.
import { api, byId, el, friendly, say } from './lib.js';

const MESSAGES = {
  flow_expired: 'That sign-in took too long or was started elsewhere. Please try again.',
  state_mismatch: 'That answer from the provider was not for this sign-in. Please try again.',
  not_verified: 'The provider’s answer could not be verified. Please try again.',
  provider_refused: 'The provider did not sign you in.',
  provider_unavailable: 'The provider cannot be reached just now. Try again in a moment.',
  no_account:
    'No account signs in with that provider account yet. Sign up first, or sign in another way and link it on your dashboard.',
  identity_taken: 'That provider account already belongs to a Matrix OS account. Sign in with it instead.',
  signed_out: 'Your session ended before the provider answered. Sign in and try again.',
};

/** The message for a refused provider round trip (`?oidc_error=code`), if this page got one. */
export function oidcErrorMessage() {
  const code = new URLSearchParams(location.search).get('oidc_error');
  return code ? (MESSAGES[code] ?? 'Signing in with the provider did not work. Please try again.') : null;
}

/** Starts a round trip with provider `id` for `intent` (login, signup, link). */
export async function startProvider(id, intent) {
  // The sign-in page's `?next=` (an instance, or a page here) goes along; the server checks it.
  const next = intent === 'login' ? (document.body.dataset.next ?? undefined) : undefined;
  const { url } = await api('POST', `/auth/oidc/${encodeURIComponent(id)}/start`, { intent, next });
  location.assign(url);
}

const box = byId('oidc-buttons');
if (box) {
  const intent = box.dataset.intent;
  const note = byId('oidc-msg');
  const error = oidcErrorMessage();
  if (error) say(note, error, 'error');
  api('GET', '/auth/oidc/providers')
    .then(({ providers }) => {
      if (providers.length === 0) return;
      const buttons = providers.map((p) => {
        const b = el(
          'button',
          { type: 'button', class: 'btn secondary block', 'data-provider': p.id },
          `Continue with ${p.name}`,
        );
        b.addEventListener('click', () =>
          startProvider(p.id, intent).catch((err) => say(note, friendly(err), 'error')),
        );
        return b;
      });
      box.replaceChildren(el('p', { class: 'or' }, 'or'), ...buttons);
      box.hidden = false;
    })
    .catch(() => undefined);
}

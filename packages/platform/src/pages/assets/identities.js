// The dashboard's sign-in providers: the linked identities (remove, unless it is the last way
// in: the platform refuses that), and a "Link" button for each configured provider.
import { ago, api, busy, byId, confirmAction, el, friendly, say } from './lib.js';
import { oidcErrorMessage, startProvider } from './oidc-buttons.js';

const msg = byId('identity-msg');

async function load() {
  const { providers, identities } = await api('GET', '/me/identities');
  byId('identities-card').hidden = providers.length === 0 && identities.length === 0;
  byId('identities').replaceChildren(
    ...(identities.length
      ? identities.map((i) =>
          el(
            'li',
            { 'data-identity': i.provider },
            el(
              'div',
              {},
              el('div', { class: 'name' }, i.email ? `${i.name} (${i.email})` : i.name),
              el(
                'div',
                { class: 'meta' },
                `Linked ${ago(i.createdAt)} · ${i.lastUsedAt ? `last used ${ago(i.lastUsedAt)}` : 'not used yet'}`,
              ),
            ),
            el(
              'button',
              {
                type: 'button',
                class: 'btn danger small',
                'aria-label': `Remove ${i.name}`,
                onclick: (e) => remove(e.currentTarget, i),
              },
              'Remove',
            ),
          ),
        )
      : [el('li', { class: 'muted' }, 'None linked yet.')]),
  );
  byId('identity-links').replaceChildren(
    ...providers.map((p) =>
      el(
        'button',
        {
          type: 'button',
          class: 'btn secondary',
          'data-link': p.id,
          onclick: () => startProvider(p.id, 'link').catch((err) => say(msg, friendly(err), 'error')),
        },
        `Link ${p.name}`,
      ),
    ),
  );
}

async function remove(button, identity) {
  say(msg, '');
  const sure = await confirmAction(
    `Remove ${identity.name}? You will no longer be able to sign in with it.`,
    `Remove ${identity.name}`,
  );
  if (!sure) return;
  await busy(button, async () => {
    try {
      await api('DELETE', `/me/identities/${encodeURIComponent(identity.id)}`);
      say(msg, `${identity.name} removed.`, 'ok');
    } catch (err) {
      say(msg, friendly(err), 'error');
    }
  });
  await load();
}

const params = new URLSearchParams(location.search);
const error = oidcErrorMessage();
if (error) say(msg, error, 'error');
else if (params.get('oidc_linked')) say(msg, 'Linked: you can now sign in with it.', 'ok');
load().catch((err) => say(msg, friendly(err), 'error'));

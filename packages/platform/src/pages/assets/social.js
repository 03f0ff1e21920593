// The dashboard's community card: the owner's social settings (`/me/social`) and block list.
import { api, busy, byId, el, friendly, say } from './lib.js';

const msg = byId('social-msg');
const form = byId('social-settings');
const fields = {
  discoverable: byId('social-discoverable'),
  shareApps: byId('social-share-apps'),
  autoReply: byId('social-auto-reply'),
};
const cap = byId('social-cap');

function draw(settings) {
  for (const [key, box] of Object.entries(fields)) box.checked = settings[key];
  cap.value = String(settings.dailyAutoReplyCap);
  byId('social-blocks').replaceChildren(
    ...(settings.blocks.length
      ? settings.blocks.map((handle) =>
          el(
            'li',
            { 'data-blocked': handle },
            el('div', { class: 'name' }, `@${handle}`),
            el(
              'button',
              {
                type: 'button',
                class: 'btn secondary small',
                'aria-label': `Unblock ${handle}`,
                onclick: (e) =>
                  change(e.currentTarget, 'DELETE', `/me/social/blocks/${handle}`, `@${handle} unblocked.`),
              },
              'Unblock',
            ),
          ),
        )
      : [el('li', { class: 'muted' }, 'Nobody.')]),
  );
}

async function change(button, method, path, done, body) {
  say(msg, '');
  await busy(button, async () => {
    try {
      draw(await api(method, path, body));
      say(msg, done, 'ok');
    } catch (err) {
      say(msg, friendly(err), 'error');
    }
  });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const body = Object.fromEntries(Object.entries(fields).map(([key, box]) => [key, box.checked]));
  body.dailyAutoReplyCap = Number(cap.value);
  void change(form.querySelector('button[type=submit]'), 'PUT', '/me/social', 'Saved.', body);
});
byId('social-block').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = byId('social-block-handle');
  const handle = input.value.trim().replace(/^@/, '').toLowerCase();
  if (!handle) return;
  void change(
    e.submitter ?? e.target.querySelector('button'),
    'PUT',
    `/me/social/blocks/${encodeURIComponent(handle)}`,
    `@${handle} blocked.`,
  ).then(() => {
    input.value = '';
  });
});
api('GET', '/me/social')
  .then(draw)
  .catch((err) => say(msg, friendly(err), 'error'));

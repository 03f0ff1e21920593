// The handle step of a sign-up through a provider: the handle checked as it is typed, the
// account created, recovery codes shown once, then into the new instance.
import { api, busy, byId, friendly, openInstance, say, showRecoveryCodes } from './lib.js';

const input = byId('handle');
const msg = byId('handle-msg');
const create = byId('create-btn');
let timer;

input.addEventListener('input', () => {
  clearTimeout(timer);
  create.disabled = true;
  const value = input.value.trim();
  if (!value) return say(msg, '');
  timer = setTimeout(async () => {
    try {
      const a = await api('GET', `/auth/handles/${encodeURIComponent(value)}`);
      if (input.value.trim() !== value) return;
      say(msg, a.available ? `${value} is available` : a.reason, a.available ? 'ok' : 'error');
      create.disabled = !a.available;
    } catch (err) {
      say(msg, friendly(err), 'error');
    }
  }, 300);
});

byId('provider-handle-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy(create, async () => {
    try {
      const done = await api('POST', '/auth/oidc/signup', { handle: input.value.trim() });
      byId('step-handle').hidden = true;
      byId('step-codes').hidden = false;
      showRecoveryCodes('provider-codes', done.recoveryCodes, done.handle);
    } catch (err) {
      say(byId('signup-error'), friendly(err), 'error');
    }
  });
});

byId('codes-saved').addEventListener('change', (e) => {
  byId('codes-continue').disabled = !e.target.checked;
});
byId('codes-continue').addEventListener('click', () =>
  openInstance().catch((err) => say(byId('open-error'), friendly(err), 'error')),
);

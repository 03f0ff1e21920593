// @ts-check
// Sign-in: the access token goes once to POST api/session, which answers with a session cookie.

const form = document.getElementById('signin-form');
const input = /** @type {HTMLInputElement} */ (document.getElementById('token'));
const error = document.getElementById('signin-error');
const button = form.querySelector('button');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  error.hidden = true;
  button.disabled = true;
  try {
    const res = await fetch('api/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: input.value.trim() }),
    });
    if (res.ok) {
      input.value = '';
      location.reload();
      return;
    }
    const answer = await res.json().catch(() => null);
    error.textContent =
      res.status === 401
        ? 'That token does not open this instance.'
        : (answer?.error?.message ?? `Sign-in failed (HTTP ${res.status}).`);
  } catch {
    error.textContent = 'The instance did not answer. Check your connection and try again.';
  }
  error.hidden = false;
  button.disabled = false;
  input.select();
});
input.focus();

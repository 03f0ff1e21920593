// Sign-in: a handle, then the passkey (or an authenticator code, or a recovery code), then into
// the instance (or back to the page that sent the person here).
import {
  ApiError,
  api,
  busy,
  byId,
  friendly,
  openInstance,
  passkeysSupported,
  say,
  webauthn,
} from './lib.js';

const HANDLE = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;
const next = document.body.dataset.next ?? null;
const error = byId('login-error');

/** Signed in: on to `next` (a page, or an instance), else into the person's own instance. */
async function proceed() {
  if (next && !HANDLE.test(next)) {
    location.assign(next);
    return;
  }
  const me = await api('GET', '/me');
  const own = me.user.handle;
  // Admins may open any instance; everyone else is taken to their own.
  const other = next && next !== own && me.user.role === 'admin' ? next : null;
  try {
    await openInstance(other);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'no_instance') location.assign('/dashboard');
    else throw err;
  }
}

if (byId('signed-in')) {
  // Already signed in here (the router sends people back when their instance link ran out).
  if (next) proceed().catch((err) => say(byId('open-error'), friendly(err), 'error'));
} else {
  const handleInput = byId('handle');
  const handleForm = byId('handle-form');
  const continueBtn = byId('continue-btn');
  const passkeyStep = byId('passkey-step');
  const passkeyRetry = byId('passkey-retry');
  const totpForm = byId('totp-form');
  const recoveryForm = byId('recovery-form');
  const otherWays = byId('other-ways');
  /** The handle being signed in, and what its account can sign in with. */
  let account = null;
  /** Passkey options from the last `/auth/login/options`, used at most once. */
  let pending = null;

  function show(method) {
    passkeyStep.hidden = method !== 'passkey';
    totpForm.hidden = method !== 'totp';
    recoveryForm.hidden = method !== 'recovery';
    otherWays.hidden = false;
    for (const b of otherWays.querySelectorAll('[data-method]')) {
      const m = b.dataset.method;
      const possible = m === 'recovery' || account.methods[m];
      b.hidden = m === method || !possible || (m === 'passkey' && !passkeysSupported());
    }
    say(error, '');
    if (method === 'totp') byId('totp-code').focus();
    if (method === 'recovery') byId('recovery-code').focus();
  }

  async function signedIn() {
    for (const node of [passkeyStep, totpForm, recoveryForm, otherWays, handleForm]) node.hidden = true;
    say(error, '');
    byId('opening').hidden = false;
    try {
      await proceed();
    } catch (err) {
      byId('opening').hidden = true;
      say(error, friendly(err), 'error');
    }
  }

  async function usePasskey() {
    show('passkey');
    passkeyRetry.hidden = true;
    byId('passkey-wait').hidden = false;
    try {
      const { flowId, options } =
        pending ?? (await api('POST', '/auth/login/options', { handle: account.handle }));
      pending = null;
      const response = await webauthn().startAuthentication({ optionsJSON: options });
      await api('POST', '/auth/login/passkey', { flowId, response });
      await signedIn();
    } catch (err) {
      byId('passkey-wait').hidden = true;
      passkeyRetry.hidden = false;
      say(error, friendly(err), 'error');
    }
  }

  handleForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const handle = handleInput.value.trim().toLowerCase();
    if (!handle) {
      say(error, 'Enter your handle first.', 'error');
      handleInput.focus();
      return;
    }
    say(error, '');
    account = null;
    await busy(continueBtn, async () => {
      try {
        const answer = await api('POST', '/auth/login/options', { handle });
        account = { handle, methods: answer.methods };
        pending = answer.flowId ? { flowId: answer.flowId, options: answer.options } : null;
      } catch (err) {
        say(error, friendly(err), 'error');
        handleInput.focus();
      }
    });
    if (!account) return;
    handleInput.readOnly = true;
    continueBtn.hidden = true;
    if (account.methods.passkey && passkeysSupported()) await usePasskey();
    else show(account.methods.totp ? 'totp' : 'recovery');
  });

  passkeyRetry.addEventListener('click', usePasskey);

  otherWays.addEventListener('click', (event) => {
    const method = event.target.closest('[data-method]')?.dataset.method;
    if (method === 'passkey') usePasskey();
    else if (method) show(method);
  });

  byId('change-handle').addEventListener('click', () => {
    account = null;
    pending = null;
    for (const node of [passkeyStep, totpForm, recoveryForm, otherWays]) node.hidden = true;
    handleInput.readOnly = false;
    continueBtn.hidden = false;
    say(error, '');
    handleInput.select();
  });

  totpForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = byId('totp-code');
    const code = input.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) {
      say(error, 'Enter the 6 digits your app shows.', 'error');
      input.focus();
      return;
    }
    await busy(event.submitter, async () => {
      try {
        await api('POST', '/auth/login/totp', { handle: account.handle, code });
      } catch (err) {
        say(error, friendly(err), 'error');
        input.select();
        return;
      }
      await signedIn();
    });
  });

  recoveryForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = byId('recovery-code');
    await busy(event.submitter, async () => {
      try {
        const done = await api('POST', '/auth/login/recovery', { handle: account.handle, code: input.value });
        // A lost device: the dashboard is where a new passkey gets added.
        location.assign(`/dashboard?recovered=${done.recoveryCodesLeft}`);
      } catch (err) {
        say(error, friendly(err), 'error');
        input.select();
      }
    });
  });

  if (!handleInput.value) handleInput.focus();
  else continueBtn.focus();
}

// Sign-up: a handle checked as it is typed, a passkey (or an authenticator app), recovery codes
// shown once, then the new instance's live progress until the person is sent into it.
import {
  ApiError,
  api,
  busy,
  byId,
  fillTotpSetup,
  friendly,
  openInstance,
  passkeysSupported,
  say,
  sentence,
  showRecoveryCodes,
  webauthn,
} from './lib.js';

const CHECK_DELAY_MS = 300;
const STEPS = ['queued', 'creating', 'starting', 'health', 'ready'];

const handleInput = byId('handle');
const handleMsg = byId('handle-msg');
const passkeyBtn = byId('passkey-btn');
const totpBtn = byId('totp-btn');
const signupError = byId('signup-error');
const hostSuffix = document.querySelector('.input-affix .affix').textContent;

/** The last availability answer, for the handle it was about. */
let checked = { handle: '', available: false };
let checking = null;
let timer;
let totpFlowId = null;
// A one-time admin invite (`matrixos admin-invite` prints the link): sent with the sign-up start.
const invite = new URLSearchParams(location.search).get('invite');
const startBody = (handle) => (invite ? { handle, invite } : { handle });
byId('invite-note').hidden = !invite;

function showStep(name) {
  for (const step of ['handle', 'totp', 'codes', 'progress']) byId(`step-${step}`).hidden = step !== name;
  const order = ['handle', 'factor', 'codes', 'progress'];
  const at = order.indexOf(name === 'totp' ? 'factor' : name);
  for (const li of byId('stepper').children) {
    const i = order.indexOf(li.dataset.for);
    li.classList.toggle('done', i < at);
    if (i === at) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
  const title = byId(`step-${name}`).querySelector('h1');
  title.tabIndex = -1;
  title.focus();
}

function setAvailable(ok) {
  passkeyBtn.disabled = !ok || !passkeysSupported();
  totpBtn.disabled = !ok;
}

async function check(value) {
  if (!value) {
    say(handleMsg, '');
    setAvailable(false);
    return;
  }
  say(handleMsg, 'Checking…', 'info');
  try {
    const answer = await api('GET', `/auth/handles/${encodeURIComponent(value)}`);
    if (handleInput.value !== value) return;
    checked = { handle: value, available: answer.available };
    if (answer.available) say(handleMsg, `${value}${hostSuffix} is yours to take.`, 'ok');
    else say(handleMsg, sentence(answer.reason), 'error');
    handleInput.setAttribute('aria-invalid', String(!answer.available));
    setAvailable(answer.available);
  } catch (err) {
    if (handleInput.value === value) say(handleMsg, friendly(err), 'error');
  }
}

handleInput.addEventListener('input', () => {
  // Handles are lower-case: help rather than refuse what a phone keyboard capitalised.
  const value = handleInput.value.toLowerCase().replace(/\s+/g, '');
  if (value !== handleInput.value) handleInput.value = value;
  setAvailable(false);
  say(handleMsg, '');
  say(signupError, '');
  clearTimeout(timer);
  timer = setTimeout(() => {
    checking = check(value);
  }, CHECK_DELAY_MS);
});

/** The handle to sign up with, once it is known to be free (checks now if a check is pending). */
async function chosenHandle() {
  const value = handleInput.value;
  if (checked.handle !== value) {
    clearTimeout(timer);
    checking = check(value);
  }
  await checking;
  return checked.handle === value && checked.available ? value : null;
}

/** A sign-up step failed: back to the handle, saying why (a taken handle is re-checked). */
function failed(err) {
  say(signupError, friendly(err), 'error');
  if (err instanceof ApiError && (err.code === 'handle_taken' || err.code === 'invalid_handle')) {
    checked = { handle: '', available: false };
    checking = check(handleInput.value);
  }
}

byId('handle-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  say(signupError, '');
  if (!passkeysSupported()) {
    say(signupError, 'This browser cannot create passkeys: use an authenticator app instead.', 'error');
    return;
  }
  await busy(passkeyBtn, async () => {
    const value = await chosenHandle();
    if (!value) return;
    try {
      const { flowId, options } = await api('POST', '/auth/signup/passkey/options', startBody(value));
      const response = await webauthn().startRegistration({ optionsJSON: options });
      const done = await api('POST', '/auth/signup/passkey/verify', { flowId, response });
      signedUp(done.handle, done.recoveryCodes, 'passkey');
    } catch (err) {
      failed(err);
    }
  });
  setAvailable(checked.available && checked.handle === handleInput.value);
});

totpBtn.addEventListener('click', async () => {
  say(signupError, '');
  await busy(totpBtn, async () => {
    const value = await chosenHandle();
    if (!value) return;
    try {
      const setup = await api('POST', '/auth/signup/totp/options', startBody(value));
      totpFlowId = setup.flowId;
      fillTotpSetup('signup-totp', setup);
      showStep('totp');
    } catch (err) {
      failed(err);
    }
  });
  setAvailable(checked.available && checked.handle === handleInput.value);
});

byId('totp-back').addEventListener('click', () => {
  totpFlowId = null;
  showStep('handle');
});

byId('signup-totp-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const msg = byId('signup-totp-msg');
  const input = byId('signup-totp-code');
  const code = input.value.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(code)) {
    say(msg, 'Enter the 6 digits your app shows.', 'error');
    input.focus();
    return;
  }
  await busy(event.submitter, async () => {
    try {
      const done = await api('POST', '/auth/signup/totp/verify', { flowId: totpFlowId, code });
      signedUp(done.handle, done.recoveryCodes, 'authenticator app');
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'flow_expired' || err.code === 'handle_taken')) {
        showStep('handle');
        failed(err);
        return;
      }
      say(msg, friendly(err), 'error');
      input.select();
    }
  });
});

// Recovery codes, then progress. Provisioning began when the account was made: follow it at once,
// so that no step is missed while the person saves their codes.

let progress;

function signedUp(handle, codes, factor) {
  byId('codes-factor').textContent = factor;
  byId('progress-host').textContent = `${handle}${hostSuffix}`;
  showRecoveryCodes('signup-codes', codes, handle);
  progress = followProgress();
  showStep('codes');
}

byId('codes-saved').addEventListener('change', (event) => {
  byId('codes-continue').disabled = !event.target.checked;
});

byId('codes-continue').addEventListener('click', () => {
  showStep('progress');
  progress.shown();
});

/** Follows `/me/instance/progress`; once the person has passed their codes and it is ready, opens it. */
function followProgress() {
  const started = performance.now();
  const list = byId('progress-steps');
  const elapsed = byId('elapsed');
  let visible = false;
  let ready = false;
  let source;

  const seconds = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  let ticker = setInterval(() => {
    elapsed.textContent = seconds();
  }, 100);
  const stopTicking = () => clearInterval(ticker);

  /** When each step became the current one: a finished step shows how long it took. */
  const since = {};

  function mark(step) {
    const at = STEPS.indexOf(step === 'resuming' ? 'starting' : step);
    const now = performance.now();
    for (const li of list.children) {
      const name = li.dataset.step;
      const i = STEPS.indexOf(name);
      const state = i < at ? 'done' : i === at ? 'now' : '';
      if (state === 'now') since[name] ??= now;
      if (state === 'done' && li.className !== 'done' && since[name] !== undefined) {
        li.querySelector('.time').textContent = `${((now - since[name]) / 1000).toFixed(1)} s`;
      }
      li.className = state;
    }
  }

  function fail(text) {
    stopTicking();
    source?.close();
    // The step it failed at; a failure before any step began (e.g. no image) fails the first one.
    const now = [...list.querySelectorAll('li.now')];
    const first = list.querySelector('li:not(.done)');
    for (const li of now.length ? now : first ? [first] : []) li.className = 'failed';
    byId('progress-error-text').textContent = text;
    byId('progress-error').hidden = false;
  }

  async function open() {
    if (!visible || !ready) return;
    mark('ready');
    try {
      await openInstance();
    } catch (err) {
      fail(friendly(err));
    }
  }

  const failedText = 'Your instance could not be started. This is on our side, not yours: please try again.';

  function onReady() {
    source.close();
    ready = true;
    mark('ready');
    open();
  }

  /** The stream ended or dropped before the end: ask where things stand (EventSource reconnects meanwhile). */
  async function reconcile() {
    try {
      const { instance } = await api('GET', '/me');
      if (ready) return;
      if (instance?.state === 'running') onReady();
      // No instance any more: the attempt failed and was rolled back.
      else if (!instance || (instance.state !== 'provisioning' && instance.lastError)) fail(failedText);
    } catch (err) {
      if (source.readyState === EventSource.CLOSED) fail(friendly(err));
    }
  }

  function connect() {
    source = new EventSource('/me/instance/progress');
    source.addEventListener('progress', (event) => {
      const p = JSON.parse(event.data);
      // The server says what went wrong and what to do: show that rather than a generic line.
      if (p.step === 'failed') fail(p.message || failedText);
      else if (p.step === 'ready') onReady();
      else if (STEPS.includes(p.step) || p.step === 'resuming') mark(p.step);
    });
    source.addEventListener('error', () => {
      if (!ready) reconcile();
    });
  }

  byId('progress-retry').addEventListener('click', async (event) => {
    await busy(event.currentTarget, async () => {
      byId('progress-error').hidden = true;
      stopTicking();
      ticker = setInterval(() => {
        elapsed.textContent = seconds();
      }, 100);
      try {
        const me = await api('GET', '/me');
        if (me.instance) {
          // It exists but did not start: starting answers when it is up (or why not).
          mark('starting');
          await api('POST', '/me/instance/start');
          ready = true;
          await open();
        } else {
          await api('POST', '/me/instance/provision');
          connect();
        }
      } catch (err) {
        fail(friendly(err));
      }
    });
  });

  connect();
  return {
    shown() {
      visible = true;
      open();
    },
  };
}

if (!passkeysSupported()) {
  passkeyBtn.hidden = true;
  byId('passkey-help').textContent =
    'This browser cannot create passkeys, so your account will use an authenticator app.';
}
handleInput.focus();

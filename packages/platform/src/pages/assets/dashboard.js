// The dashboard: the person's instance, their ways of signing in, recovery codes and sessions,
// drawn from `GET /me` and redrawn after every change.
import {
  ApiError,
  ago,
  api,
  busy,
  byId,
  confirmAction,
  el,
  fillTotpSetup,
  formatBytes,
  formatUsd,
  friendly,
  openInstance,
  passkeysSupported,
  say,
  showRecoveryCodes,
  usdToMicros,
  webauthn,
} from './lib.js';

const REFRESH_MS = 15_000;
const STATE_TEXT = {
  running: 'Running',
  paused: 'Paused',
  stopped: 'Asleep',
  provisioning: 'Being set up',
};

let me = null;
let totpFlowId = null;

/** The person closed the step-up dialog: nothing was changed. */
class StepUpCancelled extends Error {}

function signedOut(err) {
  if (err instanceof ApiError && err.code === 'signed_out') {
    location.assign('/login?next=/dashboard');
    return true;
  }
  return false;
}

/** Shows what went wrong with a change in its section's message (or leaves, when signed out). */
function failed(msg, err) {
  if (err instanceof StepUpCancelled) say(msg, 'Nothing was changed.', 'info');
  else if (!signedOut(err)) say(msg, friendly(err), 'error');
}

/**
 * Asks for a fresh proof of a way of signing in, in place: the passkey, or a code from the app
 * or a recovery code. Resolves true once the server accepted one, false when cancelled.
 */
async function stepUp() {
  const start = await api('POST', '/me/step-up/options');
  const { methods } = start;
  let pending = start.flowId ? { flowId: start.flowId, options: start.options } : null;
  const dialog = byId('step-up');
  const passkey = byId('step-up-passkey');
  const form = byId('step-up-form');
  const input = byId('step-up-code');
  const msg = byId('step-up-msg');
  passkey.hidden = !(methods.passkey && passkeysSupported());
  form.hidden = !(methods.totp || methods.recovery);
  // The passkey is the main way when there is one; the code's button is, when there is not.
  form.querySelector('button[type=submit]').className =
    `btn ${passkey.hidden ? 'primary' : 'secondary'} block`;
  byId('step-up-label').textContent = !methods.totp
    ? 'One of your recovery codes'
    : methods.recovery
      ? 'A code from your authenticator app, or a recovery code'
      : 'The 6-digit code from your authenticator app';
  input.value = '';
  say(msg, '');
  if (passkey.hidden && form.hidden)
    say(msg, 'This browser cannot use your passkey. Open your dashboard where your passkey works.', 'error');
  dialog.showModal();
  if (!passkey.hidden) passkey.focus();
  else input.focus();
  return new Promise((resolve) => {
    const finish = (ok) => {
      passkey.onclick = null;
      form.onsubmit = null;
      dialog.oncancel = null;
      byId('step-up-cancel').onclick = null;
      dialog.close();
      resolve(ok);
    };
    passkey.onclick = () =>
      busy(passkey, async () => {
        try {
          const p = pending ?? (await api('POST', '/me/step-up/options'));
          pending = null;
          const response = await webauthn().startAuthentication({ optionsJSON: p.options });
          await api('POST', '/me/step-up/passkey', { flowId: p.flowId, response });
          finish(true);
        } catch (err) {
          say(msg, friendly(err), 'error');
        }
      });
    form.onsubmit = (event) => {
      event.preventDefault();
      const typed = input.value.trim();
      const digits = typed.replace(/\s+/g, '');
      if (!typed) {
        say(msg, 'Enter a code first.', 'error');
        input.focus();
        return;
      }
      // Six digits are an app's code; anything else is a recovery code (xxxx-xxxx-xxxx).
      const totp = /^\d{6}$/.test(digits);
      busy(event.submitter, async () => {
        try {
          await api('POST', totp ? '/me/step-up/totp' : '/me/step-up/recovery', {
            code: totp ? digits : typed,
          });
          finish(true);
        } catch (err) {
          say(msg, friendly(err), 'error');
          input.select();
        }
      });
    };
    byId('step-up-cancel').onclick = () => finish(false);
    dialog.oncancel = (event) => {
      event.preventDefault();
      finish(false);
    };
  });
}

/** Runs a change of factors; when the server wants a fresh proof first, asks for it and runs it again. */
async function withStepUp(change) {
  try {
    return await change();
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'step_up_required')) throw err;
  }
  if (!(await stepUp())) throw new StepUpCancelled();
  return change();
}

const SVG = 'http://www.w3.org/2000/svg';
// Dollars from the API, written with the one rounding rule (floored to the cent, "<$0.01").
const usd = (n) => formatUsd(usdToMicros(n));

/** 30 bars, one per day (UTC) up to today; days without requests are 0. */
function spendChart(daily, today) {
  const byDay = new Map(daily.map((d) => [d.day, d.cost]));
  const days = [];
  for (let i = 29; i >= 0; i--) {
    const d = new Date(`${today}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() - i);
    const day = d.toISOString().slice(0, 10);
    days.push({ day, cost: byDay.get(day) ?? 0 });
  }
  const max = Math.max(...days.map((d) => d.cost), 0.01);
  const width = 300;
  const height = 80;
  const bar = width / days.length;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height + 14}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute(
    'aria-label',
    `AI spend per day: ${usd(days.reduce((s, d) => s + d.cost, 0))} over 30 days, highest ${usd(max)}`,
  );
  for (const [i, d] of days.entries()) {
    const h = d.cost > 0 ? Math.max(2, (d.cost / max) * height) : 1;
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('x', String(i * bar + 1));
    rect.setAttribute('y', String(height - h));
    rect.setAttribute('width', String(bar - 2));
    rect.setAttribute('height', String(h));
    rect.setAttribute('class', d.cost > 0 ? 'bar' : 'bar empty');
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${d.day}: ${usd(d.cost)}`;
    rect.append(title);
    svg.append(rect);
  }
  for (const [x, anchor, text] of [
    [0, 'start', days[0].day.slice(5)],
    [width, 'end', 'today'],
  ]) {
    const label = document.createElementNS(SVG, 'text');
    label.setAttribute('x', String(x));
    label.setAttribute('y', String(height + 12));
    label.setAttribute('text-anchor', anchor);
    label.setAttribute('class', 'axis');
    label.textContent = text;
    svg.append(label);
  }
  return svg;
}

/** The AI card: budget left, this month's spend and the chart; hidden when the server has no AI budget service. */
async function loadUsage() {
  let usage;
  try {
    usage = await api('GET', '/me/usage');
  } catch (err) {
    if (err instanceof ApiError && err.code === 'no_ai_proxy') return;
    byId('ai-card').hidden = false;
    say(byId('ai-msg'), friendly(err), 'error');
    return;
  }
  byId('ai-card').hidden = false;
  say(byId('ai-msg'), '');
  byId('ai-remaining').textContent = usage.remaining === null ? 'No limit' : `${usd(usage.remaining)} left`;
  const limits = [
    ['today', 'today'],
    ['this month', 'month'],
    ['in total', 'total'],
  ]
    .filter(([, k]) => usage[k].limit !== null)
    .map(([label, k]) => `${usd(usage[k].spent)} of ${usd(usage[k].limit)} ${label}`);
  byId('ai-detail').textContent =
    `Spent ${usd(usage.month.spent)} this month. ${limits.length ? `Budget: ${limits.join(', ')}.` : ''}${usage.ownKey?.configured ? ' Your own Anthropic key is in use.' : ''}`;
  const chart = byId('ai-chart');
  chart.querySelector('svg')?.remove();
  chart.prepend(spendChart(usage.daily, usage.today.period));
}

/** The plan card (billing on only): the plan, what happens next, Checkout for a plan, the portal. */
async function loadBilling() {
  let b;
  try {
    b = await api('GET', '/me/billing');
  } catch (err) {
    if (signedOut(err)) return;
    byId('plan-card').hidden = false;
    say(byId('plan-msg'), friendly(err), 'error');
    return;
  }
  if (!b.enabled) return;
  byId('plan-card').hidden = false;
  const day = (iso) => new Date(iso).toLocaleDateString('en', { dateStyle: 'medium' });
  const paid = b.plan.id !== 'free';
  byId('plan-name').textContent = b.plan.name;
  byId('plan-detail').textContent = !paid
    ? `The free tier: ${usd(b.freeUsd)} of AI in total.`
    : `${usd(b.plan.monthlyUsd)} of AI a month.${
        b.graceUntil
          ? ` Your last payment did not go through: update your card by ${day(b.graceUntil)}, or the plan falls back to free then.`
          : b.cancelAtPeriodEnd && b.periodEnd
            ? ` Cancelled: it runs until ${day(b.periodEnd)}, then you are on the free tier.`
            : ''
      }${b.meteredUsd ? ` AI beyond the plan this month: ${usd(b.meteredUsd)}, billed with your next invoice.` : ''}`;
  const invoice = byId('plan-invoice');
  invoice.hidden = !b.nextInvoice;
  if (b.nextInvoice)
    invoice.textContent = `Next invoice: ${new Intl.NumberFormat('en', { style: 'currency', currency: b.nextInvoice.currency }).format(b.nextInvoice.amount)}${b.nextInvoice.at ? ` on ${day(b.nextInvoice.at)}` : ''}.`;
  byId('plan-manage').hidden = !b.hasCustomer;
  byId('plans').replaceChildren(
    ...(paid
      ? []
      : b.plans.map((p) =>
          el(
            'li',
            {},
            el(
              'div',
              {},
              el('div', { class: 'name' }, p.name),
              el(
                'div',
                { class: 'meta' },
                [
                  p.priceLabel,
                  `${usd(p.monthlyUsd)} of AI a month`,
                  p.memoryBytes ? `${formatBytes(p.memoryBytes)} memory` : null,
                  p.cpus ? `${p.cpus} ${p.cpus === 1 ? 'CPU' : 'CPUs'}` : null,
                  b.trialDays ? `${b.trialDays} days free` : null,
                ]
                  .filter(Boolean)
                  .join(' · '),
              ),
            ),
            el(
              'button',
              {
                type: 'button',
                class: 'btn primary small',
                onclick: (e) =>
                  busy(e.currentTarget, async () => {
                    try {
                      const { url } = await api('POST', '/me/billing/checkout', { plan: p.id });
                      location.assign(url);
                    } catch (err) {
                      failed(byId('plan-msg'), err);
                    }
                  }),
              },
              `Subscribe to ${p.name}`,
            ),
          ),
        )),
  );
}

byId('plan-manage').addEventListener('click', (e) =>
  busy(e.currentTarget, async () => {
    try {
      const { url } = await api('POST', '/me/billing/portal');
      location.assign(url);
    } catch (err) {
      failed(byId('plan-msg'), err);
    }
  }),
);

async function load() {
  try {
    me = await api('GET', '/me');
  } catch (err) {
    if (!signedOut(err)) say(byId('instance-msg'), friendly(err), 'error');
    return;
  }
  render();
}

function render() {
  const instance = me.instance;
  const state = byId('instance-state');
  state.className = `badge ${instance?.state ?? ''}`;
  state.textContent = instance ? STATE_TEXT[instance.state] : 'Not created yet';
  byId('instance-detail').textContent = !instance
    ? 'It is made when you open it.'
    : instance.state === 'running'
      ? `Last active ${ago(instance.lastActiveAt)}. It goes to sleep when idle, and wakes when you open it.`
      : instance.state === 'provisioning'
        ? 'It is being made; this takes a few seconds.'
        : `Last active ${ago(instance.lastActiveAt)}. It wakes when you open it.`;
  byId('instance-start').hidden =
    !instance || instance.state === 'running' || instance.state === 'provisioning';
  byId('instance-stop').hidden = instance?.state !== 'running' && instance?.state !== 'paused';

  const keys = me.factors.passkeys;
  byId('passkeys').replaceChildren(
    ...(keys.length
      ? keys.map((k) =>
          el(
            'li',
            {},
            el(
              'div',
              {},
              el('div', { class: 'name' }, k.name),
              el(
                'div',
                { class: 'meta' },
                `Added ${ago(k.createdAt)} · ${k.lastUsedAt ? `last used ${ago(k.lastUsedAt)}` : 'not used yet'}`,
              ),
            ),
            el(
              'button',
              {
                type: 'button',
                class: 'btn danger small',
                'aria-label': `Remove the passkey ${k.name}`,
                onclick: (e) => removePasskey(e.currentTarget, k),
              },
              'Remove',
            ),
          ),
        )
      : [el('li', { class: 'muted' }, 'No passkeys yet.')]),
  );

  const totp = me.factors.totp;
  byId('totp-state').textContent = totp ? 'On' : 'Off';
  byId('totp-state').className = `badge ${totp ? 'running' : ''}`;
  byId('totp-add').hidden = totp || !byId('totp-setup').hidden;
  byId('totp-remove').hidden = !totp;

  const left = me.recoveryCodesLeft;
  byId('codes-left').textContent =
    left === 0
      ? 'You have no recovery codes left. Generate new ones and keep them safe.'
      : `You have ${left} unused recovery ${left === 1 ? 'code' : 'codes'}. Each signs you in once if you lose your devices.`;
}

// Instance

byId('instance-open').addEventListener('click', (e) =>
  busy(e.currentTarget, async () => {
    try {
      if (!me?.instance) await api('POST', '/me/instance/provision');
      await openInstance();
    } catch (err) {
      say(byId('instance-msg'), friendly(err), 'error');
    }
  }),
);

for (const action of ['start', 'stop']) {
  byId(`instance-${action}`).addEventListener('click', (e) =>
    busy(e.currentTarget, async () => {
      const msg = byId('instance-msg');
      say(msg, action === 'start' ? 'Starting…' : 'Putting it to sleep…', 'info');
      try {
        await api('POST', `/me/instance/${action}`);
        say(msg, action === 'start' ? 'Your instance is running.' : 'Your instance is asleep.', 'ok');
      } catch (err) {
        if (!signedOut(err)) say(msg, friendly(err), 'error');
      }
      await load();
    }),
  );
}

// Passkeys

byId('passkey-add').addEventListener('submit', async (event) => {
  event.preventDefault();
  const msg = byId('passkey-msg');
  if (!passkeysSupported()) {
    say(msg, 'This browser cannot create passkeys.', 'error');
    return;
  }
  await busy(event.submitter, async () => {
    try {
      const name = byId('passkey-name').value.trim() || undefined;
      const { flowId, options } = await withStepUp(() => api('POST', '/me/passkeys/options'));
      const response = await webauthn().startRegistration({ optionsJSON: options });
      await api('POST', '/me/passkeys/verify', { flowId, response, name });
      byId('passkey-name').value = '';
      say(msg, 'Passkey added.', 'ok');
    } catch (err) {
      failed(msg, err);
    }
    await load();
  });
});

async function removePasskey(button, key) {
  const msg = byId('passkey-msg');
  say(msg, '');
  const sure = await confirmAction(
    `Remove the passkey “${key.name}”? You will no longer be able to sign in with it.`,
    'Remove passkey',
  );
  if (!sure) return;
  await busy(button, async () => {
    try {
      await withStepUp(() => api('DELETE', `/me/passkeys/${encodeURIComponent(key.id)}`));
      say(msg, 'Passkey removed.', 'ok');
    } catch (err) {
      failed(msg, err);
    }
  });
  await load();
}

// Authenticator app

byId('totp-add').addEventListener('click', (e) =>
  busy(e.currentTarget, async () => {
    const msg = byId('totp-msg');
    try {
      const setup = await withStepUp(() => api('POST', '/me/totp/options'));
      totpFlowId = setup.flowId;
      fillTotpSetup('dash-totp', setup);
      byId('totp-setup').hidden = false;
      byId('totp-add').hidden = true;
      say(msg, '');
      byId('dash-totp-code').focus();
    } catch (err) {
      failed(msg, err);
    }
  }),
);

byId('totp-cancel').addEventListener('click', () => {
  totpFlowId = null;
  byId('totp-setup').hidden = true;
  render();
});

byId('dash-totp-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = byId('dash-totp-code');
  const inline = byId('dash-totp-msg');
  const code = input.value.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(code)) {
    say(inline, 'Enter the 6 digits your app shows.', 'error');
    input.focus();
    return;
  }
  await busy(event.submitter, async () => {
    try {
      await api('POST', '/me/totp/verify', { flowId: totpFlowId, code });
    } catch (err) {
      if (!signedOut(err)) say(inline, friendly(err), 'error');
      input.select();
      return;
    }
    totpFlowId = null;
    byId('totp-setup').hidden = true;
    say(byId('totp-msg'), 'Authenticator app set up.', 'ok');
    await load();
  });
});

byId('totp-remove').addEventListener('click', async (e) => {
  const button = e.currentTarget;
  const msg = byId('totp-msg');
  say(msg, '');
  const sure = await confirmAction(
    'Remove your authenticator app? Its codes will no longer sign you in.',
    'Remove app',
  );
  if (!sure) return;
  await busy(button, async () => {
    try {
      await withStepUp(() => api('DELETE', '/me/totp'));
      say(msg, 'Authenticator app removed.', 'ok');
    } catch (err) {
      failed(msg, err);
    }
  });
  await load();
});

// The owner's own Matrix account (@handle), for Element or another Matrix client

async function loadMatrix() {
  try {
    const account = await api('GET', '/me/matrix');
    byId('matrix-homeserver').textContent = account.homeserverUrl;
    byId('matrix-id').textContent = account.userId;
    byId('matrix-card').hidden = false;
  } catch (err) {
    // No homeserver here: no card. Not registered yet: the card says so.
    if (err instanceof ApiError && err.code === 'matrix_not_ready') {
      byId('matrix-card').hidden = false;
      say(byId('matrix-msg'), friendly(err), 'info');
    } else if (!(err instanceof ApiError && err.code === 'matrix_off')) signedOut(err);
  }
}

byId('matrix-new-password').addEventListener('click', async (e) => {
  const button = e.currentTarget;
  const sure = await confirmAction(
    'Get a new Matrix password? The old one stops working, and your Matrix clients are signed out.',
    'Get a new password',
  );
  if (!sure) return;
  await busy(button, async () => {
    try {
      const { password, userId, homeserverUrl } = await withStepUp(() => api('POST', '/me/matrix/password'));
      byId('matrix-id').textContent = userId;
      byId('matrix-homeserver').textContent = homeserverUrl;
      byId('matrix-password').textContent = password;
      byId('matrix-password-block').hidden = false;
      say(byId('matrix-msg'), '');
    } catch (err) {
      failed(byId('matrix-msg'), err);
    }
  });
});

// Recovery codes and sessions

byId('codes-new').addEventListener('click', async (e) => {
  const button = e.currentTarget;
  const sure = await confirmAction(
    'Make new recovery codes? The codes you have now stop working at once.',
    'Make new codes',
  );
  if (!sure) return;
  await busy(button, async () => {
    try {
      const { recoveryCodes } = await withStepUp(() => api('POST', '/me/recovery-codes'));
      showRecoveryCodes('dash-codes', recoveryCodes, me.user.handle);
      byId('codes-block').hidden = false;
      say(byId('codes-msg'), '');
    } catch (err) {
      failed(byId('codes-msg'), err);
    }
  });
  await load();
});

byId('signout-all').addEventListener('click', async (e) => {
  const button = e.currentTarget;
  const sure = await confirmAction(
    'Sign out everywhere? Every device, and every open tab of your instance, will need to sign in again.',
    'Sign out everywhere',
  );
  if (!sure) return;
  await busy(button, async () => {
    try {
      await api('POST', '/auth/logout-all');
      location.assign('/login');
    } catch (err) {
      if (!signedOut(err)) say(byId('sessions-msg'), friendly(err), 'error');
    }
  });
});

const recovered = new URLSearchParams(location.search).get('recovered');
if (recovered !== null) {
  const notice = byId('notice');
  notice.textContent = `You signed in with a recovery code (${recovered} left). If you lost your device, add a new passkey or authenticator app below${Number(recovered) <= 3 ? ', and make new recovery codes' : ''}.`;
  notice.hidden = false;
  history.replaceState(null, '', '/dashboard');
}

const billingBack = new URLSearchParams(location.search).get('billing');
if (billingBack === 'done' || billingBack === 'cancelled') {
  const notice = byId('notice');
  notice.textContent =
    billingBack === 'done'
      ? 'Thank you: your plan starts as soon as Stripe confirms the payment (usually within seconds).'
      : 'Checkout was cancelled: nothing was charged.';
  notice.hidden = false;
  history.replaceState(null, '', '/dashboard');
}

await Promise.all([load(), loadUsage(), loadBilling(), loadMatrix()]);
setInterval(() => {
  if (document.hidden) return;
  load();
  loadUsage();
}, REFRESH_MS);

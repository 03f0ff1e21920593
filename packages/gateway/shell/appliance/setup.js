// @ts-check
// The appliance's first-boot setup (packages/gateway/src/appliance/routes.ts): the network when the
// machine is offline, the Anthropic key or skipping it, then the desktop and its onboarding.

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const error = $('setup-error');

/** @param {string} path @param {RequestInit} [init] */
async function api(path, init = {}) {
  const res = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

/** @param {unknown} err */
function show(err) {
  error.textContent = err instanceof Error ? err.message : String(err);
  error.hidden = false;
}

async function finish() {
  await api('/api/appliance/setup', { method: 'POST', body: '{}' });
  location.assign('/');
}

async function showNetwork() {
  const step = $('step-network');
  const list = $('wifi-list');
  const state = await api('/api/appliance');
  $('setup-version').textContent = `Matrix OS ${state.version} · setting up this machine`;
  if (state.setupDone) return location.assign('/');
  if (state.network.online) return;
  step.hidden = false;
  if (!state.network.wifiDevice) {
    $('network-state').textContent = 'No network: plug in a network cable (this machine has no Wi-Fi).';
    return;
  }
  $('network-state').textContent = 'Choose a Wi-Fi network:';
  const { networks } = await api('/api/appliance/wifi');
  list.replaceChildren(
    ...networks.map((/** @type {{ssid: string, security: string, signal: number}} */ n) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'button';
      b.textContent = `${n.ssid} · ${n.security} · ${'▮'.repeat(n.signal)}`;
      b.addEventListener('click', () => pick(n.ssid, n.security));
      li.append(b);
      return li;
    }),
  );
}

/** @param {string} ssid @param {string} security */
async function pick(ssid, security) {
  if (security === 'open') return join(ssid, undefined);
  $('wifi-ssid').textContent = ssid;
  const form = $('wifi-form');
  form.hidden = false;
  form.onsubmit = (e) => {
    e.preventDefault();
    join(ssid, /** @type {HTMLInputElement} */ ($('wifi-pass')).value);
  };
}

/** @param {string} ssid @param {string | undefined} passphrase */
async function join(ssid, passphrase) {
  error.hidden = true;
  try {
    const net = await api('/api/appliance/wifi', {
      method: 'POST',
      body: JSON.stringify({ ssid, passphrase }),
    });
    $('network-state').textContent = net.online
      ? `Connected to ${ssid}.`
      : `Joined ${ssid}; waiting for an address…`;
    $('wifi-form').hidden = true;
  } catch (err) {
    show(err);
  }
}

$('key-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  error.hidden = true;
  try {
    const apiKey = /** @type {HTMLInputElement} */ ($('api-key')).value.trim();
    await api('/api/settings/anthropic-key', { method: 'PUT', body: JSON.stringify({ apiKey }) });
    await finish();
  } catch (err) {
    show(err);
  }
});
$('key-skip').addEventListener('click', () => finish().catch(show));
$('wifi-rescan').addEventListener('click', () => showNetwork().catch(show));

showNetwork().catch(show);
// Setup finished elsewhere (another device, or the appliance test through the API): go on.
setInterval(async () => {
  const state = await api('/api/appliance').catch(() => null);
  if (state?.setupDone) location.assign('/');
}, 3000);

// The admin dashboard: users and instances from `GET /admin/overview`, refreshed while visible,
// with the operations an operator needs and a search over both lists.
import {
  ApiError,
  ago,
  api,
  busy,
  byId,
  confirmAction,
  el,
  formatBytes,
  formatUsd,
  friendly,
  openInstance,
  say,
  usdToMicros,
} from './lib.js';

const REFRESH_MS = 10_000;
const STATE_TEXT = { running: 'Running', paused: 'Paused', stopped: 'Asleep', provisioning: 'Being set up' };

let overview = null;
const search = byId('search');
const status = byId('updated');
const error = byId('admin-error');

async function load() {
  try {
    overview = await api('GET', '/admin/overview');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) location.assign('/login?next=/admin');
    else say(error, friendly(err), 'error');
    return;
  }
  say(error, '');
  status.textContent = `Updated ${new Date(overview.generatedAt).toLocaleTimeString()}`;
  render();
}

function matches(query, ...fields) {
  return (
    !query ||
    fields.some((f) =>
      String(f ?? '')
        .toLowerCase()
        .includes(query),
    )
  );
}

function badge(state) {
  return state
    ? el('span', { class: `badge ${state}` }, STATE_TEXT[state] ?? state)
    : el('span', { class: 'muted' }, 'none');
}

// Dollars from the API, written with the one rounding rule (floored to the cent, "<$0.01").
const usd = (n) => formatUsd(usdToMicros(n));

function memoryCell(stats) {
  if (!stats) return el('span', { class: 'muted' }, '—');
  const share = stats.memoryLimitBytes
    ? Math.min(100, (stats.memoryBytes / stats.memoryLimitBytes) * 100)
    : 0;
  const meter = el('span', { class: 'meter', 'aria-hidden': 'true' }, el('span', { class: 'meter-fill' }));
  /** @type {HTMLElement} */ (meter.firstChild).style.width = `${share.toFixed(0)}%`;
  return el(
    'span',
    {},
    `${formatBytes(stats.memoryBytes)}${stats.memoryLimitBytes ? ` of ${formatBytes(stats.memoryLimitBytes)}` : ''}`,
    meter,
  );
}

function actionButton(label, action, handle, kind = 'secondary') {
  return el(
    'button',
    {
      type: 'button',
      class: `btn ${kind} small`,
      'data-action': action,
      'data-handle': handle,
      'aria-label': `${label} ${handle}`,
    },
    label,
  );
}

function render() {
  const t = overview.totals;
  const totals = {
    users: t.users,
    instances: t.instances,
    awake: t.paused ? `${t.awake} (+${t.paused} paused)` : t.awake,
    memory: formatBytes(t.memoryBytes),
    aiSpend: t.aiSpendMonth === null ? '—' : usd(t.aiSpendMonth),
  };
  for (const node of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-total]')))
    node.textContent = String(totals[node.dataset.total]);

  const query = search.value.trim().toLowerCase();
  const instances = overview.instances.filter((i) =>
    matches(
      query,
      i.handle,
      i.state,
      STATE_TEXT[i.state],
      i.hasAccount ? 'account' : 'no account',
      i.node ?? '',
    ),
  );
  byId('instances').tBodies[0].replaceChildren(
    ...instances.map((i) => {
      const awake = i.state === 'running' || i.state === 'paused';
      return el(
        'tr',
        { 'data-handle': i.handle },
        el(
          'td',
          { class: 'primary-cell', 'data-label': 'Handle' },
          el(
            'div',
            {},
            el('strong', {}, i.handle),
            i.hasAccount ? '' : el('span', { class: 'muted' }, ' (no account)'),
            // Swarm: the node holding its data (and the instance when it runs).
            i.node ? el('span', { class: 'muted', 'data-node': i.node }, ` · node ${i.node}`) : '',
          ),
        ),
        el('td', { 'data-label': 'State' }, badge(i.state)),
        el('td', { 'data-label': 'Last activity', title: i.lastActiveAt }, ago(i.lastActiveAt)),
        el('td', { class: 'num', 'data-label': 'Memory' }, memoryCell(i.stats)),
        el('td', { class: 'num', 'data-label': 'CPU' }, i.stats ? `${i.stats.cpuPercent.toFixed(1)} %` : '—'),
        el(
          'td',
          { class: 'num', 'data-label': 'AI spend' },
          i.aiSpend ? `${usd(i.aiSpend.month)} / ${usd(i.aiSpend.total)}` : '—',
        ),
        el(
          'td',
          { class: 'actions-cell' },
          el(
            'div',
            { class: 'row-actions' },
            actionButton('Open', 'open', i.handle),
            awake ? '' : actionButton('Start', 'start', i.handle),
            awake ? actionButton('Restart', 'restart', i.handle) : '',
            awake ? actionButton('Stop', 'stop', i.handle, 'danger') : '',
          ),
        ),
      );
    }),
  );
  byId('instances-empty').hidden = instances.length > 0;

  const users = overview.users.filter((u) =>
    matches(query, u.handle, u.role, u.instanceState, STATE_TEXT[u.instanceState]),
  );
  byId('users').tBodies[0].replaceChildren(
    ...users.map((u) =>
      el(
        'tr',
        { 'data-handle': u.handle },
        el('td', { class: 'primary-cell', 'data-label': 'Handle' }, el('strong', {}, u.handle)),
        el('td', { 'data-label': 'Role' }, u.role === 'admin' ? 'Admin' : 'User'),
        el('td', { 'data-label': 'Signed up', title: u.createdAt }, ago(u.createdAt)),
        el('td', { 'data-label': 'Instance' }, badge(u.instanceState)),
      ),
    ),
  );
  byId('users-empty').hidden = users.length > 0;
}

const CONFIRM = {
  stop: (h) => [`Stop ${h}'s instance? It wakes again on its owner's next visit.`, 'Stop'],
  restart: (h) => [`Restart ${h}'s instance? Open pages of it reconnect after a moment.`, 'Restart'],
};

byId('instances').addEventListener('click', async (event) => {
  const button = event.target.closest('[data-action]');
  if (!button) return;
  const { action, handle } = button.dataset;
  if (CONFIRM[action] && !(await confirmAction(...CONFIRM[action](handle)))) return;
  await busy(button, async () => {
    try {
      if (action === 'open') {
        await openInstance(handle);
        return;
      }
      status.textContent = `${action === 'stop' ? 'Stopping' : action === 'start' ? 'Starting' : 'Restarting'} ${handle}…`;
      await api('POST', `/containers/${encodeURIComponent(handle)}/${action}`);
      say(error, '');
    } catch (err) {
      say(error, friendly(err), 'error');
    }
    await load();
  });
});

search.addEventListener('input', () => {
  if (overview) render();
});

await load();
setInterval(() => {
  if (!document.hidden) load();
}, REFRESH_MS);

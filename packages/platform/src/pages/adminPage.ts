import { html } from 'hono/html';
import type { RolloutView } from '../rollout/createRollouts.ts';
import { type Html, layout, type Viewer } from './layout.ts';

/**
 * `/admin`: every user and instance, with state, last activity, the engine's memory and CPU
 * figures and what each one's AI cost (from the LLM proxy), the operations an operator needs, and
 * a search over both lists. `admin.js` fills it
 * from `GET /admin/overview` and refreshes it.
 */
export function adminPage(d: { viewer: Viewer; runtime: string; rollout?: RolloutView | null }): Html {
  const body = html`<div class="container">
<div class="page-head">
  <h1>Admin</h1>
  <p>Users and instances on this server (runtime: <strong>${d.runtime}</strong>).</p>
</div>
<div class="totals" id="totals" aria-label="Totals">
  <div class="total"><div class="value" data-total="users">–</div><p class="label">Users</p></div>
  <div class="total"><div class="value" data-total="instances">–</div><p class="label">Instances</p></div>
  <div class="total"><div class="value" data-total="awake">–</div><p class="label">Awake</p></div>
  <div class="total"><div class="value" data-total="memory">–</div><p class="label">Memory in use</p></div>
  <div class="total"><div class="value" data-total="aiSpend">–</div><p class="label">AI spend this month</p></div>
</div>
<div class="toolbar">
  <div class="search">
    <label for="search" class="visually-hidden">Search users and instances</label>
    <input type="search" id="search" placeholder="Search by handle, state or role" autocomplete="off">
  </div>
  <span class="muted" id="updated" role="status"></span>
</div>
<p class="msg error" id="admin-error" role="alert"></p>
${d.rollout ? rolloutCard(d.rollout) : ''}

<section class="card table-card" aria-labelledby="instances-title">
  <h2 id="instances-title">Instances</h2>
  <table class="table" id="instances">
    <thead><tr><th scope="col">Handle</th><th scope="col">State</th><th scope="col">Last activity</th>
      <th scope="col">Memory</th><th scope="col">CPU</th><th scope="col">AI spend (month / total)</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody></tbody>
  </table>
  <p class="empty" id="instances-empty" hidden>No instances match.</p>
</section>

<section class="card table-card" aria-labelledby="users-title">
  <h2 id="users-title">Users</h2>
  <table class="table" id="users">
    <thead><tr><th scope="col">Handle</th><th scope="col">Role</th><th scope="col">Signed up</th><th scope="col">Instance</th></tr></thead>
    <tbody></tbody>
  </table>
  <p class="empty" id="users-empty" hidden>No users match.</p>
</section>
</div>`;
  return layout({ title: 'Admin', body, viewer: d.viewer, current: 'admin', scripts: ['admin.js'] });
}

const ROLLOUT_STATE: Record<RolloutView['state'], string> = {
  running: 'in progress',
  done: 'done',
  failed: 'failed: instances stayed on their image',
  interrupted: 'interrupted (the platform stopped)',
};

/** The newest rolling image upgrade: where it stands and, when it failed, why (GET /admin/rollout). */
function rolloutCard(r: RolloutView): Html {
  const c = r.counts;
  return html`<section class="card" id="rollout" aria-labelledby="rollout-title" data-state="${r.state}">
  <h2 id="rollout-title">Instance image rollout: ${ROLLOUT_STATE[r.state]}</h2>
  <p>To <code>${r.image}</code> (started ${r.startedAt}${r.current ? html`, moving <strong>${r.current}</strong>` : ''}):
    ${c.moved} moved, ${c.on_wake} on next wake, ${c.pending} waiting, ${c.rolled_back} rolled back, ${c.not_reached} not reached, of ${c.total}.</p>
  ${r.error ? html`<p class="msg error" id="rollout-error" role="alert">${r.error}</p>` : ''}
</section>`;
}

// The Jobs app: the scheduled jobs in ~/jobs, their schedule in words, next run, last status;
// run now, enable and disable; each job's run history with its output; the repo and its sync.

import { api, getJson } from './lib/api.js';
import { h, icon, timeAgo } from './lib/dom.js';

const pad = (n) => String(n).padStart(2, '0');
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The common shapes of a cron in words; anything else is shown as written. */
export function scheduleInWords(cron, timezone) {
  const f = cron.trim().split(/\s+/);
  const tz = timezone && timezone !== 'UTC' ? ` (${timezone})` : ' (UTC)';
  const [sec, min, hour, dom, mon, dow] = f.length === 6 ? f : ['0', ...f];
  const every = /^\*\/(\d+)$/;
  if (f.length === 6 && every.test(sec) && [min, hour, dom, mon, dow].every((x) => x === '*'))
    return `every ${every.exec(sec)[1]} seconds`;
  if (f.length === 6 && sec === '*' && [min, hour, dom, mon, dow].every((x) => x === '*'))
    return 'every second';
  if (sec !== '0' || mon !== '*') return `${cron}${tz}`;
  if (min === '*' && hour === '*' && dom === '*' && dow === '*') return 'every minute';
  if (every.test(min) && hour === '*' && dom === '*' && dow === '*')
    return `every ${every.exec(min)[1]} minutes`;
  if (/^\d+$/.test(min) && hour === '*' && dom === '*' && dow === '*') return `every hour at :${pad(min)}`;
  if (/^\d+$/.test(min) && /^\d+$/.test(hour)) {
    const at = `at ${pad(hour)}:${pad(min)}${tz}`;
    if (dom === '*' && dow === '*') return `every day ${at}`;
    if (dom === '*' && dow === '1-5') return `weekdays ${at}`;
    if (dom === '*' && /^[0-6]$/.test(dow)) return `every ${DAYS[Number(dow)]} ${at}`;
    if (/^\d+$/.test(dom) && dow === '*') return `on day ${dom} of every month ${at}`;
  }
  return `${cron}${tz}`;
}

const inWhen = (iso) => {
  if (!iso) return 'not scheduled';
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (s < 60) return `in ${Math.max(s, 0)} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86400) return `in ${Math.round(s / 3600)} h`;
  return new Date(iso).toLocaleString();
};

export function createJobsApp() {
  const root = h('div', { class: 'jobs' });
  let selected = null;

  const status = (s) =>
    h('span', { class: 'job-status', dataset: { status: s ?? 'never' } }, s ?? 'never run');

  function button(label, onclick, extra = {}) {
    return h('button', { type: 'button', class: 'button', onclick, ...extra }, label);
  }

  async function act(path, el) {
    if (el) el.disabled = true;
    try {
      await api(path, { method: 'POST' });
    } catch (err) {
      alert(err.message);
    }
    await refresh();
  }

  function jobRow(job) {
    return h(
      'li',
      { class: 'job-row', dataset: { job: job.id, enabled: String(job.enabledNow) } },
      h(
        'div',
        { class: 'job-main' },
        h('strong', { class: 'job-id' }, job.id),
        h('span', { class: 'job-desc' }, job.description || ''),
        h('span', { class: 'job-schedule' }, scheduleInWords(job.cron, job.timezone)),
        h('span', { class: 'job-next' }, job.enabledNow ? `next ${inWhen(job.nextRun)}` : 'disabled'),
        job.running
          ? h('span', { class: 'job-status', dataset: { status: 'running' } }, 'running')
          : status(job.lastRun?.status),
      ),
      h(
        'div',
        { class: 'job-actions' },
        button('Run now', (e) => act(`api/jobs/${job.id}/run`, e.currentTarget), {
          class: 'button job-run',
          disabled: job.running,
        }),
        button(
          job.enabledNow ? 'Disable' : 'Enable',
          (e) => act(`api/jobs/${job.id}/${job.enabledNow ? 'disable' : 'enable'}`, e.currentTarget),
          {
            class: 'button job-toggle',
          },
        ),
        button('History', () => showHistory(job.id), { class: 'button job-history' }),
      ),
    );
  }

  async function showHistory(id) {
    selected = id;
    const { runs } = await getJson(`api/jobs/${id}/runs?limit=20`);
    const panel = root.querySelector('.job-runs');
    const items = runs.map((run) =>
      h(
        'li',
        { class: 'run-row', dataset: { run: String(run.id), status: run.status } },
        h(
          'button',
          { type: 'button', class: 'run-open', onclick: () => showOutput(id, run.id) },
          status(run.status),
          h('span', {}, ` ${timeAgo(run.startedAt)} · ${run.trigger}${run.late ? ' (late)' : ''}`),
          h('span', { class: 'file-meta' }, run.durationMs === null ? '' : ` ${run.durationMs} ms`),
        ),
      ),
    );
    panel.replaceChildren(
      h('h3', {}, `Runs of ${id}`),
      items.length ? h('ul', { class: 'run-list' }, items) : h('p', {}, 'No runs yet.'),
      h('pre', { class: 'run-output', hidden: true }),
    );
  }

  async function showOutput(id, runId) {
    const run = await getJson(`api/jobs/${id}/runs/${runId}`);
    const pre = /** @type {HTMLElement} */ (root.querySelector('.run-output'));
    pre.hidden = false;
    pre.dataset.run = String(run.id);
    pre.textContent = `${run.output || '(no output)'}${run.error ? `\n\n${run.error}` : ''}`;
  }

  async function sync(el) {
    el.disabled = true;
    const out = root.querySelector('.repo-sync-result');
    try {
      const r = await (await api('api/jobs/repo/sync', { method: 'POST' })).json();
      out.textContent = `Synced: ${r.action}`;
    } catch (err) {
      out.textContent = `Sync failed: ${err.message}`;
    }
    el.disabled = false;
  }

  async function refresh() {
    let list;
    let repo;
    try {
      [list, repo] = await Promise.all([getJson('api/jobs'), getJson('api/jobs/repo')]);
    } catch (err) {
      root.replaceChildren(h('div', { class: 'files-empty' }, `Jobs are not available: ${err.message}`));
      return;
    }
    const problems = list.problems.map((p) =>
      h(
        'li',
        { class: 'job-problem' },
        icon('alert'),
        ` ${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`,
      ),
    );
    root.replaceChildren(
      h(
        'div',
        { class: 'repo-bar' },
        h(
          'span',
          { class: 'repo-state' },
          repo.initialized ? `~/jobs · ${repo.branch} · ${repo.commits} commits` : 'no repo yet',
        ),
        h('span', { class: 'file-meta' }, repo.remote ? ` · ${repo.remote.url}` : ' · no remote'),
        repo.remote ? button('Sync', (e) => sync(e.currentTarget), { class: 'button repo-sync' }) : '',
        h('span', { class: 'repo-sync-result' }),
      ),
      problems.length ? h('ul', { class: 'job-problems' }, problems) : '',
      list.jobs.length
        ? h('ul', { class: 'job-list', 'aria-label': 'Jobs' }, list.jobs.map(jobRow))
        : h('div', { class: 'files-empty' }, 'No jobs yet. Ask your AI: "every morning at 8, …"'),
      h('div', { class: 'job-runs' }),
    );
    if (selected) await showHistory(selected);
  }

  return { element: root, open: refresh, refresh };
}

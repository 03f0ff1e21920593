// The landing page's live count of instances, refreshed while the page is visible.
import { api } from './lib.js';

const REFRESH_MS = 15_000;

async function refresh() {
  if (document.hidden) return;
  try {
    const { instances } = await api('GET', '/stats');
    for (const node of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-count]'))) {
      node.textContent = String(instances[node.dataset.count]);
    }
    document.getElementById('total-noun').textContent = instances.total === 1 ? 'instance' : 'instances';
  } catch {
    // The count is a nicety: keep showing the last one.
  }
}

setInterval(refresh, REFRESH_MS);
document.addEventListener('visibilitychange', refresh);

// @ts-check
// The appliance's part of Settings (only on a Matrix OS appliance: GET api/appliance answers there):
// the version, the update status, and the factory reset.

import { api } from '../lib/api.js';
import { h } from '../lib/dom.js';

/** @type {Record<string, string>} */
const UPDATE_WORDS = {
  current: 'Up to date',
  downloading: 'Downloading an update',
  installed: 'Update installed: it starts at the next restart',
  updated: 'Updated',
  failed: 'The new version did not start; going back to the previous one',
  'rolled-back': 'Rolled back to the previous version',
  error: 'The last update failed',
};

/**
 * @param {{ version: string, update: null | { state: string, target: string, message: string, at: string } }} appliance
 */
export function applianceSection(appliance) {
  const update = appliance.update;
  const line = update
    ? `${UPDATE_WORDS[update.state] ?? update.state}${update.message ? ` (${update.message})` : ''}`
    : 'No update checked yet';
  const result = h('p', { role: 'status', hidden: true });
  const reset = h('button', { type: 'button', class: 'button' }, 'Factory reset…');
  reset.addEventListener('click', async () => {
    const wipe = confirm(
      'Also delete your files and settings? OK: delete everything. Cancel: keep them and only run the setup again.',
    );
    if (
      !confirm(
        wipe
          ? 'Delete all files and settings and restart the setup?'
          : 'Restart the first-boot setup (your files stay)?',
      )
    )
      return;
    try {
      await api('api/appliance/factory-reset', { method: 'POST', json: { wipe } });
      result.className = 'form-ok';
      result.textContent = 'Resetting: the setup screen appears in a moment.';
    } catch (err) {
      result.className = 'form-error';
      result.textContent = `Factory reset failed: ${/** @type {Error} */ (err).message}`;
    }
    result.hidden = false;
  });
  return h(
    'section',
    { 'aria-labelledby': 'settings-appliance' },
    h('h3', { id: 'settings-appliance' }, 'This machine'),
    h(
      'dl',
      { class: 'about' },
      h('dt', {}, 'Matrix OS'),
      h('dd', {}, appliance.version),
      h('dt', {}, 'Updates'),
      h('dd', { 'data-update-state': update?.state ?? 'none' }, line),
    ),
    h('div', { class: 'row' }, reset),
    result,
  );
}

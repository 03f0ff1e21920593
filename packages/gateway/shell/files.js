// @ts-check
// The file browser: the home over /files. Folders, text files (view and edit), images, uploads.

import { api, fileUrl, getJson } from './lib/api.js';
import { formatBytes, h, icon, timeAgo } from './lib/dom.js';

const TEXT =
  /\.(md|markdown|txt|json|jsonl|ya?ml|toml|csv|tsv|log|html?|css|m?js|ts|py|sh|xml|svg|ini|conf)$/i;
const IMAGE = /\.(png|jpe?g|gif|webp|avif|bmp|ico)$/i;
const TEXT_LIMIT = 2 * 1024 * 1024;

export function createFileBrowser() {
  let path = '';
  const root = h('div', { class: 'files' });

  async function show(dir) {
    path = dir;
    let listing;
    try {
      listing = await getJson(dir ? `${fileUrl(dir)}/` : 'files/');
    } catch (err) {
      root.replaceChildren(
        bar(),
        h('div', { class: 'files-empty' }, `This folder cannot be opened: ${err.message}`),
      );
      return;
    }
    const rows = listing.entries.map((entry) => {
      const child = dir ? `${dir}/${entry.name}` : entry.name;
      const open = () => (entry.type === 'directory' ? show(child) : view(child, entry));
      return h(
        'li',
        {
          class: 'file-row',
          tabindex: 0,
          role: 'button',
          dataset: { type: entry.type, name: entry.name },
          onclick: open,
          onkeydown: (e) => (e.key === 'Enter' ? open() : undefined),
        },
        icon(entry.type === 'directory' ? 'folder' : 'file'),
        h('span', { class: 'file-name' }, entry.name),
        h('span', { class: 'file-meta' }, entry.type === 'directory' ? '' : formatBytes(entry.size)),
        h('span', { class: 'file-meta' }, timeAgo(entry.modifiedAt)),
      );
    });
    root.replaceChildren(
      bar(),
      rows.length
        ? h('ul', { class: 'file-list', 'aria-label': 'Files' }, rows)
        : h('div', { class: 'files-empty' }, 'This folder is empty.'),
    );
  }

  function crumbs(target) {
    const parts = target ? target.split('/') : [];
    /** @type {HTMLElement[]} */
    const out = [
      h(
        'button',
        {
          type: 'button',
          class: 'crumb',
          onclick: () => show(''),
          'aria-current': parts.length ? null : 'page',
        },
        'Home',
      ),
    ];
    parts.forEach((part, i) => {
      const to = parts.slice(0, i + 1).join('/');
      const current = i === parts.length - 1;
      out.push(h('span', { class: 'crumb-sep' }, '/'));
      out.push(
        h(
          'button',
          {
            type: 'button',
            class: 'crumb',
            'aria-current': current ? 'page' : null,
            onclick: current ? null : () => show(to),
          },
          part,
        ),
      );
    });
    return h('nav', { class: 'crumbs', 'aria-label': 'Path' }, out);
  }

  function bar() {
    const picker = h('input', {
      type: 'file',
      multiple: true,
      hidden: true,
      onchange: () => upload(picker.files),
    });
    return h(
      'div',
      { class: 'files-bar' },
      crumbs(path),
      picker,
      h(
        'button',
        { type: 'button', class: 'button small', onclick: () => picker.click() },
        icon('upload'),
        'Upload',
      ),
    );
  }

  async function upload(list) {
    for (const file of list) {
      const target = path ? `${path}/${file.name}` : file.name;
      try {
        await api(fileUrl(target), { method: 'PUT', body: file });
      } catch (err) {
        alertIn(root, `${file.name} was not uploaded: ${err.message}`);
      }
    }
    show(path);
  }

  async function view(file, entry) {
    const back = h(
      'button',
      { type: 'button', class: 'button small', onclick: () => show(path) },
      icon('back'),
      'Back',
    );
    const download = h(
      'a',
      { class: 'button small', href: fileUrl(file), download: entry.name },
      icon('download'),
      'Download',
    );
    const remove = h(
      'button',
      { type: 'button', class: 'button small danger', onclick: () => removeFile(file, entry) },
      icon('trash'),
      'Delete',
    );
    const body = h('div', { class: 'file-view-body' });
    const actions = [back, download, remove];
    root.replaceChildren(
      h('div', { class: 'file-view' }, h('div', { class: 'files-bar' }, crumbs(file), actions), body),
    );
    if (IMAGE.test(entry.name)) {
      body.append(h('img', { src: fileUrl(file), alt: entry.name }));
    } else if (TEXT.test(entry.name) && entry.size <= TEXT_LIMIT) {
      const text = await (await api(fileUrl(file))).text();
      const pre = h('pre', {}, text);
      body.append(pre);
      const edit = h(
        'button',
        { type: 'button', class: 'button small', onclick: () => startEdit(file, text, body, edit) },
        icon('edit'),
        'Edit',
      );
      remove.before(edit);
    } else {
      body.append(
        h(
          'div',
          { class: 'files-empty' },
          `${entry.name} · ${formatBytes(entry.size)}. Download it to open it.`,
        ),
      );
    }
  }

  function startEdit(file, text, body, editButton) {
    const area = h('textarea', { spellcheck: 'false', 'aria-label': `Contents of ${file}` });
    area.value = text;
    const save = h('button', { type: 'button', class: 'button small primary' }, 'Save');
    save.addEventListener('click', async () => {
      save.disabled = true;
      try {
        await api(fileUrl(file), {
          method: 'PUT',
          body: area.value,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        });
        body.replaceChildren(h('pre', {}, area.value));
        save.replaceWith(editButton);
      } catch (err) {
        save.disabled = false;
        alertIn(body, `Not saved: ${err.message}`);
      }
    });
    editButton.replaceWith(save);
    body.replaceChildren(area);
    area.focus();
  }

  async function removeFile(file, entry) {
    const confirmRow = h(
      'div',
      { class: 'notice error' },
      `Delete ${entry.name}? This cannot be undone.`,
      h('div', { class: 'row' }),
    );
    const yes = h('button', { type: 'button', class: 'button small danger' }, 'Delete');
    const no = h('button', { type: 'button', class: 'button small' }, 'Keep');
    /** @type {HTMLElement} */ (confirmRow.lastChild).append(yes, ' ', no);
    no.addEventListener('click', () => confirmRow.remove());
    yes.addEventListener('click', async () => {
      try {
        await api(fileUrl(file), { method: 'DELETE' });
        show(path);
      } catch (err) {
        confirmRow.replaceWith(h('div', { class: 'notice error' }, `Not deleted: ${err.message}`));
      }
    });
    root.querySelector('.file-view-body').prepend(confirmRow);
  }

  function alertIn(where, message) {
    where.prepend(h('div', { class: 'notice error', role: 'alert' }, message));
  }

  return {
    element: root,
    open: () => show(path),
    /** A file changed: refresh the folder on screen if it is the one that changed. */
    changed(changedPath) {
      const dir = changedPath.split('/').slice(0, -1).join('/');
      if (dir === path && root.querySelector('.file-list, .files-empty') && !root.querySelector('.file-view'))
        show(path);
    },
  };
}

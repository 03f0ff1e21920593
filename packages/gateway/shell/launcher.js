// @ts-check
// The launcher: the system's own windows (Files, Settings, Jobs, Community) and every app in ~/apps.

import { getJson } from './lib/api.js';
import { h, hueOf, icon } from './lib/dom.js';
import { openWindow, windowOf } from './lib/windows.js';

export function createLauncher({ el, openFiles, openSettings, openJobs, openCommunity }) {
  let apps = [];

  /** @param {{ label: string, hue: number, glyph: Element, onOpen: () => void, name?: string }} spec */
  function tile({ label, hue, glyph, onOpen, name }) {
    const badge = h('span', { class: 'launcher-icon' }, glyph);
    badge.style.setProperty('--hue', String(hue));
    return h(
      'button',
      {
        type: 'button',
        class: 'launcher-item',
        title: label,
        dataset: name ? { app: name } : {},
        onclick: onOpen,
      },
      badge,
      h('span', { class: 'launcher-label' }, label),
    );
  }

  function render() {
    el.replaceChildren(
      tile({ label: 'Files', hue: 215, glyph: icon('folder'), onOpen: openFiles }),
      tile({ label: 'Settings', hue: 260, glyph: icon('gear'), onOpen: openSettings }),
      ...(openJobs ? [tile({ label: 'Jobs', hue: 30, glyph: icon('history'), onOpen: openJobs })] : []),
      ...(openCommunity
        ? [tile({ label: 'Community', hue: 160, glyph: icon('people'), onOpen: openCommunity })]
        : []),
      ...apps.map((app) =>
        tile({
          label: app.title,
          name: app.name,
          hue: hueOf(app.name),
          glyph: app.title.trim().charAt(0).toUpperCase() || '?',
          onOpen: () => openApp(app),
        }),
      ),
    );
  }

  /** An app in a window: a sandboxed iframe with scripts and forms only, in an opaque origin. */
  function openApp(app) {
    const frame = h('iframe', {
      src: app.url,
      title: app.title,
      sandbox: 'allow-scripts allow-forms',
      referrerpolicy: 'no-referrer',
      loading: 'eager',
    });
    const reload = h(
      'button',
      {
        type: 'button',
        class: 'icon-button',
        title: 'Reload',
        'aria-label': 'Reload',
        onclick: () => frame.setAttribute('src', app.url),
      },
      icon('reload'),
    );
    return openWindow({
      id: `app:${app.name}`,
      title: app.title,
      hue: hueOf(app.name),
      content: frame,
      actions: [reload],
      width: 680,
      height: 540,
    });
  }

  async function refresh() {
    try {
      apps = (await getJson('api/apps')).apps;
      render();
    } catch (err) {
      console.error('could not list the apps', err);
    }
  }

  return {
    refresh,
    openApp,
    /** After the AI changed an app: reload its open window. */
    reloadApp(name) {
      const frame = windowOf(`app:${name}`)?.querySelector('iframe');
      if (frame) frame.setAttribute('src', frame.getAttribute('src'));
    },
    render,
  };
}

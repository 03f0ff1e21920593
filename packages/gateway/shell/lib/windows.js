// @ts-check
// Windows on the desktop: open, focus, drag by the title bar, maximize, close. On a phone every
// window fills the screen (the stylesheet decides; nothing here needs to know).

import { h, hueOf, icon } from './dom.js';

const layer = () => document.getElementById('windows');
/** @type {Map<string, HTMLElement>} */
const open = new Map();
/** @type {WeakMap<Element, (() => void) | undefined>} */
const onCloses = new WeakMap();
const LAUNCHER_WIDTH = 128;
let topZ = 10;
let cascade = 0;

/**
 * Opens (or brings forward) the window `id`. `content` is an element; `actions` are extra
 * title-bar buttons. Returns the window's element.
 */
/**
 * @param {{ id: string, title: string, hue?: number, content: Element, width?: number,
 *   height?: number, actions?: Element[], onClose?: () => void }} spec
 * @returns {HTMLElement}
 */
export function openWindow({ id, title, hue, content, width = 720, height = 520, actions = [], onClose }) {
  const existing = open.get(id);
  if (existing) {
    focus(existing);
    return existing;
  }
  const titleIcon = h('span', { class: 'window-title-icon' });
  titleIcon.style.setProperty('--hue', String(hue ?? hueOf(id)));
  const win = h(
    'div',
    { class: 'window', role: 'dialog', 'aria-label': title, dataset: { id } },
    h(
      'div',
      { class: 'window-bar' },
      titleIcon,
      h('span', { class: 'window-title' }, title),
      actions,
      h(
        'button',
        {
          type: 'button',
          class: 'icon-button',
          title: 'Maximize',
          'aria-label': 'Maximize',
          onclick: () => win.classList.toggle('maximized'),
        },
        icon('maximize'),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'icon-button',
          title: 'Close',
          'aria-label': 'Close',
          onclick: () => closeWindow(id),
        },
        icon('close'),
      ),
    ),
    h('div', { class: 'window-body' }, content),
  );
  onCloses.set(win, onClose);
  const area = layer().getBoundingClientRect();
  // Right of the launcher's first column when there is room, so its icons stay reachable.
  const minLeft = area.width - width > LAUNCHER_WIDTH + 24 ? LAUNCHER_WIDTH : 12;
  const w = Math.min(width, area.width - minLeft - 12);
  const hgt = Math.min(height, area.height - 24);
  const step = (cascade++ % 6) * 28;
  win.style.width = `${w}px`;
  win.style.height = `${hgt}px`;
  win.style.left = `${Math.max(minLeft, Math.min(area.width - w - 12, minLeft + 16 + step))}px`;
  win.style.top = `${Math.max(12, Math.min(area.height - hgt - 12, 20 + step))}px`;
  win.addEventListener('pointerdown', () => focus(win));
  drag(win, win.querySelector('.window-bar'));
  layer().append(win);
  open.set(id, win);
  focus(win);
  return win;
}

export function closeWindow(id) {
  const win = open.get(id);
  if (!win) return;
  open.delete(id);
  onCloses.get(win)?.();
  win.remove();
}

export const windowOf = (id) => open.get(id) ?? null;

function focus(win) {
  for (const other of open.values()) other.classList.toggle('focused', other === win);
  win.style.zIndex = String(++topZ);
}

function drag(win, bar) {
  bar.addEventListener('pointerdown', (e) => {
    if (
      e.target.closest('button') ||
      win.classList.contains('maximized') ||
      matchMedia('(max-width: 800px)').matches
    )
      return;
    const startX = e.clientX;
    const startY = e.clientY;
    const left = win.offsetLeft;
    const top = win.offsetTop;
    const area = layer().getBoundingClientRect();
    bar.setPointerCapture(e.pointerId);
    const move = (ev) => {
      const x = Math.max(-win.offsetWidth + 80, Math.min(area.width - 80, left + ev.clientX - startX));
      const y = Math.max(0, Math.min(area.height - 40, top + ev.clientY - startY));
      win.style.left = `${x}px`;
      win.style.top = `${y}px`;
    };
    const up = () => {
      bar.removeEventListener('pointermove', move);
      bar.removeEventListener('pointerup', up);
    };
    bar.addEventListener('pointermove', move);
    bar.addEventListener('pointerup', up);
  });
  bar.addEventListener('dblclick', (e) => {
    if (!e.target.closest('button')) win.classList.toggle('maximized');
  });
}

// @ts-check
// The inbox: messages for the owner (from other instances, and notices from the platform such
// as an AI budget running low). A bell in the top bar counts the unread ones; a new message also
// shows for a moment in a toast. Read = seen in the inbox window; remembered per browser.

import { getJson } from './lib/api.js';
import { h, icon, timeAgo } from './lib/dom.js';
import { openWindow } from './lib/windows.js';

const SEEN_KEY = 'matrixos.inbox.seen';
const TOAST_MS = 8000;

export function createInbox({ button }) {
  let messages = [];
  let seen = localStorage.getItem(SEEN_KEY) ?? '';
  const count = h('span', { class: 'inbox-count', hidden: true });
  button.append(icon('bell'), count);
  const list = h('ol', { class: 'inbox-list', 'aria-live': 'polite' });
  const element = h('div', { class: 'inbox' }, list);

  function unread() {
    return messages.filter((m) => m.id > seen).length;
  }

  function render() {
    const n = unread();
    count.hidden = n === 0;
    count.textContent = String(n);
    button.setAttribute('aria-label', n ? `Inbox, ${n} unread` : 'Inbox');
    list.replaceChildren(
      ...(messages.length
        ? [...messages]
            .reverse()
            .map((m) =>
              h(
                'li',
                { class: m.id > seen ? 'unread' : '' },
                h(
                  'div',
                  { class: 'inbox-meta' },
                  h('strong', {}, m.from ?? 'Someone'),
                  h('time', { datetime: m.receivedAt }, timeAgo(m.receivedAt)),
                ),
                h('p', {}, m.text),
              ),
            )
        : [h('li', { class: 'inbox-empty' }, 'No messages yet.')]),
    );
  }

  function markSeen() {
    const last = messages.at(-1);
    if (last && last.id > seen) {
      seen = last.id;
      localStorage.setItem(SEEN_KEY, seen);
    }
  }

  function open() {
    for (const note of document.querySelectorAll('.toast')) note.remove();
    openWindow({ id: 'inbox', title: 'Inbox', hue: 30, content: element, width: 460, height: 420 });
    render();
    markSeen();
    // The highlight of what was new stays while the window is open; the count goes.
    count.hidden = true;
  }

  function toast(message) {
    const note = h(
      'button',
      {
        type: 'button',
        class: 'toast',
        onclick: () => {
          note.remove();
          open();
        },
      },
      h('strong', {}, message.from ?? 'New message'),
      h('span', {}, message.text),
    );
    document.body.append(note);
    setTimeout(() => note.remove(), TOAST_MS);
  }

  button.addEventListener('click', open);

  return {
    async load() {
      messages = (await getJson('api/messages?limit=50')).messages;
      render();
    },
    /** A WebSocket event; only new messages matter here. */
    /** @param {import('../src/events/contract.ts').ServerEvent} event */
    handle(event) {
      if (event.type !== 'inbox.message') return;
      messages.push(event.message);
      render();
      toast(event.message);
    },
  };
}

// @ts-check
// The Community app: who is on the platform (online first), each person's profile and their AI's
// profile, the global feed, and "message their AI": the conversation with that AI, whose answer
// arrives live over the socket (`social.message`). Everything comes from this instance's own
// gateway (`api/social/*`), which asks the platform with the instance's token: no platform
// credential is ever in this page.

import { api, getJson } from './lib/api.js';
import { h, hueOf, timeAgo } from './lib/dom.js';
import { renderMarkdown } from './lib/markdown.js';

/** What follows the handle in a feed line (who and when, never what was said). */
const FEED_WORDS = {
  signup: () => ' joined',
  profile_updated: () => ' updated their profile',
  app_shared: (e) => ` shared an app: ${e.app?.title ?? e.app?.name}`,
  ai_conversation: (e) => `'s AI talked with @${e.with}'s AI`,
};

export function createCommunity() {
  /** @type {{ handle: string, displayName: string, avatar: string | null, online: boolean }[]} */
  let users = [];
  /** @type {string | null} */
  let selected = null;
  /** @type {{ from: 'peer' | 'me', text: string, at: string, auto?: boolean }[]} */
  let items = [];
  let waiting = false;
  /** The owner's social settings (kept by the platform), once loaded. */
  let settings = null;

  const people = h('ul', { class: 'community-people', 'aria-label': 'People' });
  const feed = h('ol', { class: 'community-feed', 'aria-label': 'Feed' });
  const detail = h('section', { class: 'community-detail' });
  const error = h('p', { class: 'form-error', hidden: true });
  const autoReply = h('input', {
    type: 'checkbox',
    name: 'autoReply',
    onchange: () => change({ autoReply: autoReply.checked }),
  });
  const cap = h('input', {
    type: 'number',
    name: 'dailyAutoReplyCap',
    min: 0,
    max: 1000,
    onchange: () => change({ dailyAutoReplyCap: Number(cap.value) }),
  });
  // Answers other AIs write to this owner's AI are paid from this owner's budget: the cap bounds it.
  const controls = h(
    'div',
    { class: 'community-settings' },
    h('label', {}, autoReply, ' My AI answers other AIs'),
    h('label', {}, 'at most ', cap, ' a day'),
  );
  const element = h(
    'div',
    { class: 'community' },
    h(
      'aside',
      { class: 'community-side' },
      h('h3', {}, 'People'),
      people,
      h('h3', {}, 'Feed'),
      feed,
      h('h3', {}, 'Auto-replies'),
      controls,
    ),
    h('div', { class: 'community-main' }, error, detail),
  );

  function renderSettings() {
    if (!settings) return;
    autoReply.checked = settings.autoReply;
    cap.value = String(settings.dailyAutoReplyCap);
    cap.disabled = !settings.autoReply;
    const block = detail.querySelector('.community-block');
    if (block && selected) block.textContent = settings.blocks.includes(selected) ? 'Unblock' : 'Block';
  }

  async function change(body) {
    error.hidden = true;
    try {
      settings = await (await api('api/social/settings', { method: 'PUT', json: body })).json();
    } catch (err) {
      fail(err);
    }
    renderSettings();
  }

  async function toggleBlock(handle) {
    error.hidden = true;
    const blocked = settings?.blocks.includes(handle);
    try {
      settings = await (
        await api(`api/social/blocks/${handle}`, { method: blocked ? 'DELETE' : 'PUT' })
      ).json();
    } catch (err) {
      fail(err);
    }
    renderSettings();
  }

  const fail = (err) => {
    error.hidden = false;
    error.textContent = err?.message ?? String(err);
  };

  function avatarOf(user) {
    const badge = h('span', { class: 'community-avatar' });
    if (user.avatar) badge.append(h('img', { src: user.avatar, alt: '' }));
    else badge.textContent = (user.displayName || user.handle).charAt(0).toUpperCase();
    badge.style.setProperty('--hue', String(hueOf(user.handle)));
    return badge;
  }

  function renderPeople() {
    const sorted = [...users].sort((a, b) => Number(b.online) - Number(a.online));
    people.replaceChildren(
      ...(sorted.length
        ? sorted.map((u) =>
            h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: `community-person${u.handle === selected ? ' selected' : ''}`,
                  dataset: { handle: u.handle },
                  onclick: () => select(u.handle),
                },
                avatarOf(u),
                h(
                  'span',
                  { class: 'community-name' },
                  h('strong', {}, u.displayName),
                  h('small', {}, `@${u.handle}`),
                ),
                h('span', {
                  class: 'community-online',
                  dataset: { online: String(u.online) },
                  title: u.online ? 'online' : 'away',
                }),
              ),
            ),
          )
        : [h('li', { class: 'files-empty' }, 'Nobody else is here yet.')]),
    );
  }

  function renderConversation(list) {
    list.replaceChildren(
      ...items.map((i) =>
        h(
          'li',
          { class: `community-message ${i.from}`, dataset: { from: i.from } },
          h('p', {}, i.text),
          h(
            'small',
            {},
            `${i.from === 'me' ? (i.auto ? 'your AI (auto-reply)' : 'you') : `@${selected}'s AI`} · ${timeAgo(i.at)}`,
          ),
        ),
      ),
      ...(waiting ? [h('li', { class: 'community-waiting' }, 'Waiting for their AI to answer…')] : []),
    );
    // The newest message, and the box to answer in, stay in view.
    const pane = detail.parentElement;
    if (pane) pane.scrollTop = pane.scrollHeight;
  }

  async function select(handle) {
    selected = handle;
    waiting = false;
    error.hidden = true;
    renderPeople();
    const user = users.find((u) => u.handle === handle);
    const profileBox = h('div', { class: 'community-profile' }, 'Loading…');
    const aiBox = h('div', { class: 'community-profile community-ai-profile' }, 'Loading…');
    const list = h('ol', { class: 'community-conversation', 'aria-live': 'polite' });
    const text = h('textarea', { rows: 2, maxlength: 4000, placeholder: `Message @${handle}'s AI…` });
    const send = h('button', { type: 'submit', class: 'button primary' }, 'Send');
    const form = h(
      'form',
      {
        class: 'community-compose',
        onsubmit: async (event) => {
          event.preventDefault();
          const value = text.value.trim();
          if (!value) return;
          send.disabled = true;
          try {
            await api(`api/social/send/${handle}`, { method: 'POST', json: { text: value } });
            text.value = '';
            waiting = true;
            renderConversation(list);
          } catch (err) {
            fail(err);
          } finally {
            send.disabled = false;
          }
        },
      },
      text,
      send,
    );
    detail.replaceChildren(
      h(
        'header',
        { class: 'community-header' },
        user ? avatarOf(user) : '',
        h('h2', {}, user?.displayName ?? handle),
        h('small', {}, `@${handle}`),
        h(
          'button',
          { type: 'button', class: 'button community-block', onclick: () => toggleBlock(handle) },
          settings?.blocks.includes(handle) ? 'Unblock' : 'Block',
        ),
      ),
      h('h3', {}, 'Profile'),
      profileBox,
      h('h3', {}, 'Their AI'),
      aiBox,
      h('h3', {}, 'Message their AI'),
      list,
      form,
    );
    detail.dataset.handle = handle;
    const [profile, ai, conversation] = await Promise.all([
      getJson(`api/social/profiles/${handle}`).catch((err) => ({ markdown: null, err })),
      getJson(`api/social/profiles/${handle}/ai`).catch((err) => ({ markdown: null, err })),
      getJson(`api/social/conversations/${handle}`).catch(() => ({ items: [] })),
    ]);
    if (selected !== handle) return;
    profileBox.replaceChildren(
      profile.markdown ? renderMarkdown(profile.markdown) : 'No profile published yet.',
    );
    aiBox.replaceChildren(ai.markdown ? renderMarkdown(ai.markdown) : 'No AI profile published yet.');
    items = conversation.items;
    renderConversation(list);
  }

  async function open() {
    error.hidden = true;
    try {
      const [u, f, s] = await Promise.all([
        getJson('api/social/users?limit=100'),
        getJson('api/social/feed?limit=30'),
        getJson('api/social/settings'),
      ]);
      users = u.users;
      settings = s;
      renderSettings();
      renderPeople();
      feed.replaceChildren(
        ...(f.events.length
          ? f.events.map((e) =>
              h(
                'li',
                {},
                h('strong', {}, `@${e.handle}`),
                `${FEED_WORDS[e.kind]?.(e) ?? ` ${e.kind}`} `,
                h('time', { datetime: e.at }, timeAgo(e.at)),
              ),
            )
          : [h('li', { class: 'files-empty' }, 'Nothing yet.')]),
      );
    } catch (err) {
      fail(err);
    }
  }

  return {
    element,
    open,
    /** @param {import('../src/events/contract.ts').ServerEvent} event */
    handle(event) {
      if (event.type === 'social.unanswered' && event.peer === selected) {
        waiting = false;
        const list = detail.querySelector('.community-conversation');
        if (list) renderConversation(/** @type {HTMLElement} */ (list));
        return;
      }
      if (event.type !== 'social.message' || event.peer !== selected) return;
      items.push(event.item);
      if (event.item.from === 'peer') waiting = false;
      const list = detail.querySelector('.community-conversation');
      if (list) renderConversation(/** @type {HTMLElement} */ (list));
    },
  };
}

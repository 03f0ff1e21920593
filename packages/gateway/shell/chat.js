// @ts-check
// The chat panel: sends the owner's messages over the WebSocket and shows the AI's answer as it
// streams (text, tool calls, errors). Every open shell sees every turn; each shows the
// conversation it has open.

import { api, getJson } from './lib/api.js';
import { h, icon, timeAgo } from './lib/dom.js';

/** @typedef {import('../src/events/contract.ts').ServerEvent} ServerEvent */
/** @typedef {import('../src/events/contract.ts').ServerEvent & { type: 'chat.tool_result' }} ToolResultEvent */
/** @typedef {NonNullable<ToolResultEvent['app']>} AppInfo */
import { renderMarkdown } from './lib/markdown.js';

/** How a tool call reads while it runs, and afterwards in a reopened conversation. */
const TOOL_LABELS = {
  read_file: ['Reading', 'Read'],
  write_file: ['Writing', 'Wrote'],
  list_directory: ['Looking in', 'Looked in'],
  create_app: ['Building app', 'Built app'],
  remember: ['Remembering', 'Remembered:'],
};

const SUGGESTIONS = [
  'Build me a to-do list app',
  "What's in my home folder?",
  'Remember that I like short answers',
];

const randomId = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');

export function createChat({ el, send: sendToSocket, openApp, openSettings }) {
  let conversationId = null;
  let busy = false;
  let pendingRequest = null;
  const myRequests = new Set();
  const myTurns = new Set();
  /** The assistant text element being streamed into, per turn. */
  const streams = new Map();
  const chips = new Map();

  const titleEl = h('h2', { class: 'chat-title' }, 'New chat');
  const history = h('div', { class: 'history', hidden: true });
  const log = h('div', { class: 'chat-log', 'aria-live': 'polite' });
  const input = h('textarea', {
    rows: 1,
    placeholder: 'Message your AI…',
    'aria-label': 'Message',
    enterkeyhint: 'send',
  });
  const sendButton = h(
    'button',
    { type: 'submit', class: 'send', title: 'Send', 'aria-label': 'Send' },
    icon('send'),
  );
  const form = h('form', { class: 'composer', onsubmit: onSubmit }, input, sendButton);

  el.append(
    h(
      'div',
      { class: 'chat-head' },
      titleEl,
      h(
        'button',
        {
          type: 'button',
          class: 'icon-button',
          title: 'Conversations',
          'aria-label': 'Conversations',
          onclick: toggleHistory,
        },
        icon('history'),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'icon-button',
          title: 'New chat',
          'aria-label': 'New chat',
          onclick: newChat,
        },
        icon('plus'),
      ),
    ),
    history,
    log,
    form,
  );

  input.addEventListener('input', grow);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  function grow() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight + 2, 180)}px`;
  }

  function setBusy(value) {
    busy = value;
    sendButton.classList.toggle('stop', busy);
    sendButton.replaceChildren(icon(busy ? 'stop' : 'send'));
    sendButton.title = busy ? 'Stop' : 'Send';
    sendButton.setAttribute('aria-label', sendButton.title);
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function add(node) {
    const stick = nearBottom();
    log.querySelector('.chat-empty')?.remove();
    log.append(node);
    if (stick) log.scrollTop = log.scrollHeight;
    return node;
  }

  function showEmpty() {
    log.replaceChildren(
      h(
        'div',
        { class: 'chat-empty' },
        h('img', { src: 'shell/icon.svg', alt: '', width: 44, height: 44 }),
        h('h3', {}, 'What shall we do?'),
        h('p', {}, 'Ask anything, or have your AI build an app for you.'),
        h(
          'div',
          { class: 'suggestions' },
          SUGGESTIONS.map((text) =>
            h('button', { type: 'button', class: 'suggestion', onclick: () => submit(text) }, text),
          ),
        ),
      ),
    );
  }

  const userMessage = (text) => h('div', { class: 'msg user' }, text);

  function assistantMessage(text) {
    const node = h('div', { class: 'msg assistant' });
    node.append(renderMarkdown(text));
    return node;
  }

  function toolChip({ id, name, summary, state }) {
    const chip = h(
      'div',
      { class: 'tool', dataset: { state, tool: name } },
      h('span', { class: 'tool-icon' }),
      h('span', { class: 'tool-text' }),
    );
    chips.set(id, chip);
    updateChip(chip, { name, summary, state });
    return chip;
  }

  /**
   * @param {HTMLElement} chip
   * @param {{ name: string, summary: string, state: string, app?: AppInfo }} info
   */
  function updateChip(chip, { name, summary, state, app }) {
    chip.dataset.state = state;
    chip
      .querySelector('.tool-icon')
      .replaceChildren(
        icon(
          state === 'running' ? 'spinner' : state === 'ok' ? 'check' : state === 'error' ? 'alert' : 'tool',
        ),
      );
    const [running] = TOOL_LABELS[name] ?? [name];
    const label = state === 'running' ? `${running}${summary ? ` ${summary}` : ''}…` : summary || name;
    chip.querySelector('.tool-text').textContent = label;
    if (app && !chip.querySelector('.button')) {
      chip.append(
        h('button', { type: 'button', class: 'button small', onclick: () => openApp(app) }, 'Open'),
      );
    }
  }

  function notice(message, { error = false, settings = false } = {}) {
    return add(
      h(
        'div',
        { class: `notice${error ? ' error' : ''}`, role: error ? 'alert' : null },
        h('div', {}, message),
        settings
          ? h('button', { type: 'button', class: 'button small', onclick: openSettings }, 'Open Settings')
          : null,
      ),
    );
  }

  /** The text element a turn streams into: a new one after a tool call, so the order holds. */
  function streamFor(turnId) {
    let stream = streams.get(turnId);
    if (!stream || log.lastElementChild !== stream.node) {
      // Text after a tool call starts a new block; the one before it is finished.
      if (stream) finish(stream);
      stream = { node: add(h('div', { class: 'msg assistant streaming' })), text: '', scheduled: false };
      streams.set(turnId, stream);
    }
    return stream;
  }

  function paint(stream) {
    if (stream.scheduled) return;
    stream.scheduled = true;
    requestAnimationFrame(() => {
      stream.scheduled = false;
      const stick = nearBottom();
      stream.node.replaceChildren(renderMarkdown(stream.text));
      if (stick) log.scrollTop = log.scrollHeight;
    });
  }

  function finish(stream) {
    stream.node.classList.remove('streaming');
    if (!stream.text.trim()) stream.node.remove();
  }

  function endStreams(turnId) {
    const stream = streams.get(turnId);
    if (stream) finish(stream);
    streams.delete(turnId);
  }

  function submit(text) {
    if (busy || !text.trim()) return;
    const requestId = randomId();
    const sent = sendToSocket({
      type: 'chat.send',
      text,
      requestId,
      ...(conversationId ? { conversationId } : {}),
    });
    if (!sent) {
      notice('Not connected to your instance right now. It reconnects by itself; try again in a moment.', {
        error: true,
      });
      return;
    }
    pendingRequest = requestId;
    myRequests.add(requestId);
    add(userMessage(text));
    log.scrollTop = log.scrollHeight;
    setBusy(true);
    input.value = '';
    grow();
  }

  function onSubmit(e) {
    e.preventDefault();
    if (busy) {
      if (conversationId) sendToSocket({ type: 'chat.cancel', conversationId });
      return;
    }
    submit(input.value);
  }

  async function load(id) {
    conversationId = id;
    history.hidden = true;
    streams.clear();
    chips.clear();
    try {
      const conversation = await getJson(`api/conversations/${encodeURIComponent(id)}`);
      titleEl.textContent = conversation.title;
      log.replaceChildren();
      for (const item of conversation.items) {
        if (item.role === 'user') add(userMessage(item.text));
        else if (item.role === 'assistant') add(assistantMessage(item.text));
        else {
          const [, done] = TOOL_LABELS[item.name] ?? [item.name, item.name];
          const summary = `${done} ${item.summary}`.trim();
          add(toolChip({ id: item.id, name: item.name, summary, state: item.ok === false ? 'error' : 'ok' }));
        }
      }
      if (!conversation.items.length) showEmpty();
      log.scrollTop = log.scrollHeight;
    } catch (err) {
      notice(`This conversation could not be opened: ${err.message}`, { error: true });
    }
  }

  function newChat() {
    conversationId = null;
    pendingRequest = null;
    history.hidden = true;
    streams.clear();
    chips.clear();
    titleEl.textContent = 'New chat';
    setBusy(false);
    showEmpty();
    input.focus();
  }

  async function toggleHistory() {
    if (!history.hidden) {
      history.hidden = true;
      return;
    }
    history.replaceChildren(h('div', { class: 'history-empty' }, 'Loading…'));
    history.hidden = false;
    try {
      const { conversations } = await getJson('api/conversations');
      history.replaceChildren(
        ...(conversations.length
          ? conversations.map((c) =>
              h(
                'div',
                { class: 'history-item' },
                h(
                  'button',
                  { type: 'button', class: 'history-open', onclick: () => load(c.id) },
                  h('span', {}, c.title),
                  h('span', {}, timeAgo(c.updatedAt)),
                ),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'icon-button',
                    title: 'Delete',
                    'aria-label': `Delete ${c.title}`,
                    onclick: () => remove(c.id),
                  },
                  icon('trash'),
                ),
              ),
            )
          : [h('div', { class: 'history-empty' }, 'No conversations yet.')]),
      );
    } catch (err) {
      history.replaceChildren(
        h('div', { class: 'history-empty' }, `Could not list conversations: ${err.message}`),
      );
    }
  }

  async function remove(id) {
    await api(`api/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' }).catch(() => undefined);
    if (id === conversationId) newChat();
    history.hidden = true;
    toggleHistory();
  }

  /** @param {ServerEvent} event */
  function handle(event) {
    if (event.type === 'ready') {
      // Back after a dropped connection: what was missed is on disk.
      if (conversationId && !busy) load(conversationId);
      return;
    }
    if (event.type === 'error' && event.requestId && event.requestId === pendingRequest) {
      pendingRequest = null;
      setBusy(false);
      notice(event.message, { error: true });
      return;
    }
    // Only a turn's events (chat.*, each with its turnId) from here on.
    if (!('turnId' in event)) return;
    if (event.type === 'chat.started' && myRequests.has(event.requestId)) {
      myRequests.delete(event.requestId);
      myTurns.add(event.turnId);
      if (event.requestId === pendingRequest) {
        pendingRequest = null;
        conversationId = event.conversationId;
        titleEl.textContent = event.title;
      }
      return;
    }
    if (event.conversationId !== conversationId) return;
    switch (event.type) {
      case 'chat.started':
        // A turn begun from another device, in the conversation open here.
        add(userMessage(event.text));
        setBusy(true);
        return;
      case 'chat.delta': {
        const stream = streamFor(event.turnId);
        stream.text += event.text;
        paint(stream);
        return;
      }
      case 'chat.tool': {
        const chip = chips.get(event.id);
        if (chip) updateChip(chip, { ...event, state: 'running' });
        else add(toolChip({ ...event, state: 'running' }));
        return;
      }
      case 'chat.tool_result': {
        const chip = chips.get(event.id) ?? add(toolChip({ ...event, state: 'running' }));
        updateChip(chip, { ...event, state: event.ok ? 'ok' : 'error' });
        if (event.ok && event.app && myTurns.has(event.turnId)) openApp(event.app);
        return;
      }
      case 'chat.error':
        endStreams(event.turnId);
        notice(event.message, {
          error: true,
          settings: ['budget_exhausted', 'no_key', 'key_refused'].includes(event.code),
        });
        return;
      case 'chat.done':
        endStreams(event.turnId);
        for (const chip of /** @type {NodeListOf<HTMLElement>} */ (
          log.querySelectorAll('.tool[data-state="running"]')
        ))
          updateChip(chip, { name: chip.dataset.tool, summary: 'Not finished', state: 'error' });
        myTurns.delete(event.turnId);
        setBusy(false);
        if (event.stopReason === 'max_turns')
          notice(
            'Stopped: the AI reached its limit of steps for one message (ai.maxTurns in system/config.json). Say "go on" to continue.',
          );
        else if (event.stopReason === 'max_tokens')
          notice('The answer was cut off at its length limit (ai.maxTokens in system/config.json).');
        else if (event.stopReason === 'cancelled') notice('Stopped.');
        return;
    }
  }

  showEmpty();
  return { handle, newChat, focus: () => input.focus() };
}

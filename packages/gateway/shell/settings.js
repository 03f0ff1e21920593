// @ts-check
// Settings: the AI model and limits, the owner's own Anthropic key, the budget, Telegram, signing out.

import { applianceSection } from './appliance/settings-section.js';
import { api, getJson } from './lib/api.js';
import { formatUsd, h, usdToMicros } from './lib/dom.js';

export function createSettings() {
  const root = h('div', { class: 'settings' });

  async function open() {
    root.replaceChildren(h('p', {}, 'Loading…'));
    let settings;
    let session;
    let telegram;
    let appliance;
    try {
      [settings, session, telegram, appliance] = await Promise.all([
        getJson('api/settings'),
        getJson('api/session'),
        getJson('api/settings/telegram'),
        // Only an appliance answers (its version and updates); elsewhere the route is absent.
        getJson('api/appliance').catch(() => null),
      ]);
    } catch (err) {
      root.replaceChildren(h('p', { class: 'form-error' }, `Settings could not be loaded: ${err.message}`));
      return;
    }
    root.replaceChildren(
      modelSection(settings),
      keySection(settings),
      telegramSection(telegram),
      sessionSection(settings, session),
      ...(appliance ? [applianceSection(appliance)] : []),
    );
  }

  function status(el, message, ok) {
    el.className = ok ? 'form-ok' : 'form-error';
    el.textContent = message;
    el.hidden = false;
  }

  function modelSection(settings) {
    const list = h(
      'datalist',
      { id: 'model-list' },
      settings.models.map((m) => h('option', { value: m.id }, m.name)),
    );
    const model = h('input', {
      type: 'text',
      id: 'model',
      value: settings.ai.model,
      list: 'model-list',
      spellcheck: 'false',
      autocomplete: 'off',
    });
    const maxTokens = h('input', {
      type: 'number',
      id: 'max-tokens',
      min: 256,
      max: 128000,
      step: 256,
      value: settings.ai.maxTokens,
    });
    const maxTurns = h('input', {
      type: 'number',
      id: 'max-turns',
      min: 1,
      max: 50,
      value: settings.ai.maxTurns,
    });
    const result = h('p', { hidden: true, role: 'status' });
    const form = h(
      'form',
      { class: 'field' },
      h('div', { class: 'field' }, h('label', { for: 'model' }, 'Model'), model, list),
      h(
        'div',
        { class: 'grid2' },
        h('div', { class: 'field' }, h('label', { for: 'max-tokens' }, 'Longest answer (tokens)'), maxTokens),
        h('div', { class: 'field' }, h('label', { for: 'max-turns' }, 'Steps per message'), maxTurns),
      ),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'button primary' }, 'Save'), result),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api('api/settings', {
          method: 'PUT',
          json: {
            model: model.value.trim(),
            maxTokens: Number(maxTokens.value),
            maxTurns: Number(maxTurns.value),
          },
        });
        status(result, 'Saved.', true);
      } catch (err) {
        status(result, err.message, false);
      }
    });
    return h(
      'section',
      { 'aria-labelledby': 'settings-ai' },
      h('h3', { id: 'settings-ai' }, 'AI'),
      h('p', {}, 'Kept in system/config.json in your home.'),
      settings.budget
        ? h('p', { class: 'budget' }, h('span', { class: 'badge' }, budgetText(settings.budget)))
        : null,
      form,
    );
  }

  function keySection(settings) {
    const platform = settings.mode === 'platform';
    const state = settings.ownKey.configured
      ? h('span', { class: 'badge ok' }, `Your key is set (${settings.ownKey.hint})`)
      : h(
          'span',
          { class: 'badge' },
          platform
            ? 'Using your Matrix OS AI budget'
            : settings.environmentKey
              ? "Using the instance's ANTHROPIC_API_KEY"
              : 'No key set',
        );
    const key = h('input', {
      type: 'password',
      id: 'anthropic-key',
      placeholder: 'sk-ant-…',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    const result = h('p', { hidden: true, role: 'status' });
    const form = h(
      'form',
      { class: 'row' },
      key,
      h('button', { type: 'submit', class: 'button primary' }, 'Save key'),
      settings.ownKey.configured
        ? h('button', { type: 'button', class: 'button danger', onclick: removeKey }, 'Remove')
        : null,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const apiKey = key.value.trim();
      // The key leaves the page with this request and is not kept here.
      key.value = '';
      if (!apiKey) return;
      try {
        await api('api/settings/anthropic-key', { method: 'PUT', json: { apiKey } });
        open();
      } catch (err) {
        status(result, err.message, false);
      }
    });
    async function removeKey() {
      try {
        await api('api/settings/anthropic-key', { method: 'DELETE' });
        open();
      } catch (err) {
        status(result, err.message, false);
      }
    }
    return h(
      'section',
      { 'aria-labelledby': 'settings-key' },
      h('h3', { id: 'settings-key' }, 'Use my own Anthropic key'),
      h(
        'p',
        {},
        platform
          ? 'With your own key, your AI is billed to your Anthropic account instead of your Matrix OS budget. The platform stores it encrypted and never shows it again.'
          : 'Your AI talks to Anthropic directly with this key. It is stored encrypted in this instance and never shown again.',
      ),
      state,
      form,
      settings.ownKey.error ? h('p', { class: 'form-error' }, settings.ownKey.error) : null,
      result,
    );
  }

  function telegramSection(telegram) {
    const result = h('p', { hidden: true, role: 'status' });
    const act = (path, method, json) => async () => {
      try {
        await api(path, { method, json });
        open();
      } catch (err) {
        status(result, err.message, false);
      }
    };
    const token = h('input', {
      type: 'password',
      id: 'telegram-token',
      placeholder: '123456789:ABC…',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    const form = h(
      'form',
      { class: 'row' },
      token,
      h(
        'button',
        { type: 'submit', class: 'button primary' },
        telegram.configured ? 'Change token' : 'Connect bot',
      ),
      telegram.configured
        ? h(
            'button',
            { type: 'button', class: 'button danger', onclick: act('api/settings/telegram', 'DELETE') },
            'Disconnect',
          )
        : null,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const botToken = token.value.trim();
      // Like the Anthropic key: sent once, kept sealed in the instance, never shown again.
      token.value = '';
      if (botToken) await act('api/settings/telegram', 'PUT', { botToken })();
    });
    const s = telegram.status;
    const state = !telegram.configured
      ? h('span', { class: 'badge' }, 'Not connected')
      : h(
          'span',
          { class: s.state === 'running' ? 'badge ok' : 'badge', id: 'telegram-state' },
          `@${telegram.bot.username}: ${s.state}${s.via ? ` (${s.via})` : ''}${s.detail ? `: ${s.detail}` : ''}`,
        );
    let link = null;
    if (telegram.configured && telegram.owner) {
      link = h(
        'div',
        { class: 'row' },
        h('span', { class: 'badge ok', id: 'telegram-owner' }, `Linked to ${telegram.owner.name}`),
        h(
          'button',
          { type: 'button', class: 'button', onclick: act('api/settings/telegram/owner', 'DELETE') },
          'Unlink',
        ),
      );
    } else if (telegram.configured) {
      link = telegram.linkCode
        ? h(
            'p',
            {},
            `Open @${telegram.bot.username} in Telegram and send it this code: `,
            h('code', { id: 'telegram-code' }, telegram.linkCode.code),
            ` (valid until ${new Date(telegram.linkCode.expiresAt).toLocaleTimeString()}).`,
          )
        : h(
            'div',
            { class: 'row' },
            h('span', {}, 'The link code has expired or was guessed wrong too often.'),
            h(
              'button',
              { type: 'button', class: 'button', onclick: act('api/settings/telegram/link-code', 'POST') },
              'New code',
            ),
          );
    }
    return h(
      'section',
      { 'aria-labelledby': 'settings-telegram' },
      h('h3', { id: 'settings-telegram' }, 'Telegram'),
      h(
        'p',
        {},
        'Talk to your AI from Telegram: create a bot with @BotFather, paste its token here, then link your own Telegram account with the code shown. Only you reach the AI; anyone else gets a polite refusal.',
      ),
      state,
      form,
      link,
      result,
    );
  }

  function sessionSection(settings, session) {
    const about = h(
      'dl',
      { class: 'about' },
      h('dt', {}, 'Instance'),
      h('dd', {}, `@${settings.handle}`),
      h('dt', {}, 'Mode'),
      h('dd', {}, settings.mode === 'platform' ? 'Hosted on a Matrix OS platform' : 'Self-hosted'),
      h('dt', {}, 'Version'),
      h('dd', {}, session.version),
    );
    const signOut = h('button', { type: 'button', class: 'button' }, 'Sign out');
    signOut.addEventListener('click', async () => {
      await api('api/session', { method: 'DELETE' }).catch(() => undefined);
      location.reload();
    });
    return h(
      'section',
      { 'aria-labelledby': 'settings-about' },
      h('h3', { id: 'settings-about' }, 'This instance'),
      about,
      session.via === 'session'
        ? h('div', { class: 'row' }, signOut)
        : h('p', {}, 'Signed in through your Matrix OS account.'),
    );
  }

  return { element: root, open };
}

/**
 * What is left, with the dashboard's rounding rule (formatUsd: floored to the cent, "<$0.01").
 * @param {{ kind: string, usd?: number, line: string }} budget
 */
function budgetText(budget) {
  if (budget.kind === 'remaining' && typeof budget.usd === 'number') {
    return `Budget: ${formatUsd(usdToMicros(budget.usd))} remaining`;
  }
  return budget.line;
}

// @ts-check
import { h, renderList, relative } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';
import { coalesced } from './reload.js';
import { jsonBody, problemText, unanswered, showError } from './problems.js';

// Push channels (ntfy topics, webhooks): each one's state as the host last saw it (failing since when and why, its last
// success, what waits for it) and a test push. Not in /api/state: loaded from GET /api/notifications, again on each
// notification_channel_changed (one request at a time, one more queued). Never a URL or a secret: the host shows neither.

const $ = id => document.getElementById(id);

export function channels() {
  const view = store.notifications;
  const list = view?.channels ?? null;
  $('channels-empty').hidden = list === null || list.length > 0;
  $('channels-count').textContent = list === null ? '' : `(${list.length})`;
  $('channels-links').hidden = view === null || view.action_links;
  if (list === null) return;
  renderList($('channels'), list, c => c.name, row, (_, c) => row(c));
}

function row(c) {
  const test = h('button', { type: 'button', class: 'quiet test-push', dataset: { action: 'test-push' }, title: 'send one push to this channel now' }, 'Send a test');
  test.addEventListener('click', () =>
    act(test, 'sending…', { method: 'POST', url: `/api/notifications/channels/${encodeURIComponent(c.name)}/test` }, `a test push to ${c.name} is on its way`));
  return h('li', { class: `channel${c.failing ? ' failing' : ''}`, dataset: { name: c.name, failing: String(c.failing) } },
    h('div', { class: 'channel-head' },
      h('span', { class: 'who' }, c.name), ' ', h('span', { class: 'badge' }, c.type), ' ',
      h('span', { class: `badge ${c.failing ? 'bad' : 'ok'} channel-state` }, c.failing ? 'failing' : 'ok')),
    c.failing && h('div', { class: 'error channel-error' },
      `failing since `, h('span', { class: 'ago', title: c.failing_since }, relative(c.failing_since)), `: ${c.last_error ?? ''}`),
    h('div', { class: 'meta' },
      c.last_ok_at ? ['last push ', h('span', { class: 'ago', title: c.last_ok_at }, relative(c.last_ok_at))] : 'no push yet',
      ` · ${c.waiting} waiting · `, c.kinds.join(', ')),
    h('div', { class: 'actions' }, test));
}

/** GET /api/notifications into the store and onto the page: one request at a time; one asked for meanwhile runs after it. */
export const refreshChannels = coalesced(async () => {
  try {
    const response = await fetch('/api/notifications');
    const body = await jsonBody(response);
    if (!response.ok) {
      showError($('channels-error'), `could not load the push channels: ${problemText(body, response.status)}`);
      return;
    }
    store.notifications = body;
    showError($('channels-error'), null);
    channels();
  } catch (error) {
    showError($('channels-error'), unanswered(error));
  }
});

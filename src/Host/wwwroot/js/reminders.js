import { h, append, renderList, relative, more } from './dom.js';
import { appendLinkified } from './linkify.js';
import { store } from './store.js';
import { act } from './actions.js';

const $ = id => document.getElementById(id);

// Reminders: soonest first; failed ones with their error and a retry.
export function reminders() {
  const list = [...store.reminders.values()].sort((a, b) => a.due_at.localeCompare(b.due_at) || a.id - b.id);
  const failed = list.filter(r => r.attempt_count > 0).length;
  const total = Math.max(store.remindersTotal, list.length);
  $('reminders-count').textContent = `(${total})`;
  $('reminders-failed').hidden = failed === 0;
  $('reminders-failed').textContent = `⚠ ${failed} failed`;
  $('reminders-empty').hidden = total > 0;
  more($('reminders-more'), total - list.length, 'reminder');
  renderList($('reminders'), list, r => r.id, reminderRow, (_, r) => reminderRow(r));
}

function reminderRow(r) {
  const failed = r.attempt_count > 0;
  const cancel = h('button', { type: 'button', class: 'danger cancel' }, 'Cancel');
  cancel.addEventListener('click', () => {
    if (!confirm(`Cancel the reminder for ${r.agent}?`)) return;
    act(cancel, '…', { method: 'DELETE', url: `/api/reminders/${r.id}` }, `reminder ${r.id} cancelled`);
  });
  const retry = failed && h('button', { type: 'button', class: 'retry' }, 'Retry');
  retry && retry.addEventListener('click', () =>
    act(retry, '…', { method: 'POST', url: `/api/reminders/${r.id}/retry` }, `reminder ${r.id} will be retried`));
  const payload = r.payload_path && appendLinkified(h('div', { class: 'payload meta' }, 'attached file: '), r.payload_path, r.payload_refs);
  return h('li', { class: failed ? 'reminder failed' : 'reminder', dataset: { id: r.id } },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, r.agent), ' · ', h('span', { class: 'due', title: r.due_at }, relative(r.due_at)),
      failed && ` · ${r.attempt_count} failed attempt${r.attempt_count === 1 ? '' : 's'}`),
    appendLinkified(h('div', { class: 'body' }), r.body, r.body_refs),
    payload,
    failed && h('div', { class: 'error' }, r.last_error),
    append(h('div', { class: 'actions' }), retry, cancel));
}


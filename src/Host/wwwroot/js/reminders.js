// @ts-check
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
  recurring();
}

// Recurring reminders: each with its schedule, its next three runs, its last run, and pause/resume/cancel.
function recurring() {
  const list = [...store.recurring.values()].sort((a, b) => a.id - b.id);
  $('recurring-heading').hidden = list.length === 0;
  $('recurring-count').textContent = `(${list.length})`;
  renderList($('recurring'), list, r => r.id, recurringRow, (_, r) => recurringRow(r));
}

function recurringRow(r) {
  const paused = r.state === 'paused';
  const toggle = h('button', { type: 'button', class: paused ? 'resume' : 'pause' }, paused ? 'Resume' : 'Pause');
  toggle.addEventListener('click', () =>
    act(toggle, '…', { method: 'POST', url: `/api/reminders/recurring/${r.id}/${paused ? 'resume' : 'pause'}` },
      `recurring reminder ${r.id} ${paused ? 'resumed' : 'paused'}`));
  const cancel = h('button', { type: 'button', class: 'danger cancel' }, 'Cancel');
  cancel.addEventListener('click', () => {
    if (!confirm(`Cancel the recurring reminder for ${r.agent}? Its runs stop and its history goes.`)) return;
    act(cancel, '…', { method: 'DELETE', url: `/api/reminders/recurring/${r.id}` }, `recurring reminder ${r.id} cancelled`);
  });
  const last = r.runs?.[0];
  const next = r.next_runs.map(at => h('time', { datetime: at, title: at }, new Date(at).toLocaleString()));
  return h('li', { class: paused ? 'reminder recurring paused' : 'reminder recurring', dataset: { id: r.id } },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, r.agent), ' · ', h('code', { class: 'cron' }, r.cron),
      r.time_zone !== 'UTC' && ` (${r.time_zone})`, paused ? ' · paused' : '',
      ` · catch up: ${r.catch_up} · overlap: ${r.overlap}`),
    appendLinkified(h('div', { class: 'body' }), r.body, r.body_refs),
    next.length > 0 && append(h('div', { class: 'next meta' }, 'next: '), ...next.flatMap((t, i) => (i === 0 ? [t] : [', ', t]))),
    last && h('div', { class: `last meta run-${last.state}` }, `last run ${relative(last.due_at)}: ${last.state}${last.note ? ` (${last.note})` : ''}`),
    append(h('div', { class: 'actions' }), toggle, cancel));
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


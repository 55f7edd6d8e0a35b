import { h, append, renderList, relative, clock } from './dom.js';
import { appendLinkified } from './linkify.js';
import { store } from './store.js';
import { act } from './actions.js';
import { swarm, tombstones } from './swarm.js';
import { approvals, meta, metaStale } from './approvals.js';
import { secrets } from './secrets.js';

const $ = id => document.getElementById(id);
let questionFilter = 'all';

export function renderAll() {
  for (const section of ['approvals', 'swarm', 'tombstones', 'secrets', 'meta', 'inbox', 'flow', 'questions', 'reminders']) render(section);
}

export function render(section) {
  ({ approvals, swarm, tombstones, secrets, meta, 'meta-log': metaStale, inbox, flow, questions, reminders })[section]?.();
}

// ◆ SW4RM and ◆ T0MBST0N3S live in swarm.js; ◆ 4PPR0V4LS and ◆ M3T4 in approvals.js.

/** A message's line; `anchored` (the flow's, not the inbox's) gives it the id a reply links to. */
function messageRow(m, anchored = false) {
  const body = h('div', { class: 'body' });
  appendLinkified(body, m.body, m.file_refs);
  return h('li', { class: `message kind-${m.kind}${m.broadcast ? ' broadcast' : ''}`, id: anchored && `msg-${m.id}`,
    dataset: { id: m.id, ...(m.in_reply_to != null && { inReplyTo: m.in_reply_to }), ...(m.broadcast_id != null && { broadcastId: m.broadcast_id }) } },
    h('div', { class: 'meta' },
      h('span', { class: 'who' }, m.from), ' → ', recipients(m), ' · ', clock(m.sent_at),
      m.kind !== 'message' && ` · ${m.kind}`,
      h('span', { class: 'delivered' }, deliveryMark(m))),
    m.in_reply_to != null && replyTo(m.in_reply_to),
    body);
}

/** A broadcast is one line: "* (3)" with its recipients on hover. */
function recipients(m) {
  if (!m.broadcast) return h('span', { class: 'who' }, m.to);
  const names = m.broadcast.map(x => x.to).sort();
  return h('span', { class: 'who recipients', title: names.join(', ') }, `* (${names.length}: ${names.join(', ')})`);
}

/** The message a reply answers: who said what, linked to its own line when the page has it. */
function replyTo(id) {
  const parent = store.messages.find(x => x.id === id);
  const excerpt = parent ? `${parent.from}: ${parent.body.length > 80 ? parent.body.slice(0, 80) + '…' : parent.body}` : `#${id}`;
  return h('div', { class: 'reply-to meta' }, '↪ in reply to ', h('a', { href: `#msg-${id}` }, excerpt));
}

/** ✓ acknowledged by its recipient (by all of a broadcast's: n/m while some have not); ✗ set aside after too many unacknowledged deliveries. */
function deliveryMark(m) {
  if (m.broadcast) {
    const done = m.broadcast.filter(x => x.delivered_at).length;
    return done === m.broadcast.length ? ' ✓' : ` ✓ ${done}/${m.broadcast.length}`;
  }
  if (m.delivered_at) return ' ✓';
  return m.undeliverable_at ? ' ✗ undeliverable' : '';
}

function updateMessage(node, m, anchored = false) {
  if (m.broadcast) return messageRow(m, anchored); // its recipients may have grown (copies arrive one event each)
  node.querySelector('.delivered').textContent = deliveryMark(m);
}

/** The flow shows a broadcast once: its copies (one row per recipient, newest first like the rest) fold into the first seen. */
function folded(messages) {
  const entries = [];
  const broadcasts = new Map();
  for (const m of messages) {
    if (m.broadcast_id == null) { entries.push(m); continue; }
    let entry = broadcasts.get(m.broadcast_id);
    if (!entry) {
      entry = { ...m, id: `b${m.broadcast_id}`, broadcast: [] };
      broadcasts.set(m.broadcast_id, entry);
      entries.push(entry);
    }
    entry.broadcast.push(m);
  }
  return entries;
}

// ◆ 1NB0X: what agents sent to the operator.
function inbox() {
  $('inbox-count').textContent = `(${store.inbox.length})`;
  $('inbox-empty').hidden = store.inbox.length > 0;
  renderList($('inbox'), folded(store.inbox), m => m.id, messageRow, updateMessage);
}

// ◆ M3SS4G3 FL0W: every message, live; older pages on demand.
function flow() {
  renderList($('flow'), folded(store.messages), m => m.id, m => messageRow(m, true), (node, m) => updateMessage(node, m, true));
  $('load-older').hidden = store.historyExhausted;
  // The history's reach: delivered messages older than the retention are removed by the host.
  const reach = $('history-reach');
  reach.hidden = !store.historyExhausted || store.retainDays == null;
  reach.textContent = store.retainDays == null ? '' : `the history keeps delivered messages for ${store.retainDays} days`;
}

export async function loadOlder(button) {
  const oldest = store.messages.at(-1)?.id;
  if (oldest === undefined) { store.historyExhausted = true; flow(); return; }
  button.disabled = true;
  try {
    const response = await fetch(`/api/messages?before=${oldest}&limit=50`);
    const page = await response.json();
    for (const m of page) if (!store.messages.some(x => x.id === m.id)) store.messages.push(m);
    if (page.length < 50) store.historyExhausted = true;
    flow();
  } finally {
    button.disabled = false;
  }
}

// ◆ QU3ST10NS: pending and answered, filter chips, answers and overrides, options, deadlines and cancel.
function matches(q) {
  switch (questionFilter) {
    case 'all': return true;
    case 'operator': return q.target === null;
    case 'peer': return q.target !== null;
    default: return q.asker === questionFilter || q.target === questionFilter;
  }
}

function questions() {
  const { pending, answered } = store.questions;
  const participants = [...new Set([...pending, ...answered].flatMap(q => [q.asker, q.target]).filter(Boolean))].sort();
  const chips = [['all', 'all'], ['operator', '@operator'], ['peer', '@peer'], ...participants.map(p => [p, p])];
  if (!chips.some(([value]) => value === questionFilter)) questionFilter = 'all';
  $('question-filters').replaceChildren(...chips.map(([value, label]) =>
    h('button', { type: 'button', 'aria-pressed': String(value === questionFilter), dataset: { filter: value },
      onclick: () => { questionFilter = value; questions(); } }, label)));

  const open = pending.filter(matches);
  const total = Math.max(store.questions.pending_total ?? 0, pending.length);
  $('questions-count').textContent = `(${total} open)`;
  $('questions-empty').hidden = open.length > 0 || total > pending.length;
  more($('questions-more'), total - pending.length, 'open question');
  renderList($('questions-pending'), open, q => q.id, pendingQuestionRow);
  renderList($('questions-answered'), answered.filter(matches), q => q.id, answeredQuestionRow);
}

function questionText(q) {
  const text = h('div', { class: 'body' });
  appendLinkified(text, q.question, q.question_refs);
  return text;
}

function pendingQuestionRow(q) {
  const peer = q.target !== null;
  // Every way of answering (an option, the chosen options, free text) goes through here: a peer's is an override.
  const answer = async (button, text) => {
    if (peer && !confirm(`answer for ${q.target}? this overrides the peer answer.`)) return false;
    return act(button, '…', { method: 'POST', url: `/api/questions/${q.id}/answer`, body: { answer: text } },
      peer ? `override sent to ${q.asker}` : `answer sent to ${q.asker}`);
  };
  const input = h('input', { name: 'answer', maxlength: 1024, placeholder: peer ? `override ${q.target}'s answer` : 'your answer', required: true });
  const button = h('button', { type: 'submit' }, peer ? '0V3RR1D3' : 'answer');
  const form = h('form', { class: 'answer-form', onsubmit: async event => {
    event.preventDefault();
    if (!input.value.trim()) return;
    if (await answer(button, input.value)) input.value = '';
  } }, input, button);
  const cancel = h('button', { type: 'button', class: 'danger cancel' }, 'C4NC3L');
  cancel.addEventListener('click', () => {
    if (!confirm(`cancel ${q.asker}'s question? they are told [cancelled].`)) return;
    act(cancel, '…', { method: 'POST', url: `/api/questions/${q.id}/cancel` }, `question cancelled; ${q.asker} is told`);
  });
  return h('li', { class: peer ? 'question peer' : 'question', dataset: { id: q.id } },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, q.asker), ' → ', h('span', { class: 'who' }, q.target ?? 'operator'),
      ' · ', relative(q.asked_at),
      q.expires_at && [' · ', h('span', { class: 'expires', title: q.expires_at }, timeLeft(q.expires_at))]),
    questionText(q), q.options?.length > 0 && optionButtons(q, answer), form, h('div', { class: 'actions' }, cancel));
}

/**
 * The asker's options as buttons (advisory: the free-text box stays). One click answers; with `multi` a click toggles
 * and "send chosen" answers with the chosen ones joined by ", ", in the order the asker gave them.
 */
function optionButtons(q, answer) {
  const box = h('div', { class: 'options', role: 'group', 'aria-label': 'options' });
  if (!q.multi) {
    for (const option of q.options) {
      const button = h('button', { type: 'button', class: 'option' }, option);
      button.addEventListener('click', () => answer(button, option));
      box.append(button);
    }
    return box;
  }
  const chosen = new Set();
  const send = h('button', { type: 'button', class: 'send-chosen', disabled: true }, 'send chosen');
  for (const option of q.options) {
    const button = h('button', { type: 'button', class: 'option', 'aria-pressed': 'false' }, option);
    button.addEventListener('click', () => {
      if (!chosen.delete(option)) chosen.add(option);
      button.setAttribute('aria-pressed', String(chosen.has(option)));
      send.disabled = chosen.size === 0;
    });
    box.append(button);
  }
  send.addEventListener('click', () => answer(send, q.options.filter(o => chosen.has(o)).join(', ')));
  box.append(send);
  return box;
}

/** "expires in 4 min": the time a question has left before it resolves as [expired]. */
export function timeLeft(iso, now = Date.now()) {
  const seconds = Math.ceil((new Date(iso).getTime() - now) / 1000);
  if (seconds <= 0) return 'expiring…';
  if (seconds < 90) return `expires in ${seconds}s`;
  if (seconds < 5400) return `expires in ${Math.round(seconds / 60)} min`;
  return `expires in ${Math.round(seconds / 3600)} h`;
}

/** Deadlines count down by the second (cheap: only open questions that have one). */
export function refreshDeadlines() {
  for (const node of document.querySelectorAll('#questions-pending .expires')) node.textContent = timeLeft(node.title);
}

function answeredQuestionRow(q) {
  const answer = h('div', { class: 'body' }, h('span', { class: 'who answerer' }, `${q.answerer}: `));
  appendLinkified(answer, q.answer, q.answer_refs);
  return h('li', { class: q.target !== null ? 'question peer answered' : 'question answered', dataset: { id: q.id } },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, q.asker), ' → ', h('span', { class: 'who' }, q.target ?? 'operator'),
      ' · answered ', relative(q.answered_at)),
    questionText(q), answer);
}

// ◆ QU3U3D R3M1ND3RS: soonest first; failed ones with their error and a retry.
function reminders() {
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

// The snapshot is bounded: say how many a truncated list leaves out (the API pages through all of them).
function more(node, hidden, noun) {
  node.hidden = hidden <= 0;
  node.textContent = hidden > 0 ? `… and ${hidden} more ${noun}${hidden === 1 ? '' : 's'} not shown` : '';
}

function reminderRow(r) {
  const failed = r.attempt_count > 0;
  const cancel = h('button', { type: 'button', class: 'danger cancel' }, 'C4NC3L');
  cancel.addEventListener('click', () => {
    if (!confirm(`cancel the reminder for ${r.agent}?`)) return;
    act(cancel, '…', { method: 'DELETE', url: `/api/reminders/${r.id}` }, `reminder ${r.id} cancelled`);
  });
  const retry = failed && h('button', { type: 'button', class: 'retry' }, 'R3TRY');
  retry && retry.addEventListener('click', () =>
    act(retry, '…', { method: 'POST', url: `/api/reminders/${r.id}/retry` }, `reminder ${r.id} will be retried`));
  const payload = r.payload_path && appendLinkified(h('div', { class: 'payload meta' }, 'payload: '), r.payload_path, r.payload_refs);
  return h('li', { class: failed ? 'reminder failed' : 'reminder', dataset: { id: r.id } },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, r.agent), ' · ', h('span', { class: 'due', title: r.due_at }, relative(r.due_at)),
      failed && ` · ${r.attempt_count} failed attempt${r.attempt_count === 1 ? '' : 's'}`),
    appendLinkified(h('div', { class: 'body' }), r.body, r.body_refs),
    payload,
    failed && h('div', { class: 'error' }, r.last_error),
    append(h('div', { class: 'actions' }), retry, cancel));
}

/** Relative times age without any request: refresh their text now and then. */
export function refreshTimes() {
  for (const node of document.querySelectorAll('.due, .ago')) node.textContent = relative(node.title);
  render('swarm');
  render('tombstones');
}

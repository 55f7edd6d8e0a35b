import { h, append, renderList, relative, clock } from './dom.js';
import { appendLinkified } from './linkify.js';
import { store } from './store.js';
import { act } from './actions.js';
import { swarm, tombstones } from './swarm.js';
import { approvals, meta, metaStale } from './approvals.js';
import { secrets } from './secrets.js';
import { waiting } from './waiting.js';

const $ = id => document.getElementById(id);
let questionFilter = 'all';

export function renderAll() {
  for (const section of ['approvals', 'swarm', 'tombstones', 'secrets', 'meta', 'inbox', 'flow', 'questions', 'reminders', 'waiting']) render(section);
}

export function render(section) {
  ({ approvals, swarm: swarmAndFilter, tombstones, secrets, meta, 'meta-log': metaStale, inbox, flow, questions, reminders, waiting })[section]?.();
}

// Agents and destroyed agents live in swarm.js; approvals and the configuration history in approvals.js; the header's
// count of what waits for the operator in waiting.js.

function swarmAndFilter() {
  swarm();
  flowAgents(); // the flow's agent filter offers every agent listed
}

/** How the flow names a kind of message that is not a plain one. */
const KindLabels = { next_turn: 'wake-up', undeliverable: 'could not be delivered', container_crash: 'crash notice',
  approval_resolved: 'approval decided', config_failed: 'configuration failed' };

/** Pseudo-senders: the host itself (`hive`) and the reminder service; nobody types what they send. */
const PseudoSenders = new Set(['hive', 'reminder']);

/** A notice the host made (a reminder, a wake-up, a crash, a decision), not something an agent or the operator wrote. */
export function isSystemNotice(m) {
  return PseudoSenders.has(m.from) || !(m.kind === 'message' || m.kind === 'answer');
}

/** A message's line; `anchored` (the flow's, not the inbox's) gives it the id a reply links to. */
function messageRow(m, anchored = false) {
  const body = h('div', { class: 'body' });
  appendLinkified(body, m.body, m.file_refs);
  return h('li', { class: `message kind-${m.kind}${m.broadcast ? ' broadcast' : ''}${isSystemNotice(m) ? ' system' : ''}`, id: anchored && `msg-${m.id}`,
    dataset: { id: m.id, ...(m.in_reply_to != null && { inReplyTo: m.in_reply_to }), ...(m.broadcast_id != null && { broadcastId: m.broadcast_id }) } },
    h('div', { class: 'meta' },
      h('span', { class: 'who' }, m.from), ' → ', recipients(m), ' · ', clock(m.sent_at),
      m.kind !== 'message' && ` · ${KindLabels[m.kind] ?? m.kind.replaceAll('_', ' ')}`,
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

// Inbox: what agents sent to the operator.
function inbox() {
  $('inbox-count').textContent = `(${store.inbox.length})`;
  $('inbox-empty').hidden = store.inbox.length > 0;
  renderList($('inbox'), folded(store.inbox), m => m.id, messageRow, updateMessage);
}

// Message flow: every message, live; older pages on demand. A filter (kept in this browser's localStorage, so a reload
// keeps it) shows one agent's messages (from it, to it, or a broadcast that reached it) and can hide system notices.

const FilterKey = 'hive.flow-filter';
const flowFilter = readFlowFilter();

function readFlowFilter() {
  try {
    const saved = JSON.parse(localStorage.getItem(FilterKey) ?? 'null');
    return { agent: typeof saved?.agent === 'string' ? saved.agent : '', hideSystem: saved?.hideSystem === true };
  } catch {
    return { agent: '', hideSystem: false };
  }
}

function shown(entry) {
  if (flowFilter.hideSystem && isSystemNotice(entry)) return false;
  const agent = flowFilter.agent;
  return !agent || entry.from === agent || entry.to === agent || (entry.broadcast?.some(x => x.to === agent) ?? false);
}

export function wireFlowFilter() {
  const select = $('flow-agent');
  const hide = $('flow-hide-system');
  hide.checked = flowFilter.hideSystem;
  flowAgents();
  const changed = () => {
    flowFilter.agent = select.value;
    flowFilter.hideSystem = hide.checked;
    try { localStorage.setItem(FilterKey, JSON.stringify(flowFilter)); } catch { /* private mode: the filter lasts this page */ }
    flow();
  };
  select.addEventListener('change', changed);
  hide.addEventListener('change', changed);
}

/** The filter's agents: every listed agent, everyone the loaded messages name (a destroyed agent's too), and you. */
function flowAgents() {
  const select = $('flow-agent');
  const names = new Set([...store.agents.keys(), 'operator']);
  for (const m of store.messages) for (const name of [m.from, m.to]) if (name && name !== '*' && !PseudoSenders.has(name)) names.add(name);
  if (flowFilter.agent) names.add(flowFilter.agent);
  const sorted = [...names].sort();
  const key = sorted.join(' ');
  if (select.dataset.names === key) return;
  select.dataset.names = key;
  select.replaceChildren(h('option', { value: '' }, 'everyone'),
    ...sorted.map(name => h('option', { value: name }, name === 'operator' ? 'operator (you)' : name)));
  select.value = flowFilter.agent;
}

function flow() {
  const all = folded(store.messages);
  const visible = all.filter(shown);
  renderList($('flow'), visible, m => m.id, m => messageRow(m, true), (node, m) => updateMessage(node, m, true));
  flowAgents();
  const filtering = flowFilter.agent !== '' || flowFilter.hideSystem;
  $('flow-count').textContent = filtering ? `(${visible.length} of ${all.length} shown)` : `(${all.length})`;
  const empty = $('flow-empty');
  empty.hidden = visible.length > 0;
  empty.textContent = all.length === 0 ? 'No messages yet.' : 'No loaded message matches the filter.';
  $('load-older').hidden = store.historyExhausted;
  // The history's reach: delivered messages older than the retention are removed by the host.
  const reach = $('history-reach');
  reach.hidden = !store.historyExhausted || store.retainDays == null;
  reach.textContent = store.retainDays == null ? '' : `The history keeps delivered messages for ${store.retainDays} days.`;
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

// Questions: pending and answered, filter chips, answers and overrides, options, deadlines and cancel.
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
  const chips = [['all', 'All'], ['operator', 'For you'], ['peer', 'Between agents'], ...participants.map(p => [p, p])];
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
    if (peer && !confirm(`Answer instead of ${q.target}? ${q.asker} gets your answer, not ${q.target}'s.`)) return false;
    return act(button, '…', { method: 'POST', url: `/api/questions/${q.id}/answer`, body: { answer: text } },
      peer ? `your answer (instead of ${q.target}'s) sent to ${q.asker}` : `answer sent to ${q.asker}`);
  };
  const input = h('input', { name: 'answer', maxlength: 1024, placeholder: peer ? `answer instead of ${q.target}` : 'your answer', required: true });
  const button = h('button', { type: 'submit' }, peer ? 'Answer instead' : 'Answer');
  const form = h('form', { class: 'answer-form', onsubmit: async event => {
    event.preventDefault();
    if (!input.value.trim()) return;
    if (await answer(button, input.value)) input.value = '';
  } }, input, button);
  const cancel = h('button', { type: 'button', class: 'danger cancel' }, 'Cancel question');
  cancel.addEventListener('click', () => {
    if (!confirm(`Cancel ${q.asker}'s question? They are told it was cancelled.`)) return;
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
  const send = h('button', { type: 'button', class: 'send-chosen', disabled: true }, 'Send chosen');
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

// Reminders: soonest first; failed ones with their error and a retry.
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

/** Relative times age without any request: refresh their text now and then. */
export function refreshTimes() {
  for (const node of document.querySelectorAll('.due, .ago')) node.textContent = relative(node.title);
  render('swarm');
  render('tombstones');
}

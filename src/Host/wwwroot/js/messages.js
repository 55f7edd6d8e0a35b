// @ts-check
import { h, clock } from './dom.js';
import { appendLinkified } from './linkify.js';
import { store } from './store.js';

// A message's row, shared by the inbox and the message flow (the flow's rows carry the id a reply links to).

/** How the flow names a kind of message that is not a plain one. */
const KindLabels = { next_turn: 'wake-up', undeliverable: 'could not be delivered', container_crash: 'crash notice',
  approval_resolved: 'approval decided', config_failed: 'configuration failed' };

/** Pseudo-senders: the host itself (`hive`) and the reminder service; nobody types what they send. */
export const PseudoSenders = new Set(['hive', 'reminder']);

/** A notice the host made (a reminder, a wake-up, a crash, a decision), not something an agent or the operator wrote. */
export function isSystemNotice(m) {
  return PseudoSenders.has(m.from) || !(m.kind === 'message' || m.kind === 'answer');
}

/** A message's line; `anchored` (the flow's, not the inbox's) gives it the id a reply links to. */
export function messageRow(m, anchored = false) {
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

export function updateMessage(node, m, anchored = false) {
  if (m.broadcast) return messageRow(m, anchored); // its recipients may have grown (copies arrive one event each)
  node.querySelector('.delivered').textContent = deliveryMark(m);
}

/** The flow shows a broadcast once: its copies (one row per recipient, newest first like the rest) fold into the first seen. */
export function folded(messages) {
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

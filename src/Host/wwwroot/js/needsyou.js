// @ts-check
import { h, append, renderList, relative } from './dom.js';
import { appendLinkified } from './linkify.js';
import { store } from './store.js';
import { follow } from './live.js';
import { onSignedOutElsewhere } from './signin.js';
import { act } from './actions.js';
import { coalesced } from './reload.js';
import { jsonBody, problemText, unanswered, showError, rowErrors } from './problems.js';
import { optionButtons, timeLeft } from './questions.js';
import { asked, payload } from './approvals.js';
import { pauseAction, HeldReasons } from './governance.js';
import { notice, exited, wireNotifications } from './notify.js';
import { agentTree } from './tree.js';

// /needs-you: everything open for the operator on one phone-width page: questions to the operator (one button per
// option, or a free-text answer), approvals (Approve / Deny), reviews the operator gives (the diff's page, Approve,
// Request changes) and tickets held in a merge queue (Retry), paused, held and failed agents (Resume, Start), and the
// halted hive (Resume the hive). The same snapshot, stream, store and sign-in as the dashboard (live.js, store.js,
// signin.js); an item leaves when the event that decided it arrives, wherever it was decided. A refusal stays beside
// its item as text. Installable through /manifest.webmanifest (no service worker: it needs the hive to be useful).
// What an agent of a subtree asked or waits on is grouped under the top-level agent of its subtree, with a heading
// naming it; a top-level agent without children, the manager and the hive's own items stay as they are.

const $ = id => document.getElementById(id);
const path = s => encodeURIComponent(s);
const plural = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** What an action refused, beside its item until the next action on it (or ×): keys `q:id`, `a:id`, `agent:name`. */
const errors = rowErrors(() => draw());

const forOperator = () => store.questions.pending.filter(q => q.target == null).sort((a, b) => a.id - b.id);

/** Tickets whose review waits for the operator (the board asked the operator: listed as reviews, not as their question). */
const reviewsForOperator = () => [...store.work.tickets.values()].filter(t => t.review?.reviewer === 'operator').sort((a, b) => a.id - b.id);

/** Tickets a merge queue holds for the operator (it could not do its part: a check that could not run, a refused push). */
const heldInQueue = () => (store.work.queue?.entries ?? []).filter(e => e.state === 'held');

/** The agents that wait for the operator: paused, held by a budget or a provider limit, or failed (with why). */
function agentsInNeed() {
  const paused = new Set((store.governance?.paused ?? []).map(p => p.agent));
  const rows = [];
  for (const a of [...store.agents.values()].sort((x, y) => (x.name < y.name ? -1 : 1))) {
    const isPaused = !!a.paused || paused.has(a.name);
    const held = !isPaused && (a.held?.reason === 'budget' || a.held?.reason === 'quota') ? a.held : null;
    const failed = a.state === 'failed';
    if (isPaused || held || failed) rows.push({ agent: a, paused: isPaused, held, failed });
  }
  return rows;
}

function draw() {
  const reviews = reviewsForOperator();
  const held = heldInQueue();
  const reviewQuestions = new Set(reviews.map(t => t.review.question_id));
  const all = forOperator();
  const questions = all.filter(q => !reviewQuestions.has(q.id));
  const hiddenQuestions = Math.max(0, store.questionsForOperator - all.length);
  const approvals = store.approvals;
  const agents = agentsInNeed();
  const halted = store.governance?.halted ?? null;
  errors.prune(key => key.startsWith('q:') ? questions.some(q => `q:${q.id}` === key)
    : key.startsWith('a:') ? approvals.some(a => `a:${a.id}` === key)
      : key.startsWith('r:') ? reviews.some(t => `r:${t.id}` === key) || held.some(e => `r:${e.ticket_id}` === key)
        : agents.some(n => `agent:${n.agent.name}` === key));

  drawHalt(halted);
  const questionCount = questions.length + hiddenQuestions;
  $('ny-questions-panel').hidden = questionCount === 0;
  $('ny-questions-count').textContent = `(${questionCount})`;
  const tree = agentTree(store.agents.values());
  renderBySubtree($('ny-questions'), tree, questions, q => q.asker, q => q.id, questionItem,
    (node, q) => { node.querySelector(':scope > .action-error').replaceWith(errors.line(`q:${q.id}`)); });
  // The snapshot lists a bounded number; the rest are counted (the dashboard pages through them).
  const rest = $('ny-questions-more');
  rest.hidden = hiddenQuestions === 0;
  rest.textContent = hiddenQuestions > 0 ? `… and ${plural(hiddenQuestions, 'more question')} not shown: see the dashboard` : '';

  $('ny-approvals-panel').hidden = approvals.length === 0;
  $('ny-approvals-count').textContent = `(${approvals.length})`;
  renderBySubtree($('ny-approvals'), tree, approvals, a => (store.agents.has(a.requester) ? a.requester : a.agent), a => a.id, approvalItem,
    (node, a) => { node.querySelector(':scope > .action-error').replaceWith(errors.line(`a:${a.id}`)); });

  const code = reviews.length + held.length;
  $('ny-reviews-panel').hidden = code === 0;
  $('ny-reviews-count').textContent = `(${code})`;
  renderList($('ny-reviews'), [...reviews.map(t => ({ key: `review:${t.id}`, ticket: t })), ...held.map(e => ({ key: `held:${e.ticket_id}`, entry: e }))],
    item => item.key, codeItem, (node, item) => { node.querySelector(':scope > .action-error').replaceWith(errors.line(`r:${item.ticket?.id ?? item.entry.ticket_id}`)); });

  $('ny-agents-panel').hidden = agents.length === 0;
  $('ny-agents-count').textContent = `(${agents.length})`;
  renderBySubtree($('ny-agents'), tree, agents, n => n.agent.name, n => n.agent.name, agentItem, (_, n) => agentItem(n));

  const total = questionCount + approvals.length + code + agents.length + (halted ? 1 : 0);
  $('ny-empty').hidden = total > 0;
  const parts = [questionCount > 0 && plural(questionCount, 'question'), approvals.length > 0 && plural(approvals.length, 'approval'),
    reviews.length > 0 && plural(reviews.length, 'review'), held.length > 0 && `${held.length} held to land`,
    agents.length > 0 && plural(agents.length, 'agent'), halted && 'hive halted'].filter(Boolean);
  const counts = $('needs-counts');
  counts.hidden = false;
  counts.dataset.total = String(total);
  counts.textContent = parts.length > 0 ? parts.join(' · ') : 'nothing waits';
  document.title = total > 0 ? `(${total}) Needs you · Hive` : 'Needs you · Hive';
}

/**
 * A section's items, each item of an agent in a subtree (one whose top-level agent has children) in a group under a
 * heading naming that top-level agent; the rest as they are. A group stands where its first item would.
 */
function renderBySubtree(list, tree, items, agentOf, keyOf, create, update) {
  const entries = [];
  const groups = new Map();
  for (const item of items) {
    const agent = agentOf(item);
    const top = store.agents.has(agent) ? tree.topOf(agent) : null;
    if (!top || !tree.children.has(top)) { entries.push({ key: String(keyOf(item)), item }); continue; }
    if (!groups.has(top)) {
      const group = { key: `subtree:${top}`, top, items: [] };
      groups.set(top, group);
      entries.push(group);
    }
    groups.get(top).items.push(item);
  }
  const fill = (node, group) => {
    const under = tree.descendants(group.top).length;
    node.querySelector(':scope > .subtree-heading .subtree-size').textContent = `and the ${plural(under, 'agent')} under it`;
    renderList(node.querySelector(':scope > .subtree-items'), group.items, keyOf, create, update);
  };
  renderList(list, entries, e => e.key, e => {
    if (!e.items) return create(e.item);
    const heading = `${list.id}-subtree-${e.top}`;
    const node = h('li', { class: 'subtree-group', dataset: { top: e.top } },
      h('h3', { class: 'subtree-heading', id: heading }, h('span', { class: 'who' }, e.top), ' ', h('span', { class: 'meta subtree-size' })),
      h('ul', { class: 'rows subtree-items', 'aria-labelledby': heading }));
    fill(node, e);
    return node;
  }, (node, e) => (e.items ? fill(node, e) : update(node, e.item)));
}

function drawHalt(halted) {
  $('ny-halted').hidden = !halted;
  if (!halted) return;
  $('ny-halt-text').replaceChildren();
  append($('ny-halt-text'), h('strong', {}, 'Hive halted'), ' by ', h('span', { class: 'who' }, halted.by ?? 'someone'),
    ' ', h('span', { class: 'ago', title: halted.since }, relative(halted.since)),
    halted.reason && [': ', h('span', { class: 'halt-reason' }, halted.reason)], '. No turn is granted until you resume.');
}

function questionItem(q) {
  const key = `q:${q.id}`;
  const answer = (button, text) => {
    errors.set(key, null);
    return act(button, '…', { method: 'POST', url: `/api/questions/${q.id}/answer`, body: { answer: text } },
      `answer sent to ${q.asker}`, message => errors.set(key, `answer: ${message}`));
  };
  const text = h('div', { class: 'body' });
  appendLinkified(text, q.question, q.question_refs);
  let free = null;
  if (!(q.options?.length > 0)) {
    const input = h('input', { name: 'answer', maxlength: 1024, placeholder: 'your answer', required: true, 'aria-label': 'your answer' });
    const send = h('button', { type: 'submit', class: 'big' }, 'Answer');
    free = h('form', { class: 'answer-form', onsubmit: async event => {
      event.preventDefault();
      if (!input.value.trim()) return;
      if (await answer(send, input.value)) input.value = '';
    } }, input, send);
  }
  return h('li', { class: 'question need', dataset: { id: q.id, asker: q.asker } },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, q.asker), ' asks · ', h('span', { class: 'ago', title: q.asked_at }, relative(q.asked_at)),
      q.expires_at && [' · ', h('span', { class: 'expires', title: q.expires_at }, timeLeft(q.expires_at))]),
    text, errors.line(key), q.options?.length > 0 ? optionButtons(q, answer) : free);
}

function approvalItem(a) {
  const key = `a:${a.id}`;
  const decide = (verb, busy, done) => button => {
    errors.set(key, null);
    act(button, busy, { method: 'POST', url: `/api/approvals/${a.id}/${verb}`, body: {} }, `${asked(a)} ${done}`,
      message => errors.set(key, `${verb}: ${message}`));
  };
  const approve = h('button', { type: 'button', class: 'approve big', dataset: { action: 'approve' } }, 'Approve');
  const deny = h('button', { type: 'button', class: 'danger deny big', dataset: { action: 'deny' } }, 'Deny');
  approve.addEventListener('click', () => decide('approve', 'approving…', 'approved')(approve));
  deny.addEventListener('click', () => decide('deny', 'denying…', 'denied')(deny));
  return h('li', { class: `approval need kind-${a.kind}`, dataset: { id: a.id, kind: a.kind, agent: a.agent } },
    h('div', { class: 'asked' }, h('strong', {}, asked(a))),
    h('div', { class: 'meta' }, 'asked by ', h('span', { class: 'who' }, a.requester), ' · ', h('span', { class: 'ago', title: a.created_at }, relative(a.created_at))),
    payload(a), errors.line(key), h('div', { class: 'actions' }, approve, deny));
}

/** A review the operator gives (its diff's page, Approve, Request changes with what must change), or a held ticket (Retry). */
function codeItem({ ticket: t, entry: e }) {
  const id = t?.id ?? e.ticket_id;
  const key = `r:${id}`;
  const diff = h('a', { href: `/tickets/${id}`, class: 'diff-link' }, 'Open the diff');
  if (e) {
    const retry = h('button', { type: 'button', class: 'approve big', dataset: { action: 'retry' } }, 'Retry');
    retry.addEventListener('click', () => {
      errors.set(key, null);
      act(retry, 'retrying…', { method: 'POST', url: `/api/merge-queue/${id}/retry`, body: {} }, `#${id} is queued again`, message => errors.set(key, `retry: ${message}`));
    });
    return h('li', { class: 'held-entry need', dataset: { ticket: id } },
      h('div', {}, h('strong', {}, `#${id} ${e.title}`)),
      h('div', { class: 'fact held' }, h('span', { class: 'badge held' }, 'held in the merge queue'), ' ', e.reason ?? ''),
      errors.line(key), h('div', { class: 'actions' }, retry, ' ', diff));
  }
  const words = h('input', { name: 'body', maxlength: 4096, placeholder: 'what must change (for Request changes)', 'aria-label': 'what must change' });
  const review = (button, verdict, busy, done) => {
    errors.set(key, null);
    const body = verdict === 'request_changes' && words.value.trim() ? { verdict, body: words.value } : { verdict };
    act(button, busy, { method: 'POST', url: `/api/tickets/${id}/reviews`, body }, `#${id} ${done}`, message => errors.set(key, `${verdict.replace('_', ' ')}: ${message}`));
  };
  const approve = h('button', { type: 'button', class: 'approve big', dataset: { action: 'approve' } }, 'Approve');
  const changes = h('button', { type: 'button', class: 'danger big', dataset: { action: 'request_changes' } }, 'Request changes');
  approve.addEventListener('click', () => review(approve, 'approve', 'approving…', 'approved'));
  changes.addEventListener('click', () => review(changes, 'request_changes', 'sending…', 'sent back'));
  return h('li', { class: 'review need', dataset: { ticket: id } },
    h('div', {}, h('strong', {}, `#${id} ${t.title}`)),
    h('div', { class: 'meta' }, `${t.workflow} · ${t.phase} · `, diff),
    words, errors.line(key), h('div', { class: 'actions' }, approve, changes));
}

function agentItem({ agent: a, paused, held, failed }) {
  const key = `agent:${a.name}`;
  const failedBecause = message => errors.set(key, message);
  const start = !failed ? null : h('button', { type: 'button', class: 'approve start big', dataset: { action: 'start' } }, 'Start');
  start?.addEventListener('click', () => {
    errors.set(key, null);
    act(start, 'starting…', { method: 'POST', url: `/api/agents/${path(a.name)}/start` }, `${a.name} started`,
      message => errors.set(key, `start: ${message}`));
  });
  const resume = paused ? pauseAction(a.name, true, failedBecause) : null;
  resume?.classList.add('big');
  const why = [
    failed && h('div', { class: 'fact failed' }, h('span', { class: 'badge state state-failed' }, 'failed'), ' ',
      `${exited(a.last_exit)}not restarted until you start it`),
    paused && h('div', { class: 'fact paused' }, h('span', { class: 'badge paused-badge' }, 'paused'), ' no turn is granted until you resume it'),
    held && h('div', { class: 'fact held' }, h('span', { class: `badge held held-${held.reason}` }, `held: ${HeldReasons[held.reason] ?? held.reason}`),
      held.reason === 'budget' ? ' its next turn waits for a higher cap (see the hive’s question, or the dashboard’s budgets)'
        : [' its provider is at its limit', held.until && [' until ', h('span', { title: held.until }, relative(held.until))]]),
  ];
  return h('li', { class: 'agent need', dataset: { agent: a.name, paused: String(paused), failed: String(failed), held: held?.reason ?? '' } },
    h('div', {}, h('span', { class: 'who' }, a.name), a.purpose && h('span', { class: 'meta' }, ` · ${a.purpose}`)),
    why, errors.line(key), (start || resume) && h('div', { class: 'actions' }, start, resume));
}

// Governance changes arrive as "something changed": reload GET /api/governance (one request at a time, one more queued).
const refreshGovernance = coalesced(async () => {
  try {
    const response = await fetch('/api/governance');
    const body = await jsonBody(response);
    if (!response.ok) { showError($('ny-halt-error'), `could not load governance: ${problemText(body, response.status)}`); return; }
    store.governance = body;
    draw();
  } catch (error) {
    showError($('ny-halt-error'), unanswered(error));
  }
});

$('ny-resume-hive').addEventListener('click', event => {
  showError($('ny-halt-error'), null);
  act(event.currentTarget, 'resuming…', { method: 'POST', url: '/api/governance/resume' }, 'hive resumed',
    message => showError($('ny-halt-error'), `resume: ${message}`));
});

wireNotifications($('notify'));

const connection = $('connection');
function setConnection(state) {
  connection.dataset.state = state;
  connection.textContent = state === 'live' ? '● live' : state === 'reconnecting' ? '○ reconnecting…'
    : state === 'signed-out' ? '○ signed out' : state;
  if (state === 'signed-out') {
    $('needs-counts').hidden = true; // nothing of the hive shows while signed out
    document.title = 'Needs you · Hive';
  }
}

// A merge queue's step arrives as "something changed": reload GET /api/merge-queue (its held tickets).
const refreshQueue = coalesced(async () => {
  try {
    const response = await fetch('/api/merge-queue');
    if (response.ok) { store.work.queue = await response.json(); draw(); }
  } catch {
    // The stream's reconnect reloads the snapshot, which has the queue.
  }
});

const { start } = follow({
  loaded: draw,
  changed: sections => {
    if (sections.has('governance-refresh')) refreshGovernance();
    if (sections.has('board-queue-refresh')) refreshQueue();
    if (['questions', 'approvals', 'swarm', 'governance', 'waiting', 'board'].some(s => sections.has(s))) draw();
  },
  heard: notice, // the browser's notifications, as on the dashboard (same origin: the same permission and choice)
  connection: setConnection,
});

// Signed out in another tab (the dashboard's Sign out): start over, at the sign-in screen.
onSignedOutElsewhere(() => { if (connection.dataset.state !== 'signed-out') start(); });

setInterval(() => {
  const expiries = /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#ny-questions .expires'));
  for (const node of expiries) node.textContent = timeLeft(node.title);
  for (const node of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.needs .ago'))) node.textContent = relative(node.title);
}, 1_000);

await start();

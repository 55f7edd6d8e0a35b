// @ts-check
import { h, renderList, relative, clock } from './dom.js';
import { store } from './store.js';
import { act, toast } from './actions.js';
import { coalesced } from './reload.js';
import { jsonBody, problemText, unanswered, showError, showProblem } from './problems.js';

// The board: one per workflow (a selector when there are several), its columns the workflow's phases in order
// but the side one (a blocked ticket stays in the column it came from, marked). Tickets come from /api/state's `work` and
// follow ticket_changed (a done ticket leaves), the columns follow workflows_changed, the leases leases_changed. A card
// dragged to another column is POST /api/tickets/{id}/move; a refusal (a WIP limit, a move the phase does not allow, a
// blocked ticket, a gate with what it misses) stays on the card, in its column, until the next move or ×: the card itself
// moves only when the host's ticket_changed says so. Narrow screens get a "move to" list on each card instead of dragging.
// A click on a card opens its drawer: GET /api/tickets/{id} (history with each gate, context, notes, discoveries, the
// phase's done definition and expected outputs), reloaded when the ticket changes, and the live leases in its footer.

const $ = id => document.getElementById(id);

/** localStorage key of the workflow shown (the shipped one, else the first, when none was picked). */
const PickKey = 'hive.board-workflow';

/** Refusals of a move, by ticket id: {from, to, detail, missing}, shown on the card until its next move, ×, or it leaves that column. */
const refusals = new Map();

function workflows() {
  return store.work.workflows;
}

function shownWorkflow() {
  const list = workflows();
  const picked = localStorage.getItem(PickKey);
  return list.find(w => w.name === picked) ?? list.find(w => w.name === 'software_development') ?? list[0] ?? null;
}

/** The board's columns: the workflow's phases that are not its side phase, in order. */
export function columnsOf(workflow) {
  return (workflow?.phases ?? []).filter(p => !p.side);
}

/** How many done tickets a terminal column shows (the latest; the API has them all). */
const DoneShown = 20;

/** The board's tickets: the open ones by priority, then the latest done ones (their terminal column). */
function ticketsOf(workflow) {
  const open = [...store.work.tickets.values()].filter(t => t.workflow === workflow.name)
    .sort((a, b) => (b.priority - a.priority) || (a.id - b.id));
  const done = [...store.work.done.values()].filter(t => t.workflow === workflow.name)
    .sort((a, b) => b.updated_at.localeCompare(a.updated_at) || (b.id - a.id)).slice(0, DoneShown);
  return [...open, ...done];
}

/** The done tickets of `workflow`'s terminal columns, fetched once per snapshot (ticket_changed keeps them after). */
async function fetchDone(workflow) {
  const work = store.work;
  if (work.doneFetched.has(workflow.name)) return;
  work.doneFetched.add(workflow.name);
  showError($('board-problem'), null);
  for (const phase of workflow.phases.filter(p => p.terminal)) {
    try {
      const response = await fetch(`/api/tickets?workflow=${encodeURIComponent(workflow.name)}&column=${encodeURIComponent(phase.name)}&done=true&limit=${DoneShown}`);
      if (!response.ok) { showError($('board-problem'), `done tickets: ${problemText(await jsonBody(response), response.status)}`); continue; }
      for (const t of await response.json()) if (!work.tickets.has(t.id) && !work.done.has(t.id)) work.done.set(t.id, t);
    } catch (error) {
      showError($('board-problem'), `done tickets: ${unanswered(error)}`);
    }
  }
  if (store.work === work) board();
}

export function board() {
  const list = workflows();
  const workflow = shownWorkflow();
  workflowErrors();
  // The selector, when there are several workflows; the form's list is every workflow.
  $('board-pick').hidden = list.length < 2;
  syncOptions($('board-workflow'), list.map(w => w.name), workflow?.name ?? '');
  syncOptions($('ticket-workflow'), list.map(w => w.name), /** @type {HTMLSelectElement} */ ($('ticket-workflow')).value || workflow?.name || '');
  $('board-description').textContent = workflow?.description ?? '';
  $('board-empty').hidden = workflow !== null;
  const open = store.work.tickets.size;
  $('board-count').textContent = open === 0 ? '' : `(${open} open)`;
  // A refusal is about a move from where the card stood: it goes when the ticket left that column (or the board).
  for (const [id, refusal] of refusals) if (store.work.tickets.get(id)?.column !== refusal.from) refusals.delete(id);
  const container = $('board-columns');
  if (!workflow) { container.replaceChildren(); return; }
  container.dataset.workflow = workflow.name;
  fetchDone(workflow);
  const tickets = ticketsOf(workflow);
  const columns = columnsOf(workflow);
  renderList(container, columns, p => `${workflow.name}/${p.name}`, p => column(workflow, p));
  for (const node of /** @type {HTMLCollectionOf<HTMLElement>} */ (container.children)) {
    const phase = columns.find(p => `${workflow.name}/${p.name}` === node.dataset.key);
    if (phase) fillColumn(node, workflow, phase, tickets, columns);
  }
  leases();
  mergeQueue();
}

/** A select's options as `values`, keeping what is selected when it is still offered. */
function syncOptions(select, values, selected) {
  const current = [...select.options].map(o => o.value);
  if (current.length !== values.length || current.some((v, i) => v !== values[i]))
    select.replaceChildren(...values.map(v => h('option', { value: v }, v.replaceAll('_', ' '))));
  if (values.includes(selected)) select.value = selected;
}

/** The files the last load refused, each with its line, and what loaded workflows warn of (a pass-through phase), above the board. */
function workflowErrors() {
  const errors = store.work.errors ?? [];
  const warnings = (store.work.workflows ?? []).flatMap(w => (w.warnings ?? []).map(text => ({ workflow: w.name, text })));
  const box = $('board-errors');
  box.hidden = errors.length === 0 && warnings.length === 0;
  box.replaceChildren(...errors.map(e => h('li', { class: 'workflow-error', dataset: { file: e.file } },
    h('strong', {}, `workflows/${e.file}`), ` line ${e.line}: ${e.reason}`,
    h('span', { class: 'meta' }, e.kept ? ' (its last good version keeps running)' : ' (not loaded)'))),
  ...warnings.map(w => h('li', { class: 'workflow-warning', dataset: { workflow: w.workflow } },
    h('strong', {}, `workflows/${w.workflow}.yaml`), ` loads, but: ${w.text}`)));
}

function column(workflow, phase) {
  const node = h('section', { class: 'board-column', dataset: { phase: phase.name } },
    h('h3', { class: 'column-head' }, h('span', { class: 'column-name' }, phase.name.replaceAll('_', ' ')), ' ', h('span', { class: 'wip' })),
    h('ul', { class: 'cards' }),
    h('p', { class: 'empty column-empty' }, 'nothing here'));
  node.addEventListener('dragover', event => {
    if (!event.dataTransfer.types.includes('application/x-hive-ticket')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'move';
    node.classList.add('drop-target');
  });
  node.addEventListener('dragleave', event => { if (!node.contains(event.relatedTarget)) node.classList.remove('drop-target'); });
  node.addEventListener('drop', event => {
    node.classList.remove('drop-target');
    const id = Number(event.dataTransfer.getData('application/x-hive-ticket'));
    if (!id) return;
    event.preventDefault();
    const ticket = store.work.tickets.get(id);
    if (ticket && ticket.column !== node.dataset.phase) move(id, node.dataset.phase);
  });
  return node;
}

function fillColumn(node, workflow, phase, tickets, columns) {
  const here = tickets.filter(t => t.column === phase.name);
  const limit = phase.wip_limit;
  if (phase.terminal) {
    const wip = node.querySelector('.wip');
    wip.textContent = here.length ? (here.length >= DoneShown ? `latest ${DoneShown}` : String(here.length)) : '';
    wip.title = 'done tickets, the latest first';
    node.classList.add('terminal');
    node.querySelector('.column-empty').hidden = here.length > 0;
    renderList(node.querySelector('.cards'), here, t => t.id, t => card(t, columns), (_, t) => card(t, columns));
    return;
  }
  const wip = node.querySelector('.wip');
  wip.textContent = limit != null ? `${here.length} / ${limit}` : here.length > 0 ? String(here.length) : '';
  wip.title = limit != null ? `${here.length} tickets here, at most ${limit} (its WIP limit)` : `${here.length} tickets here`;
  node.classList.toggle('full', limit != null && here.length >= limit);
  node.classList.toggle('terminal', phase.terminal === true);
  node.querySelector('.column-empty').hidden = here.length > 0;
  renderList(node.querySelector('.cards'), here, t => t.id, t => card(t, columns), (_, t) => card(t, columns));
}

/** The open conflict risks a ticket is in (the radar's, from the snapshot and conflict_risk). */
function risksOf(id) {
  return [...store.work.risks.values()].filter(r => r.ticket_a === id || r.ticket_b === id);
}

function card(ticket, columns) {
  const refusal = refusals.get(ticket.id);
  const node = h('li', {
    class: `card${ticket.blocked ? ' blocked' : ''}${ticket.next_phase ? ' waiting-room' : ''}${ticket.done ? ' done' : ''}`,
    draggable: ticket.done ? 'false' : 'true', tabindex: '0', dataset: { id: ticket.id, phase: ticket.phase, column: ticket.column },
    title: 'drag to another column to move it; click for its details',
  },
    h('div', { class: 'card-head' },
      h('span', { class: 'ticket-id' }, `#${ticket.id}`), ' ',
      h('span', { class: 'ticket-title' }, ticket.title),
      ticket.priority !== 0 ? h('span', { class: `chip priority${ticket.priority > 0 ? ' high' : ''}`, title: 'priority: higher comes first' }, `priority ${ticket.priority}`) : null),
    h('div', { class: 'card-facts' },
      ticket.assignee ? h('span', { class: 'assignee who' }, ticket.assignee)
        : ticket.offered_to ? h('span', { class: 'offered' }, `offered to ${ticket.offered_to}`) : null,
      ticket.blocked ? h('span', { class: 'chip blocked-mark', title: ticket.blocked_question_id ? `waits for the answer to question ${ticket.blocked_question_id}` : 'blocked' }, 'blocked') : null,
      ticket.waiting_on?.length ? h('span', { class: 'chip waiting-on' }, `waiting on ${ticket.waiting_on.map(n => `#${n}`).join(', ')}`) : null,
      queueChip(ticket) ?? (ticket.next_phase ? h('span', { class: 'chip next', title: 'its gate passed: it moves when there is room' }, `→ ${ticket.next_phase}`) : null),
      ticket.review ? h('span', { class: 'chip review' }, `review: ${ticket.review.reviewer}`) : null,
      forecastChip(ticket),
      risksOf(ticket.id).map(r => {
        const other = r.ticket_a === ticket.id ? r.ticket_b : r.ticket_a;
        return h('span', { class: `chip conflict-risk ${r.level}`, dataset: { risk: r.id, other }, title: `${r.reason.replace('_', ' ')}: ${r.files.join(', ')}` },
          `${r.level === 'danger' ? '⚠ conflict' : 'overlap'} with #${other}`);
      }),
      (ticket.labels ?? []).map(l => h('span', { class: 'chip label' }, l))),
    ticket.done ? null : moveSelect(ticket, columns),
    refusal ? refusalNode(ticket.id, refusal) : null);
  node.addEventListener('dragstart', event => {
    event.dataTransfer.setData('application/x-hive-ticket', String(ticket.id));
    event.dataTransfer.setData('text/plain', `#${ticket.id} ${ticket.title}`);
    event.dataTransfer.effectAllowed = 'move';
    node.classList.add('dragging');
  });
  node.addEventListener('dragend', () => node.classList.remove('dragging'));
  node.addEventListener('click', event => {
    if (event.target.closest('select, button, .move-refusal')) return;
    openDrawer(ticket.id);
  });
  node.addEventListener('keydown', event => { if (event.key === 'Enter' && event.target === node) openDrawer(ticket.id); });
  return node;
}

/**
 * The card's cost forecast, made when it was offered or claimed: "≈ $P50 (P90 $X) from N tickets", or that there is none;
 * marked while it waits for the operator's yes (its P90 above its assignee's daily budget left) or after their no.
 */
function forecastChip(ticket) {
  const f = ticket.forecast;
  if (!f) return null;
  const waiting = f.question_id && !f.decision ? ` · waits for your yes (question ${f.question_id})` : f.decision === 'no' ? ' · you said no' : '';
  return h('span', { class: `chip forecast${f.basis ? '' : ' none'}${waiting && f.decision !== 'yes' ? ' over-budget' : ''}`,
    title: 'what it will probably cost: the median and 90th percentile of the metered costs of the finished tickets most like it' },
  `${f.text}${waiting}`);
}

/** "Move to": the narrow screen's way to move a card (and the keyboard's), the other columns of its board. */
function moveSelect(ticket, columns) {
  const select = h('select', { class: 'move-to', 'aria-label': `move ticket ${ticket.id} to` },
    h('option', { value: '' }, 'move to…'),
    columns.filter(p => p.name !== ticket.column).map(p => h('option', { value: p.name }, p.name.replaceAll('_', ' '))));
  select.addEventListener('change', () => { if (select.value) move(ticket.id, select.value); });
  return select;
}

function refusalNode(id, refusal) {
  const dismiss = h('button', { type: 'button', class: 'quiet dismiss', title: 'dismiss', 'aria-label': 'dismiss' }, '×');
  dismiss.addEventListener('click', () => { refusals.delete(id); board(); });
  return h('div', { class: 'move-refusal error', role: 'alert', dataset: { to: refusal.to } },
    h('p', { class: 'refusal-detail' }, `Not moved to ${refusal.to}: ${refusal.detail}`, ' ', dismiss),
    refusal.missing.length ? h('ul', { class: 'missing' }, refusal.missing.map(m => h('li', {}, m))) : null);
}

/** POST /api/tickets/{id}/move; a refusal's detail and missing items stay on the card. */
export async function move(id, to) {
  refusals.delete(id);
  const from = store.work.tickets.get(id)?.column ?? null;
  let response;
  try {
    response = await fetch(`/api/tickets/${id}/move`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to }),
    });
  } catch (error) {
    refusals.set(id, { from, to, detail: unanswered(error), missing: [] });
    board();
    return false;
  }
  if (!response.ok) {
    const problem = await jsonBody(response);
    const missing = Array.isArray(problem?.errors?.missing) ? problem.errors.missing : [];
    refusals.set(id, { from, to, detail: problemText(problem, response.status), missing });
    board();
    drawerRefusal(id, to, problem, response.status);
    return false;
  }
  // The card moves when ticket_changed arrives; the answer is the same view, applied now in case the stream lags.
  const ticket = await jsonBody(response);
  const known = store.work.tickets.get(id);
  if (ticket?.id === id && (!known || known.updated_at <= ticket.updated_at)) {
    if (ticket.done) { store.work.tickets.delete(id); store.work.done.set(id, ticket); } else store.work.tickets.set(id, ticket);
  }
  board();
  toast(`#${id} moved to ${to}`);
  if (drawer.id === id) reloadDrawer();
  return true;
}

// ---- the merge queue -------------------------------------------------------------------------------------------------

/** A ticket's live place in a merge queue (queued, testing, held), or undefined. */
function queueEntryOf(id) {
  return store.work.queue?.entries?.find(e => e.ticket_id === id && ['queued', 'testing', 'held'].includes(e.state));
}

/** The card's chip for a ticket in a merge queue: where it stands there (instead of "→ done"). */
function queueChip(ticket) {
  const entry = queueEntryOf(ticket.id);
  if (!entry) return null;
  const text = entry.state === 'queued' ? `queued #${entry.position} to land` : entry.state === 'testing' ? `testing in batch ${entry.batch_id}` : 'held';
  return h('span', { class: `chip merge-queue ${entry.state}`, dataset: { state: entry.state }, title: entry.reason ?? `approved by ${entry.approved_by}; lands on ${entry.repository}` }, text);
}

/** The merge queues beside the board: the live entries in order (the batch being tested marked), then the last that ended. */
export function mergeQueue() {
  const entries = store.work.queue?.entries ?? [];
  const live = entries.filter(e => ['queued', 'testing', 'held'].includes(e.state));
  const ended = entries.filter(e => !live.includes(e)).slice(0, 5);
  $('board-queue-count').textContent = live.length ? `(${live.length})` : '';
  $('board-queue-empty').hidden = live.length > 0;
  const paused = store.work.queue?.paused ?? [];
  $('board-queue-paused').hidden = paused.length === 0;
  $('board-queue-paused').textContent = paused.length ? `Paused: ${paused.map(p => p.repository).join(', ')}` : '';
  renderList($('board-queue'), live, e => `${e.ticket_id}\u0000${e.state}\u0000${e.pull_url}`, queueRow, (_, e) => queueRow(e));
  $('board-queue-ended-title').hidden = ended.length === 0;
  renderList($('board-queue-ended'), ended, e => `${e.ticket_id}\u0000${e.state}\u0000${e.ended_at}\u0000${e.pull_merged}`, queueRow, (_, e) => queueRow(e));
}

function queueRow(e) {
  const state = e.state === 'queued' ? `#${e.position} in line` : e.state === 'testing' ? `testing (batch ${e.batch_id})`
    : e.state === 'landed' && e.merge_sha ? `landed as ${e.merge_sha.slice(0, 12)}` : e.state;
  const row = h('li', { class: `queue-entry ${e.state}`, dataset: { ticket: e.ticket_id, state: e.state } },
    h('span', { class: 'ticket-id' }, `#${e.ticket_id}`), ' ', h('span', { class: 'ticket-title' }, e.title), ' ',
    h('span', { class: `chip merge-queue ${e.state}` }, state),
    e.reason ? h('span', { class: 'meta reason' }, ` · ${e.reason}`) : null,
    e.files?.length ? h('span', { class: 'meta files' }, ` · ${e.files.join(', ')}`) : null,
    pullLink(e));
  row.addEventListener('click', () => openDrawer(e.ticket_id));
  return row;
}

/** The pull request the owner opened on the forge for a queued ticket (a link out; the row's click is for the drawer). */
function pullLink(e) {
  if (!e.pull_url || !/^https?:\/\//.test(e.pull_url)) return null;
  const link = h('a', { class: 'pull-request', href: e.pull_url, target: '_blank', rel: 'noopener noreferrer' },
    `PR #${e.pull_number}${e.pull_merged ? ' (merged)' : ''}`);
  link.addEventListener('click', event => event.stopPropagation());
  return [' · ', link];
}

/** Reads the merge queues again after a step (several steps in a row make one read after the one running). */
export const refreshMergeQueue = coalesced(async () => {
  try {
    const response = await fetch('/api/merge-queue');
    if (!response.ok) { showError($('board-problem'), `merge queue: ${problemText(await jsonBody(response), response.status)}`); return; }
    store.work.queue = await response.json();
    mergeQueue();
    board();
  } catch (error) {
    showError($('board-problem'), `merge queue: ${unanswered(error)}`);
  }
});

/** The live leases, beside the board and in the drawer's footer (leases are held by agents, not tied to tickets). */
export function leases() {
  const list = store.leases ?? [];
  for (const [rows, empty, count] of [['board-leases', 'board-leases-empty', 'board-leases-count'], ['drawer-leases', 'drawer-leases-empty', 'drawer-leases-count']]) {
    $(empty).hidden = list.length > 0;
    $(count).textContent = list.length ? `(${list.length})` : '';
    renderList($(rows), list, l => `${l.resource}\u0000${l.holder}`, lease, (_, l) => lease(l));
  }
}

function lease(l) {
  return h('li', { class: 'lease', dataset: { resource: l.resource, holder: l.holder } },
    h('code', { class: 'resource' }, l.resource), ' ', h('span', { class: 'who' }, l.holder), ' ',
    h('span', { class: 'chip' }, l.exclusive ? 'exclusive' : 'shared'), ' ',
    h('span', { class: 'meta due', title: l.expires_at }, relative(l.expires_at)),
    l.reason ? h('span', { class: 'meta' }, ` · ${l.reason}`) : null);
}

// ---- the drawer ------------------------------------------------------------------------------------------------------

const drawer = { id: null, detail: null, seen: null };

export function openDrawer(id) {
  drawer.id = id;
  drawer.detail = null;
  drawer.seen = null;
  $('ticket-drawer').hidden = false;
  $('drawer-title').textContent = `Ticket #${id}`;
  $('drawer-body').replaceChildren(h('p', { class: 'meta' }, 'loading…'));
  showError($('drawer-error'), null);
  leases();
  reloadDrawer();
}

function closeDrawer() {
  drawer.id = null;
  $('ticket-drawer').hidden = true;
}

const reloadDrawer = coalesced(async () => {
  const id = drawer.id;
  if (id === null) return;
  try {
    const response = await fetch(`/api/tickets/${id}`);
    if (drawer.id !== id) return;
    if (!response.ok) { showError($('drawer-error'), problemText(await jsonBody(response), response.status)); return; }
    drawer.detail = await response.json();
    drawer.seen = drawer.detail.ticket.updated_at;
    showError($('drawer-error'), null);
    drawDrawer();
  } catch (error) {
    if (drawer.id === id) showError($('drawer-error'), unanswered(error));
  }
});

/** A ticket_changed arrived: the open drawer reloads when its ticket changed (or left the board). */
export function boardTicket() {
  if (drawer.id === null || drawer.detail === null) return;
  const live = store.work.tickets.get(drawer.id);
  if (!live || live.updated_at !== drawer.seen) reloadDrawer();
}

function drawerRefusal(id, to, problem, status) {
  if (drawer.id !== id) return;
  showProblem($('drawer-error'), problemText(problem, status), problem?.errors ? problem : null, status);
}

function section(title, className, ...children) {
  return h('section', { class: `drawer-section ${className}` }, h('h3', {}, title), ...children);
}

function drawDrawer() {
  const { ticket: t, history, notes, children, prompt, done_definition: done, expected_outputs: outputs } = drawer.detail;
  $('drawer-title').textContent = `#${t.id} ${t.title}`;
  const workflow = workflows().find(w => w.name === t.workflow);
  const facts = [
    ['workflow', t.workflow.replaceAll('_', ' ')],
    ['phase', t.blocked ? `${t.phase} (from ${t.column})` : t.phase],
    t.next_phase ? ['next', `${t.next_phase}, when there is room`] : null,
    ['priority', String(t.priority)],
    t.assignee ? ['assignee', `${t.assignee}${t.claimed_at ? `, since ${clock(t.claimed_at)}` : ''}`] : null,
    !t.assignee && t.offered_to ? ['offered to', t.offered_to] : null,
    t.forecast ? ['forecast', `${t.forecast.text}${t.forecast.question_id ? ` (question ${t.forecast.question_id}: ${t.forecast.decision ?? 'waiting for your answer'})` : ''}`] : null,
    t.labels?.length ? ['labels', t.labels.join(', ')] : null,
    t.depends_on?.length ? ['depends on', t.depends_on.map(n => `#${n}${t.waiting_on?.includes(n) ? ' (not done)' : ''}`).join(', ')] : null,
    t.parent_id ? ['found in', `#${t.parent_id}${t.discovery_reason ? `: ${t.discovery_reason}` : ''}`] : null,
    t.blocked_question_id ? ['blocked on', `question ${t.blocked_question_id}`] : null,
    t.review ? ['review', `${t.review.reviewer} (question ${t.review.question_id})`] : null,
    t.done ? ['done', 'yes'] : null,
    ['created', `${t.created_by}, ${relative(t.created_at)}`],
  ].filter(Boolean);
  const ticks = new Set(t.ticks ?? []);
  const body = [
    h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    t.body ? h('p', { class: 'body ticket-body' }, t.body) : null,
    workflow?.repository ? h('p', { class: 'actions' }, h('a', { href: `/tickets/${t.id}`, class: 'button quiet', id: 'drawer-review-link' }, 'Diff and review')) : null,
    moveForm(t, workflow),
    section(`In ${t.phase}: done when`, 'done-definition',
      done.length ? h('ul', { class: 'checks' }, done.map(d => h('li', { class: ticks.has(d) ? 'ticked' : '' }, ticks.has(d) ? '✓ ' : '○ ', d)))
        : h('p', { class: 'empty' }, 'No done definition.'),
      outputs.length ? h('ul', { class: 'expected-outputs' }, outputs.map(o => h('li', {}, h('span', { class: 'chip' }, o.kind), ' ', o.path ?? '', o.description ? h('span', { class: 'meta' }, ` ${o.description}`) : null)))
        : h('p', { class: 'empty' }, 'No expected outputs.'),
      prompt ? h('details', { class: 'history' }, h('summary', {}, 'The phase prompt'), h('p', { class: 'body' }, prompt)) : null),
    t.submitted ? section('Last submitted', 'submitted',
      h('p', { class: 'meta' }, `${t.submitted.by}, ${relative(t.submitted.at)}`),
      t.submitted.summary ? h('p', { class: 'body' }, t.submitted.summary) : null,
      outputList(t.submitted.outputs), gateLine(t.submitted.gate)) : null,
    section('History', 'history-list',
      history.length ? h('ol', { class: 'rows' }, history.map(e => h('li', { class: 'history-entry', dataset: { to: e.to_phase } },
        h('span', {}, e.from_phase ? `${e.from_phase} → ${e.to_phase}` : `created in ${e.to_phase}`), ' ',
        h('span', { class: 'meta' }, `by ${e.moved_by}, ${clock(e.moved_at)}`),
        e.gate ? gateLine(e.gate) : null)))
        : h('p', { class: 'empty' }, 'No moves yet.')),
    section('Context', 'context',
      t.context?.length ? h('ol', { class: 'rows' }, t.context.map(c => h('li', { class: 'context-entry' },
        h('span', { class: 'chip' }, c.phase), ' ', h('span', { class: 'who' }, c.by), ' ', h('span', { class: 'meta' }, clock(c.at)),
        c.summary ? h('p', { class: 'body' }, c.summary) : null, outputList(c.outputs))))
        : h('p', { class: 'empty' }, 'Nothing handed on yet.')),
    section('Notes', 'notes',
      notes.length ? h('ol', { class: 'rows' }, notes.map(n => h('li', { class: 'note' },
        h('span', { class: 'who' }, n.author), ' ', h('span', { class: 'meta' }, clock(n.written_at)), h('p', { class: 'body' }, n.text))))
        : h('p', { class: 'empty' }, 'No notes.'),
      noteForm(t)),
    section('Found while working it', 'children',
      children.length ? h('ul', { class: 'rows' }, children.map(c => h('li', { class: 'child', dataset: { id: c.id } },
        h('a', { href: '#', onclick: event => { event.preventDefault(); openDrawer(c.id); } }, `#${c.id} ${c.title}`), ' ',
        h('span', { class: 'chip' }, c.done ? 'done' : c.column),
        c.discovery_reason ? h('p', { class: 'meta' }, `why: ${c.discovery_reason}`) : null)))
        : h('p', { class: 'empty' }, 'No discoveries.')),
  ];
  $('drawer-body').replaceChildren(...body.filter(Boolean));
}

function outputList(outputs) {
  return outputs?.length ? h('ul', { class: 'outputs' }, outputs.map(o => h('li', {}, h('span', { class: 'chip' }, o.kind), ' ', h('code', {}, o.value)))) : null;
}

function gateLine(gate) {
  if (!gate) return null;
  return h('div', { class: `gate ${gate.passed ? 'passed' : 'refused'}` },
    h('span', {}, gate.passed ? 'gate passed' : 'gate refused'), gate.review ? h('span', { class: 'meta' }, ` · ${gate.review}`) : null,
    gate.missing?.length ? h('ul', { class: 'missing' }, gate.missing.map(m => h('li', {}, m))) : null);
}

function moveForm(ticket, workflow) {
  if (ticket.done) return null;
  const select = h('select', { name: 'to', 'aria-label': 'move to' },
    columnsOf(workflow).filter(p => p.name !== ticket.column).map(p => h('option', { value: p.name }, p.name.replaceAll('_', ' '))));
  const button = h('button', { type: 'submit' }, 'Move');
  const release = h('button', { type: 'button', class: 'quiet', title: 'take it from its assignee and back to the queue' }, 'Release');
  release.hidden = !ticket.assignee && !ticket.offered_to;
  release.addEventListener('click', async () => {
    await act(release, 'releasing…', { method: 'POST', url: `/api/tickets/${ticket.id}/release` }, `#${ticket.id} released`,
      (message, problem, status) => showProblem($('drawer-error'), message, problem, status));
  });
  const form = h('form', { class: 'drawer-move', autocomplete: 'off' }, h('label', {}, 'Move to ', select), ' ', button, ' ', release);
  form.addEventListener('submit', async event => {
    event.preventDefault();
    button.disabled = true;
    try { await move(ticket.id, select.value); } finally { button.disabled = false; }
  });
  return form;
}

function noteForm(ticket) {
  const input = h('input', { name: 'note', maxlength: '2000', placeholder: 'a note for whoever works it', 'aria-label': 'note' });
  const button = h('button', { type: 'submit' }, 'Add note');
  const form = h('form', { class: 'answer-form note-form', autocomplete: 'off' }, input, button);
  form.addEventListener('submit', async event => {
    event.preventDefault();
    if (!input.value.trim()) return;
    if (await act(button, 'saving…', { method: 'PATCH', url: `/api/tickets/${ticket.id}`, body: { note: input.value } }, 'note added',
      (message, problem, status) => showProblem($('drawer-error'), message, problem, status))) {
      input.value = '';
      reloadDrawer();
    }
  });
  return form;
}

// ---- wiring -----------------------------------------------------------------------------------------------------------

export function wireBoard() {
  $('board-workflow').addEventListener('change', event => {
    const picked = /** @type {HTMLSelectElement} */ (event.target).value;
    localStorage.setItem(PickKey, picked);
    /** @type {HTMLSelectElement} */ ($('ticket-workflow')).value = picked; // a new ticket goes to the board shown, unless the form says otherwise
    refusals.clear();
    board();
  });
  $('drawer-close').addEventListener('click', closeDrawer);
  document.addEventListener('keydown', event => { if (event.key === 'Escape' && drawer.id !== null) closeDrawer(); });
  const form = /** @type {import('./dom.js').Form} */ ($('ticket-form'));
  form.addEventListener('submit', async event => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { title: /** @type {string} */ (data.get('title')).trim(), workflow: data.get('workflow') || undefined };
    if (/** @type {string} */ (data.get('body')).trim()) body.body = data.get('body');
    if (data.get('priority') !== '') body.priority = Number(data.get('priority'));
    const labels = /** @type {string} */ (data.get('labels')).split(/[\s,]+/).filter(Boolean);
    if (labels.length) body.labels = labels;
    showProblem($('ticket-error'), null);
    if (await act($('ticket-button'), 'creating…', { method: 'POST', url: '/api/tickets', body },
      async response => { const t = await jsonBody(response); return t?.id ? `ticket #${t.id} created` : 'ticket created'; },
      (message, problem, status) => showProblem($('ticket-error'), message, problem, status))) {
      form.reset();
      board();
    }
  });
}

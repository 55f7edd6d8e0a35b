// @ts-check
import { h, renderList, relative, clock } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';
import { coalesced } from './reload.js';
import { jsonBody, problemText, unanswered, showError, rowErrors } from './problems.js';

// Interventions: every action that overrode an agent's course (a pause, a resume, a halt, a budget set, a provider limit
// opened or cleared, a watchdog rule's nudge or pause, a turn ended, a stop, a limit change, an answer via push), newest first, the last 50: who, at what authority, what, on whom, why, when, before → after, and
// whether it was reverted (by which). Revert asks first, then POST /api/interventions/{id}/revert; a refusal (a lower
// authority, reverted already, not revertible) stays beside its row. Not in /api/state: the section loads itself from
// GET /api/interventions, and again on each intervention_recorded (one request at a time, one more queued).

const $ = id => document.getElementById(id);

/** How many the section shows. */
export const Shown = 50;

const Actions = {
  pause: 'paused', resume: 'resumed', halt: 'halted the hive', resume_hive: 'resumed the hive', budget_set: 'set the budget of',
  budget_answer: 'applied a budget answer for', quota_circuit_opened: 'opened the provider limit of',
  quota_circuit_cleared: 'cleared the provider limit of', revert: 'reverted', nudge: 'nudged', end_turn: 'ended the turn of',
  extend_turn: 'gave more minutes to', restart: 'restarted', stop: 'stopped', destroy: 'destroyed', limit_change: 'changed the limits of',
  answer_for_agent: 'answered for', answer: 'answered', approve: 'approved', deny: 'denied',
  provider_switch: 'switched the provider of',
  slash_compact: 'asked a compaction of', slash_clear: 'cleared the conversation of', slash_model: 'switched the model of',
};

/** What a Revert refused, kept beside its row until its next action (or ×). */
const errors = rowErrors(() => interventions());

/** The rows whose Revert was clicked and waits for its confirm. */
const confirming = new Set();

export function interventions() {
  const list = store.interventions;
  $('interventions-empty').hidden = list === null || list.length > 0;
  $('interventions-count').textContent = list === null ? '' : `(${list.length === Shown ? `last ${Shown}` : list.length})`;
  if (list === null) return;
  const ids = new Set(list.map(i => String(i.id)));
  errors.prune(key => ids.has(key));
  for (const id of [...confirming]) if (!list.some(i => i.id === id && i.reverted_by == null)) confirming.delete(id);
  renderList($('interventions'), list, i => i.id, row, (_, i) => row(i));
}

/** A value of before or after, in a word: none, yes, no, 2.5, or its fields. */
function word(value) {
  if (value === null || value === undefined) return 'none';
  if (value === true) return 'yes';
  if (value === false) return 'no';
  if (typeof value === 'object') {
    const fields = Object.entries(value);
    return fields.length === 0 ? 'nothing' : fields.map(([k, v]) => `${k.replaceAll('_', ' ')} ${word(v)}`).join(', ');
  }
  return String(value);
}

const plain = value => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Before → after in a compact form: of two objects only the fields that changed (`paused: no → yes`, `daily usd: none →
 * 2`); anything else whole. Empty when the intervention recorded neither.
 */
export function change(before, after) {
  if (before == null && after == null) return [];
  if (plain(before) && plain(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    const changed = keys.filter(k => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null));
    if (changed.length === 0) return ['no change'];
    return changed.map(k => `${k.replaceAll('_', ' ')}: ${word(before[k])} → ${word(after[k])}`);
  }
  return [`${word(before)} → ${word(after)}`];
}

/** A time of day, with its date when it is not today. */
function when(iso) {
  const at = new Date(iso);
  return at.toDateString() === new Date().toDateString() ? clock(iso) : `${at.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${clock(iso)}`;
}

function row(i) {
  const key = String(i.id);
  const reverted = i.reverted_by != null;
  return h('li', { class: `intervention${reverted ? ' reverted' : ''}`,
    dataset: { id: key, action: i.action, target: i.target ?? '', reverted: reverted ? String(i.reverted_by) : '' } },
  h('div', { class: 'intervention-head' },
    h('span', { class: 'who actor' }, i.actor),
    h('span', { class: `badge authority authority-${i.authority_name}`, title: `authority level ${i.authority} of 5` }, i.authority_name),
    ' ', h('span', { class: 'action' }, Actions[i.action] ?? i.action.replaceAll('_', ' ')),
    i.target != null && [' ', h('span', { class: 'who target' }, i.target)],
    reverted && h('span', { class: 'badge reverted-badge', title: i.reverted_at ? `reverted at ${i.reverted_at}` : 'reverted' },
      `reverted by #${i.reverted_by}`)),
  i.reason && h('div', { class: 'reason' }, i.reason),
  h('div', { class: 'meta' },
    h('span', { class: 'number' }, `#${i.id}`), ' · ',
    h('time', { datetime: i.at, title: i.at }, when(i.at)), ' (', h('span', { class: 'ago', title: i.at }, relative(i.at)), ')',
    change(i.before, i.after).flatMap(text => [' · ', h('span', { class: 'change' }, text)])),
  errors.line(key),
  !reverted && revertActions(i, key));
}

/** Revert, then its confirm step (Revert it / Cancel). */
function revertActions(i, key) {
  if (!confirming.has(i.id)) {
    const revert = h('button', { type: 'button', class: 'quiet revert', dataset: { action: 'revert' }, title: 'undo it: the opposite action, recorded as an intervention of its own' }, 'Revert');
    revert.addEventListener('click', () => { errors.set(key, null); confirming.add(i.id); interventions(); });
    return h('div', { class: 'actions' }, revert);
  }
  const yes = h('button', { type: 'button', class: 'danger confirm-revert', dataset: { action: 'confirm-revert' } }, 'Revert it');
  const no = h('button', { type: 'button', class: 'quiet cancel-revert', dataset: { action: 'cancel-revert' } }, 'Cancel');
  no.addEventListener('click', () => { confirming.delete(i.id); interventions(); });
  yes.addEventListener('click', async () => {
    errors.set(key, null);
    await act(yes, 'reverting…', { method: 'POST', url: `/api/interventions/${i.id}/revert` }, `intervention #${i.id} reverted`,
      message => errors.set(key, `revert: ${message}`));
    confirming.delete(i.id);
    interventions();
  });
  return h('div', { class: 'actions revert-confirm' }, h('span', { class: 'meta' }, 'Undo this intervention?'), yes, no);
}

/** GET /api/interventions (the last 50) into the store and onto the page: one request at a time; one asked for meanwhile runs after it. */
export const refreshInterventions = coalesced(async () => {
  try {
    const response = await fetch(`/api/interventions?limit=${Shown}`);
    const body = await jsonBody(response);
    if (!response.ok) {
      showError($('interventions-error'), `could not load the interventions: ${problemText(body, response.status)}`);
      return;
    }
    store.interventions = Array.isArray(body) ? body : [];
    showError($('interventions-error'), null);
    interventions();
  } catch (error) {
    showError($('interventions-error'), unanswered(error));
  }
});

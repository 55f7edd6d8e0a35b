import { h, append, renderList, relative } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';

// Approvals: what the manager asked for and only the operator decides (a new agent, a destroy, a configuration change),
// newest first, with approve / deny and an optional reason. A card leaves when its `approval_resolved` event arrives
// (never on the button's answer), and joins "recently decided".
// Configuration history: the meta repo's pinned inputs and recent commits, loaded when the section is opened and on "Refresh".

const $ = id => document.getElementById(id);

/** What a decision refused (409: decided meanwhile), kept beside its card until the next try (or ×). */
const errors = new Map();

const KindLabels = { spawn: 'new agent', destroy: 'destroy', config_commit: 'configuration change' };

/** What an approval asks for, in a sentence's words: "new agent scout", "destroying scout", "configuration change for scout". */
const asked = a => a.kind === 'spawn' ? `new agent ${a.agent}` : a.kind === 'destroy' ? `destroying ${a.agent}`
  : a.kind === 'config_commit' ? `configuration change for ${a.agent}` : `${a.kind} of ${a.agent}`;

export function approvals() {
  const list = store.approvals;
  for (const id of errors.keys()) if (!list.some(a => a.id === id)) errors.delete(id);
  const count = $('approvals-count');
  count.textContent = String(list.length);
  count.classList.toggle('attention', list.length > 0);
  count.title = `${list.length} pending approval${list.length === 1 ? '' : 's'}`;
  $('approvals-empty').hidden = list.length > 0;
  $('approvals-panel').classList.toggle('is-empty', list.length === 0 && store.decided.length === 0);
  renderList($('approvals'), list, a => a.id, approvalCard, updateCard);

  const decided = store.decided;
  $('approvals-decided-box').hidden = decided.length === 0;
  $('approvals-decided-count').textContent = `(${decided.length})`;
  renderList($('approvals-decided'), decided, a => a.id, decidedRow, (_, a) => decidedRow(a));
}

/** A pending approval does not change: a card is built once (its typed reason survives), only its error line moves. */
function approvalCard(a) {
  const reason = h('input', { name: 'reason', maxlength: 500, placeholder: 'reason (optional)', 'aria-label': 'reason' });
  const decide = (verb, busy, done) => button => {
    setError(a.id, null);
    const text = reason.value.trim();
    act(button, busy, { method: 'POST', url: `/api/approvals/${a.id}/${verb}`, body: text ? { reason: text } : {} },
      `${asked(a)} ${done}`, message => setError(a.id, `${verb}: ${message}`));
  };
  const approve = h('button', { type: 'button', class: 'approve', dataset: { action: 'approve' } }, 'Approve');
  const deny = h('button', { type: 'button', class: 'danger deny', dataset: { action: 'deny' } }, 'Deny');
  approve.addEventListener('click', () => decide('approve', 'approving…', 'approved')(approve));
  deny.addEventListener('click', () => decide('deny', 'denying…', 'denied')(deny));
  const form = h('form', { class: 'decide', onsubmit: event => event.preventDefault() }, reason, approve, deny);
  return h('li', { class: `approval kind-${a.kind}`, dataset: { id: a.id, kind: a.kind, agent: a.agent } },
    approvalHead(a), payload(a), errorLine(a.id), form);
}

function updateCard(node, a) {
  node.querySelector(':scope > .action-error').replaceWith(errorLine(a.id));
}

function approvalHead(a) {
  return h('div', { class: 'approval-head' },
    h('span', { class: `badge kind kind-${a.kind}` }, KindLabels[a.kind] ?? a.kind), ' ',
    h('span', { class: 'who agent' }, a.agent),
    h('span', { class: 'meta' }, ' · asked by ', h('span', { class: 'who requester' }, a.requester),
      ' · ', h('span', { class: 'ago created', title: a.created_at }, relative(a.created_at)),
      ` · #${a.id}`));
}

/** What was asked, readably: a spawn's purpose, command and driver; a destroy's reason; a config change's diff. */
function payload(a) {
  const p = a.payload ?? {};
  const box = h('div', { class: 'payload' });
  switch (a.kind) {
    case 'spawn':
      return append(box,
        p.purpose && h('div', { class: 'purpose' }, p.purpose),
        Array.isArray(p.command) && p.command.length > 0 && h('div', { class: 'meta command' }, '$ ', p.command.join(' ')),
        h('div', { class: 'meta' }, 'runs as: ', h('span', { class: 'driver' }, p.driver ?? 'the host default')));
    case 'destroy':
      return append(box, h('div', { class: 'reason' }, h('span', { class: 'meta' }, 'reason: '), p.reason ?? '(none given)'));
    case 'config_commit': {
      const c = p.config ?? {};
      return append(box,
        c.purpose && h('div', { class: 'purpose' }, c.purpose),
        h('div', { class: 'meta' }, 'runs as: ', h('span', { class: 'driver' }, c.driver ?? 'the host default'),
          c.restart && ` · when it exits: ${c.restart === 'never' ? 'leave it stopped' : c.restart === 'on-failure' ? 'restart it if it failed' : c.restart}`, p.commit && [' · ', h('span', { title: p.commit }, `commit ${p.commit.slice(0, 8)}`)]),
        diff(p.diff ?? ''));
    }
    default:
      return append(box, h('pre', { class: 'raw' }, JSON.stringify(p, null, 2)));
  }
}

/** A unified diff, one span per line: added, removed, hunk and file lines get their own classes. */
export function diff(text) {
  const pre = h('pre', { class: 'diff' });
  const lines = text.replace(/\n$/, '').split('\n');
  for (const line of lines) {
    const cls = line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ') || line.startsWith('index ') ? 'diff-file'
      : line.startsWith('@@') ? 'diff-hunk'
      : line.startsWith('+') ? 'diff-add'
      : line.startsWith('-') ? 'diff-del'
      : 'diff-context';
    pre.append(h('span', { class: cls }, line), '\n');
  }
  if (text.trim() === '') pre.textContent = '(no changes)';
  return pre;
}

function decidedRow(a) {
  return h('li', { class: `approval decided status-${a.status}`, dataset: { id: a.id, status: a.status } },
    h('span', { class: `badge status status-${a.status}` }, a.status), ' ',
    h('span', { class: 'meta' }, `${KindLabels[a.kind] ?? a.kind}: `), h('span', { class: 'who' }, a.agent),
    h('span', { class: 'meta' }, ` · by ${a.decided_by ?? '?'} · `, h('span', { class: 'ago', title: a.decided_at }, relative(a.decided_at))),
    a.reason && h('div', { class: 'reason' }, h('span', { class: 'meta' }, 'reason: '), a.reason));
}

function errorLine(id) {
  const text = errors.get(id);
  const line = h('p', { class: 'error action-error', role: 'alert' });
  if (!text) { line.hidden = true; return line; }
  const dismiss = h('button', { type: 'button', class: 'quiet dismiss', title: 'dismiss', 'aria-label': 'dismiss' }, '×');
  dismiss.addEventListener('click', () => setError(id, null));
  return append(line, text, ' ', dismiss);
}

function setError(id, text) {
  if (text) errors.set(id, text);
  else if (errors.has(id)) errors.delete(id);
  else return;
  approvals();
}

// Configuration history ------------------------------------------------------------------------------------------------------------

/** Pins are commit ids or hashes: the first 12 characters say enough (the whole pin is the title). */
const short = (pin, n = 12) => (pin && pin.length > n + 2 ? pin.slice(0, n) : pin ?? 'unpinned');

export function meta() {
  const { inputs, log } = store.meta;
  $('meta-inputs-empty').hidden = inputs === null || inputs.length > 0;
  renderList($('meta-inputs'), inputs ?? [], i => i.name, inputRow, (_, i) => inputRow(i));
  $('meta-log-empty').hidden = log === null || log.length > 0;
  renderList($('meta-log'), log ?? [], c => c.id, commitRow, (_, c) => commitRow(c));
}

function inputRow(i) {
  return h('li', { class: 'meta-input', dataset: { input: i.name } },
    h('span', { class: 'who' }, i.name), ' ',
    h('code', { class: 'pin', title: i.pin ?? 'not pinned yet' }, short(i.pin)),
    h('div', { class: 'meta source' }, i.source));
}

function commitRow(c) {
  return h('li', { class: 'commit', dataset: { commit: c.id } },
    h('code', { class: 'sha', title: c.id }, c.id.slice(0, 7)), ' ',
    h('span', { class: 'message' }, c.message), ' ',
    h('span', { class: 'meta ago', title: c.at }, relative(c.at)));
}

let loading = null;

/** GET /api/meta into the store (one request at a time; a request asked for meanwhile runs after it). */
async function loadMeta() {
  if (loading) { loading.again = true; return loading.done; }
  const state = { again: false };
  loading = state;
  state.done = (async () => {
    const refresh = $('meta-refresh');
    refresh.disabled = true;
    try {
      do {
        state.again = false;
        const response = await fetch('/api/meta');
        const body = (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : null;
        if (!response.ok) {
          showMetaError(`could not load the configuration history: ${body?.detail ?? body?.title ?? 'failed'} (${response.status})`);
          return;
        }
        store.meta = { inputs: body.inputs ?? [], log: body.log ?? [] };
        showMetaError(null);
        meta();
      } while (state.again);
    } catch (error) {
      showMetaError(`the host did not answer: ${error.message}`);
    } finally {
      refresh.disabled = false;
      loading = null;
    }
  })();
  return state.done;
}

function showMetaError(text) {
  const line = $('meta-error');
  line.textContent = text ?? '';
  line.hidden = !text;
}

let staleTimer = null;

/** Something that commits to the meta repo happened: an open section reloads its log (a burst of events, once). */
export function metaStale() {
  if (!$('meta-box').open) return; // opening it loads it
  clearTimeout(staleTimer);
  staleTimer = setTimeout(loadMeta, 250);
}

export function wireMeta() {
  const box = $('meta-box');
  box.addEventListener('toggle', () => { if (box.open) loadMeta(); });
  $('meta-refresh').addEventListener('click', loadMeta);
  const update = $('meta-update');
  const result = $('meta-update-result');
  update.addEventListener('click', () => {
    result.hidden = true;
    showMetaError(null);
    act(update, 'updating…', { method: 'POST', url: '/api/meta/update' }, async response => {
      const body = (response.headers.get('content-type') ?? '').includes('json') ? await response.json().catch(() => null) : null;
      if (Array.isArray(body?.inputs)) { store.meta.inputs = body.inputs; meta(); }
      const changed = Array.isArray(body?.changed) ? body.changed : null;
      result.textContent = changed ? (changed.length ? `Updated: ${changed.join(', ')}` : 'Every input was already up to date.')
        : `Inputs updated (${response.status}).`;
      result.hidden = false;
      return 'pinned inputs updated';
    }, message => showMetaError(`update pinned inputs: ${message}`));
  });
}

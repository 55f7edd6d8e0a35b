// @ts-check
import { h, append, renderList, relative } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';
import { rowErrors } from './problems.js';

// Approvals: what the manager asked for and only the operator decides (a new agent, a destroy, a configuration change),
// newest first, with approve / deny and an optional reason. A card leaves when its `approval_resolved` event arrives
// (never on the button's answer), and joins "recently decided".

const $ = id => document.getElementById(id);

/** What a decision refused (409: decided meanwhile), kept beside its card until the next try (or ×). */
const errors = rowErrors(() => approvals());

const KindLabels = { spawn: 'new agent', destroy: 'destroy', config_commit: 'configuration change', fork: 'fork', template_import: 'template import' };

/** What an approval asks for, in a sentence's words: "new agent scout", "destroying scout", "configuration change for scout". */
export const asked = a => a.kind === 'spawn' ? `new agent ${a.agent}` : a.kind === 'destroy' ? `destroying ${a.agent}`
  : a.kind === 'config_commit' ? `configuration change for ${a.agent}`
  : a.kind === 'template_import' ? `importing the template ${a.payload?.template ?? ''} (from ${a.agent})` : `${a.kind} of ${a.agent}`;

export function approvals() {
  const list = store.approvals;
  errors.prune(id => list.some(a => a.id === id));
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
    errors.set(a.id, null);
    const text = reason.value.trim();
    act(button, busy, { method: 'POST', url: `/api/approvals/${a.id}/${verb}`, body: text ? { reason: text } : {} },
      `${asked(a)} ${done}`, message => errors.set(a.id, `${verb}: ${message}`));
  };
  const approve = h('button', { type: 'button', class: 'approve', dataset: { action: 'approve' } }, 'Approve');
  const deny = h('button', { type: 'button', class: 'danger deny', dataset: { action: 'deny' } }, 'Deny');
  approve.addEventListener('click', () => decide('approve', 'approving…', 'approved')(approve));
  deny.addEventListener('click', () => decide('deny', 'denying…', 'denied')(deny));
  const form = h('form', { class: 'decide', onsubmit: event => event.preventDefault() }, reason, approve, deny);
  return h('li', { class: `approval kind-${a.kind}`, dataset: { id: a.id, kind: a.kind, agent: a.agent } },
    approvalHead(a), payload(a), errors.line(a.id), form);
}

function updateCard(node, a) {
  node.querySelector(':scope > .action-error').replaceWith(errors.line(a.id));
}

function approvalHead(a) {
  return h('div', { class: 'approval-head' },
    h('span', { class: `badge kind kind-${a.kind}` }, KindLabels[a.kind] ?? a.kind), ' ',
    h('span', { class: 'who agent' }, a.agent),
    h('span', { class: 'meta' }, ' · asked by ', h('span', { class: 'who requester' }, a.requester),
      ' · ', h('span', { class: 'ago created', title: a.created_at }, relative(a.created_at)),
      ` · #${a.id}`));
}

/** What was asked, readably: a spawn's purpose, command, driver and budget; a destroy's reason; a config change's diff; a fork's turn, model and message. */
export function payload(a) {
  const p = a.payload ?? {};
  const box = h('div', { class: 'payload' });
  switch (a.kind) {
    case 'spawn':
      return append(box,
        p.purpose && h('div', { class: 'purpose' }, p.purpose),
        Array.isArray(p.command) && p.command.length > 0 && h('div', { class: 'meta command' }, '$ ', p.command.join(' ')),
        h('div', { class: 'meta' }, 'runs as: ', h('span', { class: 'driver' }, p.driver ?? 'the host default')),
        typeof p.budget === 'number' && h('div', { class: 'meta budget' }, `budget: $${p.budget.toFixed(2)} a month, a share of ${a.requester}'s`));
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
    case 'template_import':
      return append(box,
        h('div', { class: 'meta template' }, `template ${p.template}: ${(p.agents ?? []).length} agents, `, h('span', { title: p.hash }, `${String(p.hash ?? '').slice(0, 15)}…`)),
        diff(p.diff ?? ''));
    case 'fork':
      return append(box,
        h('div', { class: 'meta fork-of' }, `a fork of ${a.agent} at the end of turn #${p.at_turn}, as ${p.name}${p.model ? `, on ${p.model}` : ''}`),
        h('div', { class: 'message' }, h('span', { class: 'meta' }, 'its next message: '), p.message ?? 'the messages that woke the original\'s next turn'));
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

// @ts-check
import { h, relative, clock } from './dom.js';
import { follow } from './live.js';
import { onSignedOutElsewhere } from './signin.js';
import { jsonBody, problemText, unanswered, showError } from './problems.js';
import { act } from './actions.js';

// /tickets/{id}: a ticket's branch against its base, for review. The files changed, then the patch: unified below
// 1000 px, side by side from 1000 px (colour says added or removed, nothing says what language). A line's number opens a
// comment on it (POST /api/tickets/{id}/comments); each thread shows under its line with its replies, whether it is
// resolved (and by which commit) and whether a later commit touched its lines; a thread whose lines are no longer in the
// diff is listed above its file. The review form submits comment, request changes or approve. The page reads the ticket,
// its diff and its review again when the ticket changes (ticket_changed: a submit pushed, a move) or its review does
// (review_changed). Everything from the branch and the comments is put in as text, never as HTML.

const $ = id => document.getElementById(id);
const id = Number(location.pathname.replace(/^\/tickets\//, '').replace(/\/.*$/, ''));
const wide = matchMedia('(min-width: 1000px)');
/** @type {any} */ let ticket = null;
/** @type {any} */ let diff = null;
/** @type {any} */ let review = null;
/** Where the comment form is open: {path, side, line}, or null. */
let composing = null;
/** What the operator is typing, by box ("compose", "reply:<comment>"): a redraw (a reply arriving) keeps it. */
const drafts = new Map();

/** A textarea that keeps its draft across redraws under `key`. */
function draftBox(key, attrs) {
  const box = h('textarea', attrs);
  box.value = drafts.get(key) ?? '';
  box.addEventListener('input', () => drafts.set(key, box.value));
  return box;
}

/**
 * The patch's files as the page draws them, in git's order (the diff's file list has the same order): each file's hunks,
 * each a header and rows {kind: context|added|removed, old, new, text} (a side's number is null where the row has none).
 */
export function parsePatch(patch) {
  const files = [];
  let file = null;
  let hunk = null;
  let oldNo = 0;
  let newNo = 0;
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) { files.push(file = { hunks: [] }); hunk = null; continue; }
    if (!file) continue;
    const header = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (header) { oldNo = Number(header[1]); newNo = Number(header[2]); file.hunks.push(hunk = { header: line, rows: [] }); continue; }
    if (!hunk || line.length === 0) continue;
    if (line[0] === ' ') hunk.rows.push({ kind: 'context', old: oldNo++, new: newNo++, text: line.slice(1) });
    else if (line[0] === '-') hunk.rows.push({ kind: 'removed', old: oldNo++, new: null, text: line.slice(1) });
    else if (line[0] === '+') hunk.rows.push({ kind: 'added', old: null, new: newNo++, text: line.slice(1) });
  }
  return files;
}

/** Side by side: context rows face themselves; a run of removed rows faces the run of added rows after it. */
function pairs(rows) {
  const out = [];
  for (let i = 0; i < rows.length;) {
    if (rows[i].kind === 'context') { out.push([rows[i], rows[i]]); i++; continue; }
    const removed = [];
    const added = [];
    while (i < rows.length && rows[i].kind === 'removed') removed.push(rows[i++]);
    while (i < rows.length && rows[i].kind === 'added') added.push(rows[i++]);
    for (let k = 0; k < Math.max(removed.length, added.length); k++) out.push([removed[k] ?? null, added[k] ?? null]);
  }
  return out;
}

const short = sha => (sha ? sha.slice(0, 10) : '');

function drawHead() {
  if (!ticket) return;
  document.title = `#${ticket.id} ${ticket.title} · Hive`;
  $('tp-title').textContent = `#${ticket.id} ${ticket.title}`;
  $('tp-badges').replaceChildren(
    h('span', { class: 'badge', dataset: { badge: 'phase' } }, ticket.done ? 'done' : ticket.phase),
    review ? h('span', { class: 'badge', dataset: { badge: 'owner' } }, `owner ${review.owner}`) : null,
    ticket.review ? h('span', { class: 'badge waiting', dataset: { badge: 'reviewer' } }, `asked of ${ticket.review.reviewer}`) : null);
  $('tp-branch').replaceChildren(...(diff
    ? [h('code', {}, diff.branch), ` of ${diff.repository}: `, h('code', {}, short(diff.base_sha)), ' → ', h('code', { id: 'tp-head-sha' }, short(diff.head_sha))]
    : []));
}

function drawReview() {
  const decisions = review?.decisions ?? [];
  const open = (review?.comments ?? []).filter(c => c.parent_id == null && !c.resolved_at).length;
  $('tp-review-count').textContent = review ? `${open} open` : '';
  $('tp-decisions').replaceChildren(...decisions.map(d => h('li', { class: `decision verdict-${d.verdict}`, dataset: { id: d.id } },
    h('span', { class: 'who' }, d.reviewer), ' ', h('span', { class: 'chip' }, d.verdict.replace('_', ' ')), ' ',
    h('span', { class: 'meta', title: d.submitted_at }, `${clock(d.submitted_at)} at ${short(d.head_sha)}`),
    d.body ? h('p', { class: 'body' }, d.body) : null)));
}

/** The threads of a file, by where they hang: "new:12", "old:7". */
function threadsOf(path) {
  const roots = (review?.comments ?? []).filter(c => c.parent_id == null && c.path === path);
  const byKey = new Map();
  for (const c of roots) {
    const key = `${c.side}:${c.line}`;
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
  }
  return byKey;
}

function thread(root) {
  const replies = review.comments.filter(c => c.parent_id === root.id);
  const lines = root.start_line !== root.line ? `lines ${root.start_line}–${root.line}` : `line ${root.line}`;
  const reply = h('form', { class: 'reply', autocomplete: 'off' },
    draftBox(`reply:${root.id}`, { name: 'text', rows: 1, maxlength: 8192, placeholder: 'Reply', 'aria-label': `Reply to comment ${root.id}` }),
    h('button', { type: 'submit', class: 'quiet' }, 'Reply'));
  reply.addEventListener('submit', async event => {
    event.preventDefault();
    const text = /** @type {HTMLTextAreaElement} */ (reply.querySelector('textarea')).value.trim();
    if (await act(reply.querySelector('button'), 'sending…', { method: 'POST', url: `/api/comments/${root.id}/replies`, body: { text } }, 'replied')) {
      drafts.delete(`reply:${root.id}`);
      loadReview();
    }
  });
  const resolve = root.resolved_at ? null : h('button', { type: 'button', class: 'quiet', onclick: async event => {
    if (await act(event.currentTarget, 'resolving…', { method: 'POST', url: `/api/comments/${root.id}/resolve`, body: {} }, 'resolved')) loadReview();
  } }, 'Resolve');
  return h('div', { class: `thread${root.resolved_at ? ' resolved' : ''}`, dataset: { comment: root.id } },
    h('p', { class: 'meta' }, h('span', { class: 'who' }, root.author), ` on ${lines}${root.side === 'old' ? ' (removed)' : ''} · `,
      h('span', { title: root.written_at }, relative(root.written_at)),
      root.touched ? h('span', { class: 'badge touched', title: 'a later commit changed these lines' }, 'changed since') : null,
      root.resolved_at ? h('span', { class: 'badge resolved' }, `resolved by ${root.resolved_by}${root.resolved_commit ? ` in ${short(root.resolved_commit)}` : ''}`) : null),
    h('p', { class: 'body' }, root.text),
    h('ol', { class: 'replies' }, replies.map(r => h('li', { dataset: { comment: r.id } },
      h('span', { class: 'who' }, r.author), ' ', h('span', { class: 'meta', title: r.written_at }, relative(r.written_at)), h('p', { class: 'body' }, r.text)))),
    h('div', { class: 'thread-actions' }, reply, resolve));
}

function composer(path, side, line) {
  const form = h('form', { class: 'compose', autocomplete: 'off' },
    h('label', { class: 'meta', for: 'tp-compose-text' }, `Comment on ${path} line ${line}${side === 'old' ? ' (removed)' : ''}`),
    draftBox(`compose:${path}:${side}:${line}`, { id: 'tp-compose-text', name: 'text', rows: 3, maxlength: 8192, required: true }),
    h('p', { class: 'error', id: 'tp-compose-error', role: 'alert', hidden: true }),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'approve' }, 'Comment'), ' ',
      h('button', { type: 'button', class: 'quiet', onclick: () => { composing = null; drawDiff(); } }, 'Cancel')));
  form.addEventListener('submit', async event => {
    event.preventDefault();
    const text = /** @type {HTMLTextAreaElement} */ ($('tp-compose-text')).value.trim();
    const done = await act(form.querySelector('button'), 'saving…', { method: 'POST', url: `/api/tickets/${id}/comments`, body: { path, side, line, text } },
      'comment saved: the owner has it', message => showError($('tp-compose-error'), message));
    if (done) { composing = null; drafts.delete(`compose:${path}:${side}:${line}`); loadReview(); }
  });
  if (document.activeElement?.id !== 'tp-compose-text') setTimeout(() => /** @type {HTMLTextAreaElement} */ ($('tp-compose-text'))?.focus());
  return form;
}

/** A line's number: a button that opens a comment there. */
function number(path, side, line) {
  if (line == null) return h('td', { class: 'no' });
  return h('td', { class: 'no' }, h('button', {
    type: 'button', class: 'line-no', title: `Comment on line ${line}`, dataset: { path, side, line },
    onclick: () => { composing = { path, side, line }; drawDiff(); },
  }, String(line)));
}

/** Under a row: the threads that hang on its lines, and the comment form when it is open there. */
function under(path, byKey, keys, used, columns) {
  const parts = [];
  for (const key of keys) {
    for (const root of byKey.get(key) ?? []) { parts.push(thread(root)); used.add(root.id); }
    if (composing && composing.path === path && `${composing.side}:${composing.line}` === key) parts.push(composer(path, composing.side, composing.line));
  }
  return parts.length ? h('tr', { class: 'threads' }, h('td', { colspan: columns }, parts)) : null;
}

/** The table's column widths (a fixed layout takes them from here, not from the hunk row that spans them all). */
function columns() {
  const kinds = wide.matches ? ['no', 'code', 'no', 'code'] : ['no', 'no', 'sign', 'code'];
  return h('colgroup', {}, kinds.map(kind => h('col', { class: kind })));
}

function fileTable(file, patchFile) {
  const byKey = threadsOf(file.path);
  const used = new Set();
  const body = [];
  for (const hunk of patchFile?.hunks ?? []) {
    body.push(h('tr', { class: 'hunk' }, h('td', { colspan: 4 }, hunk.header)));
    if (wide.matches) {
      for (const [left, right] of pairs(hunk.rows)) {
        body.push(h('tr', { class: 'pair' },
          number(file.old_path ?? file.path, 'old', left?.old), h('td', { class: `code ${left ? left.kind : 'none'}` }, left?.text ?? ''),
          number(file.path, 'new', right?.new), h('td', { class: `code ${right ? right.kind : 'none'}` }, right?.text ?? '')));
        const keys = [left && left.kind === 'removed' ? `old:${left.old}` : null, right ? `new:${right.new}` : null].filter(Boolean);
        body.push(under(file.path, byKey, keys, used, 4));
      }
    } else {
      for (const row of hunk.rows) {
        body.push(h('tr', { class: row.kind },
          number(file.old_path ?? file.path, 'old', row.kind === 'removed' ? row.old : null), number(file.path, 'new', row.new),
          h('td', { class: 'sign' }, row.kind === 'added' ? '+' : row.kind === 'removed' ? '−' : ''), h('td', { class: `code ${row.kind}` }, row.text)));
        body.push(under(file.path, byKey, [row.kind === 'removed' ? `old:${row.old}` : `new:${row.new}`], used, 4));
      }
    }
  }
  const elsewhere = [...byKey.values()].flat().filter(c => !used.has(c.id));
  return h('section', { class: 'file', id: `file-${encodeURIComponent(file.path)}`, dataset: { path: file.path } },
    h('h3', {}, h('span', { class: `chip status-${file.status}` }, file.status), ' ', file.old_path ? `${file.old_path} → ${file.path}` : file.path, ' ',
      h('span', { class: 'added' }, file.added == null ? 'binary' : `+${file.added}`), ' ', h('span', { class: 'removed' }, file.removed == null ? '' : `−${file.removed}`)),
    elsewhere.length ? h('div', { class: 'outdated' }, h('p', { class: 'meta' }, 'On lines no longer in the diff:'), elsewhere.map(thread)) : null,
    body.length ? h('div', { class: 'diff-scroll' }, h('table', { class: `diff ${wide.matches ? 'split' : 'unified'}` }, columns(), h('tbody', {}, body.filter(Boolean))))
      : h('p', { class: 'empty' }, file.added == null ? 'A binary file.' : 'No lines to show (a rename, or a mode change).'));
}

function drawDiff() {
  $('tp-view').textContent = wide.matches ? 'side by side' : 'unified';
  if (!diff) return;
  $('tp-file-count').textContent = String(diff.files.length);
  $('tp-files').replaceChildren(...diff.files.map(f => h('li', {},
    h('a', { href: `#file-${encodeURIComponent(f.path)}` }, f.path), ' ',
    h('span', { class: 'added' }, f.added == null ? 'binary' : `+${f.added}`), ' ', h('span', { class: 'removed' }, f.removed == null ? '' : `−${f.removed}`))));
  $('tp-truncated').hidden = !diff.truncated;
  $('tp-diff-empty').hidden = diff.files.length > 0;
  const patchFiles = parsePatch(diff.patch);
  $('tp-diff').replaceChildren(...diff.files.map((f, i) => fileTable(f, patchFiles[i])));
}

async function get(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(problemText(await jsonBody(response), response.status));
  return response.json();
}

async function loadReview() {
  try {
    review = await get(`/api/tickets/${id}/review`);
    drawHead();
    drawReview();
    drawDiff();
  } catch (error) {
    showError($('tp-diff-error'), error.message ?? unanswered(error));
  }
}

async function loadAll() {
  try {
    ticket = (await get(`/api/tickets/${id}`)).ticket;
    showError($('tp-missing'), null);
  } catch (error) {
    showError($('tp-missing'), error.message ?? unanswered(error));
    return;
  }
  drawHead();
  try {
    [diff, review] = await Promise.all([get(`/api/tickets/${id}/diff`), get(`/api/tickets/${id}/review`)]);
    showError($('tp-diff-error'), null);
  } catch (error) {
    showError($('tp-diff-error'), error.message ?? unanswered(error));
  }
  drawHead();
  drawReview();
  drawDiff();
}

$('tp-review-form').addEventListener('submit', async event => {
  event.preventDefault();
  const button = /** @type {HTMLButtonElement} */ (/** @type {SubmitEvent} */ (event).submitter);
  const body = /** @type {HTMLTextAreaElement} */ ($('tp-review-body'));
  showError($('tp-review-error'), null);
  const done = await act(button, 'submitting…', { method: 'POST', url: `/api/tickets/${id}/reviews`, body: { verdict: button.value, body: body.value.trim() || null } },
    `${button.textContent}: submitted`, message => showError($('tp-review-error'), message));
  if (done) { body.value = ''; loadAll(); }
});

wide.addEventListener('change', drawDiff);

const connection = $('connection');
const { start } = follow({
  listen: { review_changed: data => { if (data.ticket_id === id) loadReview(); } },
  loaded: loadAll,
  changed: () => {},
  heard: (type, data) => { if (type === 'ticket_changed' && data.ticket?.id === id) loadAll(); },
  connection: state => {
    connection.dataset.state = state;
    connection.textContent = state === 'live' ? '● live' : state === 'reconnecting' ? '○ reconnecting…' : state === 'signed-out' ? '○ signed out' : state;
  },
});
onSignedOutElsewhere(() => { if (connection.dataset.state !== 'signed-out') start(); });
await start();

// @ts-check
import { h, renderList, relative, bytes } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';
import { rowErrors } from './problems.js';

const $ = id => document.getElementById(id);
const path = name => encodeURIComponent(name);

/** What "Delete files" refused, kept beside its row until the next try (or ×). */
const errors = rowErrors(() => tombstones());

// Destroyed agents: newest first, with their size on disk and where each stands with retention; "Delete files" deletes
// the state dir. Above them, their total size and the next purge (or "retention off"). Empty, the section is its
// heading and count.
export function tombstones() {
  const list = [...store.tombstones].sort((a, b) => b.destroyed_at.localeCompare(a.destroyed_at) || (a.name < b.name ? -1 : 1));
  const retention = store.tombstoneRetention;
  errors.prune(name => list.some(t => t.name === name));
  $('tombstones-count').textContent = `(${list.length})`;
  $('tombstones-note').hidden = list.length === 0;
  $('tombstones-note').textContent = retention?.retain_days
    ? `Their files are deleted ${retention.retain_days} day${retention.retain_days === 1 ? '' : 's'} after the destroy, unless they hold git work not pushed anywhere.`
    : 'Their files are kept until you delete them.';
  const summary = $('tombstones-summary');
  summary.hidden = list.length === 0;
  const total = retention?.total_bytes ?? list.reduce((sum, t) => sum + (t.bytes ?? 0), 0);
  summary.replaceChildren(
    h('span', { class: 'total', title: `${total} bytes` }, `${bytes(total)} in all`), ' · ',
    !retention?.retain_days ? h('span', { class: 'next-purge' }, 'retention off')
      : retention.next_sweep_at ? h('span', { class: 'next-purge', title: retention.next_sweep_at }, `next purge ${relative(retention.next_sweep_at)}`)
      : h('span', { class: 'next-purge' }, 'next purge soon'));
  $('tombstones-panel').classList.toggle('is-empty', list.length === 0);
  renderList($('tombstones'), list, t => t.name, tombstoneRow, (_, t) => tombstoneRow(t));
}

function tombstoneRow(t) {
  const purge = h('button', { type: 'button', class: 'danger purge' }, 'Delete files');
  purge.addEventListener('click', () => {
    if (!confirm(`Delete ${t.name}'s files? Its state dir (${bytes(t.bytes)}) is deleted from disk.`)) return;
    errors.set(t.name, null);
    act(purge, 'deleting…', { method: 'DELETE', url: `/api/tombstones/${path(t.name)}` }, `${t.name}'s files deleted`,
      message => errors.set(t.name, `delete files: ${message}`));
  });
  return h('li', { class: 'tombstone', dataset: { tombstone: t.name } },
    h('div', {},
      h('span', { class: 'who' }, t.name), ' ',
      h('span', { class: 'meta' },
        h('span', { class: 'size', title: `${t.bytes} bytes` }, bytes(t.bytes)), ' · destroyed ',
        h('span', { class: 'destroyed', title: t.destroyed_at }, relative(t.destroyed_at)), retentionOf(t))),
    errors.line(t.name),
    h('div', { class: 'actions' }, purge));
}

/** " · kept: unpushed work in …", " · purge due", " · purged in 3d"; nothing with retention off. */
function retentionOf(t) {
  const r = t.retention;
  if (!r || r.state === 'off') return '';
  const [text, title] = r.state === 'kept' ? [`kept: ${r.reason}`, `checked ${r.checked_at ?? ''}`]
    : r.state === 'due' ? ['purge due', `due since ${r.due_at}`]
    : [`purged ${relative(r.due_at)}`, `due at ${r.due_at}`];
  return h('span', {}, ' · ', h('span', { class: `retention ${r.state}`, title }, text));
}

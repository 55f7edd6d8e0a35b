import { h, renderList, relative } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';
import { rowErrors } from './problems.js';

const $ = id => document.getElementById(id);
const path = name => encodeURIComponent(name);

/** What "Delete files" refused, kept beside its row until the next try (or ×). */
const errors = rowErrors(() => tombstones());

// Destroyed agents: newest first, with their size on disk; "Delete files" deletes the state dir. Empty, the section is
// its heading and count.
export function tombstones() {
  const list = [...store.tombstones].sort((a, b) => b.destroyed_at.localeCompare(a.destroyed_at) || (a.name < b.name ? -1 : 1));
  errors.prune(name => list.some(t => t.name === name));
  $('tombstones-count').textContent = `(${list.length})`;
  $('tombstones-note').hidden = list.length === 0;
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
        h('span', { class: 'destroyed', title: t.destroyed_at }, relative(t.destroyed_at)))),
    errors.line(t.name),
    h('div', { class: 'actions' }, purge));
}

/** 0 B, 812 B, 4.0 KiB, 12 KiB, 3.4 MiB ... */
export function bytes(n) {
  if (!(n >= 0)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

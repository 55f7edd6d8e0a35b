// @ts-check
import { h, renderList, relative } from './dom.js';
import { store } from './store.js';

const $ = id => document.getElementById(id);

// The hives this one has heard from (itself first), each with a link to its dashboard, its agents by state, its outbox
// and inbox lag, and "unreachable" once it missed 3 heartbeats; above them, this hive's outbox (and its alert), its links
// to the broker, and its dead letters. Hidden for a hive alone.
export function constellation() {
  const c = store.constellation;
  $('constellation-panel').hidden = !c?.enabled;
  if (!c?.enabled) return;
  const hives = [...c.hives].sort((a, b) => (b.own - a.own) || (a.name < b.name ? -1 : 1));
  const unreachable = hives.filter(x => !x.reachable).length;
  $('constellation-count').textContent = `(${hives.length}${unreachable ? `, ${unreachable} unreachable` : ''})`;
  const s = c.status;
  const alert = $('constellation-alert');
  alert.hidden = !s?.outbox_alert;
  alert.textContent = 'outbox backed up';
  $('constellation-status').replaceChildren(...statusLine(c.name, s));
  renderList($('constellation-hives'), hives, x => x.name, hiveRow, (_, x) => hiveRow(x));
  const dead = c.dead_letters ?? [];
  $('constellation-dead').hidden = (s?.dead_letters ?? dead.length) === 0;
  $('constellation-dead-count').textContent = `(${s?.dead_letters ?? dead.length})`;
  renderList($('constellation-dead-letters'), dead, d => d.id, deadRow);
}

function statusLine(name, s) {
  if (!s) return [`This hive is ${name}.`];
  const down = Object.entries(s.links ?? {}).filter(([, since]) => since);
  return [
    h('span', { class: 'who' }, name), ' · ',
    h('span', { class: `outbox${s.outbox_alert ? ' failed' : ''}`, title: s.oldest_unsent_at ? `oldest unsent since ${s.oldest_unsent_at}` : '' },
      `outbox ${s.outbox_depth}`), ' · ',
    `inbox lag ${s.inbox_lag ?? '?'}`, ' · ',
    down.length === 0 ? h('span', { class: 'broker ok' }, 'broker connected')
      : h('span', { class: 'broker failed', title: down.map(([purpose, since]) => `${purpose} down since ${since}`).join('\n') },
        `broker unreachable (${down.map(([purpose]) => purpose).join(', ')})`),
  ];
}

function hiveRow(x) {
  const name = x.public_url ? h('a', { href: x.public_url, target: '_blank', rel: 'noopener noreferrer', class: 'who' }, x.name) : h('span', { class: 'who' }, x.name);
  const states = Object.entries(x.states ?? {}).map(([state, n]) => `${n} ${state}`).join(', ');
  return h('li', { class: `hive${x.reachable ? '' : ' unreachable'}`, dataset: { hive: x.name } },
    h('div', {}, name, x.own ? ' (this hive)' : '', ' ',
      h('span', { class: 'meta' },
        h('span', { class: `reach ${x.reachable ? 'ok' : 'failed'}` }, x.reachable ? 'reachable' : 'unreachable'), ' · ',
        `${x.agents} agent${x.agents === 1 ? '' : 's'}${states ? ` (${states})` : ''}`, ' · ',
        `outbox ${x.outbox_depth} · inbox lag ${x.inbox_lag ?? '?'}`, ' · heard ',
        h('span', { class: 'ago', title: x.last_heard_at }, relative(x.last_heard_at)))));
}

function deadRow(d) {
  return h('li', { class: 'dead-letter' },
    h('span', { class: 'meta' }, h('span', { class: 'ago', title: d.received_at }, relative(d.received_at)), ' · ',
      `${d.global_id ?? '(no id)'} from user ${d.user_id ?? '?'}: `), d.reason);
}

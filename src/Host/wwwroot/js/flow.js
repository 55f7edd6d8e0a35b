// @ts-check
import { h, renderList } from './dom.js';
import { store } from './store.js';
import { folded, messageRow, updateMessage, isSystemNotice, PseudoSenders } from './messages.js';

const $ = id => document.getElementById(id);

// Message flow: every message, live; older pages on demand. A filter (kept in this browser's localStorage, so a reload
// keeps it) shows one agent's messages (from it, to it, or a broadcast that reached it) and can hide system notices.

const FilterKey = 'hive.flow-filter';
const flowFilter = readFlowFilter();

function readFlowFilter() {
  try {
    const saved = JSON.parse(localStorage.getItem(FilterKey) ?? 'null');
    return { agent: typeof saved?.agent === 'string' ? saved.agent : '', hideSystem: saved?.hideSystem === true };
  } catch {
    return { agent: '', hideSystem: false };
  }
}

function shown(entry) {
  if (flowFilter.hideSystem && isSystemNotice(entry)) return false;
  const agent = flowFilter.agent;
  return !agent || entry.from === agent || entry.to === agent || (entry.broadcast?.some(x => x.to === agent) ?? false);
}

export function wireFlowFilter() {
  const select = /** @type {HTMLSelectElement} */ ($('flow-agent'));
  const hide = /** @type {HTMLInputElement} */ ($('flow-hide-system'));
  hide.checked = flowFilter.hideSystem;
  flowAgents();
  const changed = () => {
    flowFilter.agent = select.value;
    flowFilter.hideSystem = hide.checked;
    try { localStorage.setItem(FilterKey, JSON.stringify(flowFilter)); } catch { /* private mode: the filter lasts this page */ }
    flow();
  };
  select.addEventListener('change', changed);
  hide.addEventListener('change', changed);
}

/** The filter's agents: every listed agent, everyone the loaded messages name (a destroyed agent's too), and you. */
export function flowAgents() {
  const select = /** @type {HTMLSelectElement} */ ($('flow-agent'));
  const names = new Set([...store.agents.keys(), 'operator']);
  for (const m of store.messages) for (const name of [m.from, m.to]) if (name && name !== '*' && !PseudoSenders.has(name)) names.add(name);
  if (flowFilter.agent) names.add(flowFilter.agent);
  const sorted = [...names].sort();
  const key = sorted.join(' ');
  if (select.dataset.names === key) return;
  select.dataset.names = key;
  select.replaceChildren(h('option', { value: '' }, 'everyone'),
    ...sorted.map(name => h('option', { value: name }, name === 'operator' ? 'operator (you)' : name)));
  select.value = flowFilter.agent;
}

export function flow() {
  const all = folded(store.messages);
  const visible = all.filter(shown);
  renderList($('flow'), visible, m => m.id, m => messageRow(m, true), (node, m) => updateMessage(node, m, true));
  flowAgents();
  const filtering = flowFilter.agent !== '' || flowFilter.hideSystem;
  $('flow-count').textContent = filtering ? `(${visible.length} of ${all.length} shown)` : `(${all.length})`;
  const empty = $('flow-empty');
  empty.hidden = visible.length > 0;
  empty.textContent = all.length === 0 ? 'No messages yet.' : 'No loaded message matches the filter.';
  $('load-older').hidden = store.historyExhausted;
  // The history's reach: delivered messages older than the retention are removed by the host.
  const reach = $('history-reach');
  reach.hidden = !store.historyExhausted || store.retainDays == null;
  reach.textContent = store.retainDays == null ? '' : `The history keeps delivered messages for ${store.retainDays} days.`;
}

export async function loadOlder(button) {
  const oldest = store.messages.at(-1)?.id;
  if (oldest === undefined) { store.historyExhausted = true; flow(); return; }
  button.disabled = true;
  try {
    const response = await fetch(`/api/messages?before=${oldest}&limit=50`);
    const page = await response.json();
    for (const m of page) if (!store.messages.some(x => x.id === m.id)) store.messages.push(m);
    if (page.length < 50) store.historyExhausted = true;
    flow();
  } finally {
    button.disabled = false;
  }
}

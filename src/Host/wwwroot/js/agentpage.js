// @ts-check
import { h, renderList, relative } from './dom.js';
import { store } from './store.js';
import { follow } from './live.js';
import { onSignedOutElsewhere } from './signin.js';
import { jsonBody, problemText, unanswered, showError } from './problems.js';
import { transcript } from './transcript.js';
import { act } from './actions.js';
import { searchBox } from './search.js';
import { modelCalls } from './calls.js';
import { failingText } from './gateway.js';
import { diff } from './approvals.js';
import { networkChip } from './network.js';
import { egressAttempts } from './nettab.js';
import { turnPanel, replayBeside } from './turnpage.js';

// /agents/{name}: one agent's own page. Its badges (state, held or paused, the model, context and cost of its last turn
// with how that cost is known, cost today, its caps and usage), its transcript live, its stats over 1 h, 24 h, 7 d and
// 30 d (inline SVG, no library), its model calls (calls.js), its network and egress attempts (nettab.js), its open
// threads and messages (from the same snapshot and stream as the dashboard: live.js, store.js), and its log's tail.
// Everything an agent wrote is put in as text, never as HTML.

const $ = id => document.getElementById(id);
const name = decodeURIComponent(location.pathname.replace(/^\/agents\//, '').replace(/\/.*$/, ''));
const api = `/api/agents/${encodeURIComponent(name)}`;
const Windows = ['1h', '24h', '7d', '30d'];
let windowShown = '24h';
let lastTurn = null;
let stats = null;
let ownTurn = false; // the event being applied is about this agent
const turns = turnPanel(name);
const beside = replayBeside(name);
const calls = modelCalls(name, id => turns.show(id));
const net = egressAttempts(name);

document.title = `${name} · Hive`;
$('ap-name').textContent = name;
$('ap-search').append(searchBox({ agent: name, label: `Search ${name}'s messages, questions, answers and transcript` }));
$('ap-links').append(
  h('a', { href: `/agents/${encodeURIComponent(name)}/terminal`, class: 'button quiet', id: 'ap-terminal-link' }, 'Open a terminal'),
  ' ', h('a', { href: '/', class: 'button quiet' }, 'All agents'));

const usd = v => (v == null ? '–' : `$${Number(v).toFixed(v < 1 ? 4 : 2)}`);
const count = v => (v >= 1_000_000 ? `${(v / 1_000_000).toFixed(1)}M` : v >= 10_000 ? `${Math.round(v / 1000)}k` : String(v ?? 0));

function badges(a) {
  const list = [h('span', { class: `badge state state-${a.state ?? 'unknown'}`, dataset: { badge: 'state' } }, a.state ?? 'not run by Hive')];
  if (a.model_calls_failing) list.push(h('span', { class: 'badge model-calls-failing', role: 'status', dataset: { badge: 'failing' }, title: a.model_calls_failing.since }, failingText(a.model_calls_failing)));
  if (a.paused) list.push(h('span', { class: 'badge waiting', dataset: { badge: 'paused' } }, 'paused'));
  else if (a.held) list.push(h('span', { class: 'badge waiting', dataset: { badge: 'held' } }, `held: ${a.held.reason}`));
  if (lastTurn?.model) list.push(h('span', { class: 'badge', dataset: { badge: 'model' } }, lastTurn.model));
  if (lastTurn) {
    const context = (lastTurn.input_tokens ?? 0) + (lastTurn.cache_read_tokens ?? 0) + (lastTurn.cache_creation_tokens ?? 0);
    list.push(h('span', { class: 'badge', dataset: { badge: 'context' }, title: 'context tokens of its last turn' }, `context ${count(context)}`));
  }
  const turnCost = lastTurn && lastTurnCost(lastTurn);
  if (turnCost) list.push(h('span', { class: 'badge', dataset: { badge: 'turn-cost', source: lastTurn.cost_source ?? '' }, title: turnCost.title }, turnCost.text));
  list.push(h('span', { class: 'badge', dataset: { badge: 'cost' }, title: 'spent today (UTC)' }, `today ${usd(a.spend_today_usd)}`));
  if (a.limits === 'off') list.push(h('span', { class: 'badge', dataset: { badge: 'limits' } }, 'limits off'));
  else if (a.limits) {
    const u = a.usage;
    list.push(h('span', { class: 'badge', dataset: { badge: 'limits' }, title: 'usage of its caps' },
      `mem ${u ? Math.round(u.memory_mib) : '–'}/${a.limits.memory_mib ?? '–'} MiB · cpu ${u ? Math.round(u.cpu_percent) : '–'}/${a.limits.cpu_percent ?? '–'} % · pids ${u?.pids ?? '–'}/${a.limits.pids ?? '–'}`));
  }
  return list;
}

/**
 * What its last turn cost and how the hive knows: "last turn $0.0500 (metered; it reported $0.0000)". Metered is the sum of
 * its calls through the gateway (what it reported is kept beside it for comparison only); reported is its own word (a
 * turn whose calls bypass the gateway); priced is its tokens at the configured price.
 */
function lastTurnCost(t) {
  const said = t.reported_cost_usd;
  switch (t.cost_source) {
    case 'metered':
      return { text: `last turn ${usd(t.cost_usd)} (metered${said != null ? `; it reported ${usd(said)}` : ''})`,
        title: 'the sum of its model calls through the hive\'s gateway; what the agent reported is kept for comparison only' };
    case 'reported':
      return { text: `last turn ${usd(t.cost_usd)} (reported${said != null && said !== t.cost_usd ? `; it said ${usd(said)}, charged at the per-turn bound` : ''})`,
        title: 'its own word: its model calls did not go through the hive\'s gateway' };
    case 'priced':
      return { text: `last turn ${usd(t.cost_usd)} (priced from its tokens)`, title: 'its tokens at the configured price of its model' };
    case 'unknown':
      return { text: 'last turn cost unknown', title: 'not metered, not reported, and no price is configured for its model' };
    default:
      return t.cost_usd != null ? { text: `last turn ${usd(t.cost_usd)}`, title: 'as recorded' } : null;
  }
}

function drawHead() {
  const a = store.agents.get(name);
  $('ap-missing').hidden = !!a;
  $('ap-missing').textContent = a ? '' : `No agent named ${name} in this hive (destroyed, or never made).`;
  if (!a) return;
  $('ap-badges').replaceChildren(...badges(a));
  $('ap-purpose').textContent = a.purpose ?? '';
  drawLineage(a);
  beside.row(a);
  drawNetwork(a);
  net.draw(a);
  drawRecording(a);
}

// What it was made from: a replay of another agent's turn, or a fork of another agent's conversation at a turn.
function drawLineage(a) {
  const of = a.replay_of ?? a.fork_of;
  $('ap-lineage').hidden = !of;
  if (!of) return;
  const link = h('a', { href: `/agents/${encodeURIComponent(of.agent)}?turn=${of.turn}`, class: 'lineage-link' }, `${of.agent}'s turn #${of.turn}`);
  $('ap-lineage').replaceChildren(a.replay_of ? 'A replay of ' : 'A fork of ', link);
}

// Its network and egress rules (its row); the rules are edited as a configuration change: the whole configuration with
// the new list, reviewed as its diff (PUT …/config?dry_run=true) and applied without a restart.
function drawNetwork(a) {
  const managed = a.driver && a.driver !== 'external';
  $('ap-network').hidden = !managed;
  if (!managed) return;
  $('ap-network-mode').replaceChildren(networkChip(a));
  const rules = a.egress ?? [];
  $('ap-egress').textContent = rules.length ? `egress: ${rules.join(', ')}${a.egress_ask ? ' (asks about the rest)' : ''}`
    : `egress: none${a.egress_ask ? ' (asks about each place)' : ''}`;
  if (!/** @type {HTMLDetailsElement} */ ($('ap-egress-edit')).open)
    /** @type {HTMLTextAreaElement} */ ($('ap-egress-rules')).value = rules.join('\n');
}

let egressReviewed = null;
const egressProblem = text => { $('ap-egress-error').hidden = !text; $('ap-egress-error').textContent = text ?? ''; };
const egressInvalidate = () => {
  egressReviewed = null;
  /** @type {HTMLButtonElement} */ ($('ap-egress-apply')).disabled = true;
  $('ap-egress-diff').hidden = true;
};
$('ap-egress-rules').addEventListener('input', egressInvalidate);
async function putEgress(dryRun, body) {
  const response = await fetch(`${api}/config${dryRun ? '?dry_run=true' : ''}`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { response, json: await jsonBody(response) };
}
$('ap-egress-form').addEventListener('submit', async event => {
  event.preventDefault();
  egressProblem(null);
  egressInvalidate();
  try {
    const loaded = await fetch(`${api}/config`);
    const current = await jsonBody(loaded);
    if (!loaded.ok || current?.config == null) { egressProblem(problemText(current, loaded.status)); return; }
    const egress = /** @type {HTMLTextAreaElement} */ ($('ap-egress-rules')).value.split('\n').map(r => r.trim()).filter(r => r.length > 0);
    const body = { ...current.config, egress: egress.length === 0 && current.config.egress == null ? null : egress };
    const { response, json } = await putEgress(true, body);
    if (!response.ok) { egressProblem(problemText(json, response.status)); return; }
    $('ap-egress-diff').replaceChildren(diff(json?.diff ?? ''));
    $('ap-egress-diff').hidden = false;
    if (json?.changed) { egressReviewed = body; /** @type {HTMLButtonElement} */ ($('ap-egress-apply')).disabled = false; }
  } catch (e) {
    egressProblem(unanswered(e));
  }
});
$('ap-egress-apply').addEventListener('click', async event => {
  if (!egressReviewed) return;
  const body = egressReviewed;
  /** @type {HTMLButtonElement} */ (event.currentTarget).disabled = true;
  try {
    const { response, json } = await putEgress(false, body);
    if (!response.ok) { egressProblem(problemText(json, response.status)); return; }
    egressInvalidate();
    /** @type {HTMLDetailsElement} */ ($('ap-egress-edit')).open = false;
  } catch (e) {
    egressProblem(unanswered(e));
  }
});

// The operator's switch for recording the bodies of its model calls (its row's calls_recorded; call_recording_changed).
function drawRecording(a) {
  const recorded = a.calls_recorded !== false;
  $('ap-calls-recording').dataset.recorded = String(recorded);
  $('ap-calls-recording-said').textContent = recorded
    ? 'The request and response of each call are recorded.'
    : 'Bodies are not recorded: its calls are metered and listed without them.';
  $('ap-calls-recording-toggle').textContent = recorded ? 'Stop recording bodies' : 'Record bodies';
}

$('ap-calls-recording-toggle').addEventListener('click', async event => {
  const on = store.agents.get(name)?.calls_recorded === false;
  await act(event.currentTarget, 'saving…', { method: 'PUT', url: `${api}/calls/recording`, body: { on } },
    on ? `${name}'s calls are recorded again` : `${name}'s calls are no longer recorded`);
  drawHead();
});

function drawOpen() {
  const questions = store.questions.pending.filter(q => q.asker === name || q.target === name);
  const reminders = [...store.reminders.values()].filter(r => r.agent === name).sort((x, y) => (x.due_at < y.due_at ? -1 : 1));
  const items = [...questions.map(q => ({ key: `q${q.id}`, q })), ...reminders.map(r => ({ key: `r${r.id}`, r }))];
  $('ap-open-count').textContent = `(${items.length})`;
  $('ap-open-empty').hidden = items.length > 0;
  renderList($('ap-open'), items, i => i.key, i => i.q
    ? h('li', { class: 'open-question', dataset: { id: i.q.id } }, h('span', { class: 'meta' }, i.q.asker === name ? `asks ${i.q.target ?? 'the operator'}: ` : `asked by ${i.q.asker}: `), i.q.question)
    : h('li', { class: 'open-reminder', dataset: { id: i.r.id } }, h('span', { class: 'meta' }, 'reminder due '), h('span', { class: 'ago', title: i.r.due_at }, relative(i.r.due_at)), ': ', i.r.body));
}

function drawMessages() {
  const mine = store.messages.filter(m => m.from === name || m.to === name).slice(0, 30);
  $('ap-inbox-count').textContent = `(${mine.length})`;
  $('ap-inbox-empty').hidden = mine.length > 0;
  renderList($('ap-inbox'), mine, m => m.id, m => h('li', { class: 'message', dataset: { id: m.id } },
    h('div', { class: 'meta' }, `${m.from} → ${m.to} · `, h('span', { class: 'ago', title: m.sent_at }, relative(m.sent_at)), m.delivered_at ? '' : ' · not yet taken'),
    h('div', { class: 'body' }, m.body)));
}

function drawStats() {
  $('ap-windows').replaceChildren(...Windows.map(w => {
    const button = h('button', { type: 'button', class: 'quiet', role: 'tab', 'aria-selected': String(w === windowShown), dataset: { window: w } }, w);
    button.addEventListener('click', () => { windowShown = w; drawStats(); });
    return button;
  }));
  const window = stats?.find(s => s.window === windowShown);
  if (!window) return;
  const chart = (label, pick, show) => {
    const values = window.buckets.map(b => pick(b) ?? 0);
    const max = Math.max(...values, 0) || 1;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${values.length} 10`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `${label} per ${window.bucket_seconds / 60} minutes`);
    values.forEach((v, i) => {
      const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      const height = (v / max) * 10;
      rect.setAttribute('x', String(i + 0.1));
      rect.setAttribute('width', '0.8');
      rect.setAttribute('y', String(10 - height));
      rect.setAttribute('height', String(height));
      svg.append(rect);
    });
    return h('div', { class: 'chart', dataset: { metric: label } }, h('div', { class: 'meta' }, label), h('div', { class: 'total' }, show(pick(window.total))), svg);
  };
  $('ap-stats').replaceChildren(
    chart('turns', b => b.turns, String), chart('tokens', b => b.tokens, count),
    chart('cost', b => b.cost_usd, usd), chart('tool calls', b => b.tool_calls, String));
}

// Loads asked for while one runs make one more load after it (that one may have read before what the caller saw).
let loadingStats = null;
let statsAgain = false;
async function loadStats() {
  if (loadingStats) { statsAgain = true; return loadingStats; }
  loadingStats = (async () => {
    do {
      statsAgain = false;
      await loadStatsOnce();
    } while (statsAgain);
    loadingStats = null;
  })();
  return loadingStats;
}

async function loadStatsOnce() {
  try {
    // The row again too, for its spend alone (no event carries it): the rest of the row is kept live by events, and
    // this answer may be older than the last of them (a failing streak that began while it was on its way).
    const [statsResponse, turnsResponse, rowResponse] = await Promise.all([fetch(`${api}/stats`), fetch(`${api}/turns?limit=1`), fetch(api)]);
    if (rowResponse.ok) {
      const row = await jsonBody(rowResponse);
      const known = store.agents.get(name);
      if (known) Object.assign(known, { spend_today_usd: row.spend_today_usd, spend_month_usd: row.spend_month_usd });
      else store.agents.set(name, row);
    }
    const body = await jsonBody(statsResponse);
    if (!statsResponse.ok) { showError($('ap-stats-error'), `could not load the stats: ${problemText(body, statsResponse.status)}`); return; }
    stats = body;
    lastTurn = turnsResponse.ok ? ((await jsonBody(turnsResponse)) ?? [])[0] ?? null : null;
    showError($('ap-stats-error'), null);
    drawStats();
    drawHead();
  } catch (error) {
    showError($('ap-stats-error'), unanswered(error));
  }
}

async function loadLog() {
  try {
    const response = await fetch(`${api}/logs?tail=200`);
    if (!response.ok) { showError($('ap-log-error'), `could not load its log: ${problemText(await jsonBody(response), response.status)}`); return; }
    $('ap-log').textContent = await response.text();
    showError($('ap-log-error'), null);
  } catch (error) {
    showError($('ap-log-error'), unanswered(error));
  }
}
$('ap-log-refresh').addEventListener('click', loadLog);

// Slash commands for a harness agent: each applies to its next turn (the harness reads them as the turn starts).
let conversationAt = -Infinity;

function drawConversation(c) {
  // A fetch begun before a change can answer after the change's event: an older view never replaces a newer one.
  const at = c.updated_at ? Date.parse(c.updated_at) : -Infinity;
  if (at < conversationAt) return;
  conversationAt = at;
  $('ap-conversation').textContent = c.session_id
    ? `conversation ${c.session_id.slice(0, 8)}…${c.model ? ` · model ${c.model}` : ''}${c.clear_next ? ' · fresh next turn' : c.compact_next ? ' · compacts next turn' : ''}`
    : `no conversation yet${c.model ? ` · model ${c.model}` : ''}${c.clear_next ? ' · fresh next turn' : ''}`;
}

async function loadConversation() {
  try {
    const response = await fetch(`${api}/conversation`);
    if (response.ok) drawConversation(await jsonBody(response));
  } catch { /* the badge stays as it was; the slash form still works */ }
}

$('ap-slash').addEventListener('submit', async event => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('ap-slash-command'));
  const button = event.submitter ?? $('ap-slash').querySelector('button');
  showError($('ap-slash-error'), null);
  const done = await act(button, 'sending…', { method: 'POST', url: `${api}/slash`, body: { command: input.value.trim() } },
    `${input.value.trim()} applies to ${name}'s next turn`, message => showError($('ap-slash-error'), message));
  if (done) { input.value = ''; loadConversation(); }
});

function drawAll() {
  drawHead();
  drawOpen();
  drawMessages();
  drawStats();
}

const connection = $('connection');
const { start } = follow({
  agent: name,
  listen: {
    transcript: data => transcript.heard(data),
    conversation_changed: data => { if (data.agent === name) drawConversation(data); },
    egress_refused: data => net.refused(data),
    replay_changed: data => { turns.replayChanged(data.replay); beside.replayChanged(data.replay); },
  },
  loaded: () => { drawAll(); loadStats(); loadLog(); transcript.start(name); loadConversation(); calls.reload(); net.reload(); turns.show(calls.turnShown()); },
  changed: sections => {
    if (sections.has('swarm') || sections.has('governance-usage')) drawHead();
    if (sections.has('questions') || sections.has('reminders') || sections.has('waiting')) drawOpen();
    if (sections.has('flow')) drawMessages();
    // One of its own turns was granted, recorded or ended: new figures (another agent's turn changes nothing here).
    if (ownTurn && sections.has('governance-refresh')) loadStats();
    if (ownTurn && sections.has('model-calls')) { calls.reload(); beside.reload(); }
    ownTurn = false;
  },
  heard: (type, data) => { ownTurn = (data.agent ?? data.turn?.agent) === name; },
  connection: state => {
    connection.dataset.state = state;
    connection.textContent = state === 'live' ? '● live' : state === 'reconnecting' ? '○ reconnecting…' : state === 'signed-out' ? '○ signed out' : state;
  },
});
onSignedOutElsewhere(() => { if (connection.dataset.state !== 'signed-out') start(); });
setInterval(() => {
  for (const node of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.agent .ago'))) node.textContent = relative(node.title);
}, 5_000);
await start();

// @ts-check
import { h, append, renderList, relative } from './dom.js';
import { store } from './store.js';
import { act, toast } from './actions.js';
import { jsonBody, problemText, unanswered, showProblem, rowErrors } from './problems.js';
import { diff } from './approvals.js';
import { searchBox } from './search.js';
import { rowFacts, pauseAction, usageMeter, usd } from './governance.js';
import { agentTree } from './tree.js';
import { failingChip, providerChip } from './gateway.js';
import { networkChip } from './network.js';
import { parseCommand, formatCommand, parseEnv, parseSecrets, parseMounts, parseNames, formatPairs, secretPicks } from './agentform.js';

// Agents: agents with their container's state and lifecycle buttons, their logs, their configuration (edited with the
// approvals' diff view) and the new-agent form. Rows change only when events arrive; a button only asks. The state dirs
// destroyed agents left behind are in tombstones.js. The rows are a tree by their parents (tree.js), kept as one flat
// list indented by depth, so every agent's row is `#agents > li[data-agent=NAME]` at any depth: a parent's toggle hides
// its subtree's rows, and its row carries its subtree's spend and actions.

const $ = id => document.getElementById(id);

/** What an action refused, kept beside its agent's row until the next action on it (or ×). */
const errors = rowErrors(() => swarm());

const SignalNames = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };
const Transients = { starting: 'starting…', stopping: 'stopping…', restarting: 'restarting…', rebuilding: 'rebuilding…', destroying: 'destroying…' };

const isManaged = a => (a.driver ?? 'external') !== 'external';
const path = name => encodeURIComponent(name);

/** The tree the rows were last drawn from (a toggle redraws only what it hides, from it). */
let drawn = agentTree([]);

export function swarm() {
  // The manager first, then the top level by name, each agent followed by its subtree (rows added live land in their place).
  const tree = agentTree(store.agents.values());
  drawn = tree;
  errors.prune(name => store.agents.has(name));
  collapsed.prune(name => !store.agents.has(name) || (tree.children.get(name) ?? []).length > 0);
  $('swarm-count').textContent = `(${tree.order.length})`;
  renderList($('agents'), tree.order, p => p.agent.name, p => agentRow(p, tree), (node, p) => updateAgentRow(node, p, tree));
  showTree(tree);
  // The send form lists them as /api/state orders them: the manager first, then by name.
  const names = [...store.agents.values()].sort((a, b) => (a.kind === 'manager' ? 0 : 1) - (b.kind === 'manager' ? 0 : 1)
    || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(a => a.name);
  const select = /** @type {HTMLSelectElement} */ ($('send-to'));
  const current = select.value;
  select.replaceChildren(...names.map(name => h('option', { value: name }, name)));
  if (names.includes(current)) select.value = current;
}

/**
 * The parents whose subtrees are folded away, kept in this browser (by agent name) so a reload folds them again. An
 * agent listed without children is forgotten (one not listed is kept: the page may not have loaded the swarm yet).
 */
const collapsed = (() => {
  const Key = 'hive.swarm-collapsed';
  let names;
  try { names = new Set(JSON.parse(localStorage.getItem(Key) ?? '[]')); } catch { names = new Set(); }
  const save = () => { try { localStorage.setItem(Key, JSON.stringify([...names])); } catch { /* private mode: it lasts this page */ } };
  return {
    has: name => names.has(name),
    toggle: name => { if (!names.delete(name)) names.add(name); save(); },
    prune: keep => {
      const before = names.size;
      for (const name of names) if (!keep(name)) names.delete(name);
      if (names.size !== before) save();
    },
  };
})();

/** Each row hidden while an agent above it is folded; each toggle saying which way it points. No row is rebuilt. */
function showTree(tree) {
  for (const node of /** @type {NodeListOf<HTMLElement>} */ ($('agents').querySelectorAll(':scope > li.agent'))) {
    const name = node.dataset.agent;
    let folded = false;
    for (let up = tree.parentOf.get(name); up && !folded; up = tree.parentOf.get(up)) folded = collapsed.has(up);
    node.hidden = folded;
    const toggle = node.querySelector(':scope > .agent-head .subtree-toggle');
    if (toggle) setToggle(/** @type {HTMLButtonElement} */ (toggle), name, tree.descendants(name).length);
  }
}

function setToggle(button, name, under) {
  const open = !collapsed.has(name);
  button.setAttribute('aria-expanded', String(open));
  button.setAttribute('aria-label', `${open ? 'Hide' : 'Show'} the ${under} agent${under === 1 ? '' : 's'} under ${name}`);
  button.title = open ? 'fold its subtree away' : 'show its subtree';
  button.textContent = `${open ? '▾' : '▸'} ${under}`;
}

function subtreeToggle(name, tree) {
  const button = h('button', { type: 'button', class: 'subtree-toggle',
    'aria-controls': tree.descendants(name).map(rowId).join(' ') });
  setToggle(button, name, tree.descendants(name).length);
  button.addEventListener('click', () => { collapsed.toggle(name); showTree(drawn); });
  return button;
}

const rowId = name => `agent-row-${name}`;

/** A row is built once; updates rebuild its head and error line but keep its logs box (open, with its text). */
function agentRow(p, tree) {
  const a = p.agent;
  const node = h('li', { class: 'agent', id: rowId(a.name), dataset: { agent: a.name } }, agentHead(a, tree), errors.line(a.name));
  addBoxes(node, a);
  setRowState(node, a);
  setPlace(node, p, tree);
  return node;
}

function updateAgentRow(node, p, tree) {
  const a = p.agent;
  node.querySelector(':scope > .agent-head').replaceWith(agentHead(a, tree));
  node.querySelector(':scope > .action-error').replaceWith(errors.line(a.name));
  addBoxes(node, a);
  setRowState(node, a);
  setPlace(node, p, tree);
}

/** Where the row sits in the tree: its depth (the indent, set through the CSSOM as the page's CSP asks) and its parent. */
function setPlace(node, p, tree) {
  const parent = tree.parentOf.get(p.agent.name);
  node.dataset.depth = String(p.depth);
  node.style.setProperty('--depth', String(p.depth));
  node.classList.toggle('nested', p.depth > 0);
  node.classList.toggle('has-subtree', (tree.children.get(p.agent.name) ?? []).length > 0);
  if (parent) node.dataset.parent = parent;
  else delete node.dataset.parent;
}

/** Its search box, and (managed) its logs and configuration, each added once and kept across updates (open, with what was typed). */
function addBoxes(node, a) {
  if (!node.querySelector(':scope > details.search-agent')) node.append(searchDetails(a.name));
  if (!isManaged(a)) return;
  if (!node.querySelector(':scope > details.config')) node.insertBefore(configBox(a.name), node.querySelector(':scope > details.search-agent'));
  if (!node.querySelector(':scope > details.logs')) node.insertBefore(logsBox(a.name), node.querySelector(':scope > details.search-agent'));
}

function setRowState(node, a) {
  node.dataset.state = isManaged(a) ? a.state ?? '' : 'external';
  node.classList.toggle('busy', !!a.transient);
  if (a.transient) node.dataset.transient = a.transient;
  else delete node.dataset.transient;
  if (a.pid) node.dataset.pid = a.pid;
  else delete node.dataset.pid;
}

/** The agent stored as much as an hour allows (transcripts or messages): a chip saying so, as of the last snapshot. */
function storageChip(a) {
  const full = [['transcript', a.transcript_storage], ['messages', a.message_storage]].filter(([, s]) => s?.refused_since);
  if (full.length === 0) return null;
  return h('span', { class: 'chip storage-full', title: full.map(([what, s]) => `${what}: ${s.bytes_this_hour} of ${s.limit} bytes this hour; refused since ${s.refused_since}`).join('\n') },
    `${full.map(([what]) => what).join(', ')} limit reached`);
}

function agentHead(a, tree) {
  const managed = isManaged(a);
  const under = tree.descendants(a.name);
  return h('div', { class: 'agent-head' },
    h('div', { class: 'agent-title' },
      under.length > 0 && subtreeToggle(a.name, tree),
      h('a', { class: 'who agent-link', href: `/agents/${encodeURIComponent(a.name)}`, title: 'its own page: transcript, stats, log' }, a.name), ' ', h('span', { class: 'meta' }, a.kind),
      managed && a.state && h('span', { class: `badge state state-${a.state}`, title: a.desired === 'running' ? 'Hive keeps it running' : 'Hive keeps it stopped' }, a.state),
      !managed && h('span', { class: 'badge state state-external', title: 'Hive keeps its socket; you run its process' }, 'external'),
      a.transient && h('span', { class: 'badge transient', role: 'status' }, Transients[a.transient] ?? `${a.transient}…`),
      a.pending_reminders > 0 && h('span', { class: 'chip reminders', title: 'pending reminders: see the reminders section to view or cancel' },
        `${a.pending_reminders} reminder${a.pending_reminders === 1 ? '' : 's'}`),
      a.waiting_on && h('span', { class: 'badge waiting', title: `waiting since ${a.waiting_since}` },
        `waiting on ${a.waiting_on} · since ${relative(a.waiting_since)}`),
      rowFacts(a),
      managed && networkChip(a),
      failingChip(a),
      providerChip(a),
      storageChip(a),
      a.forge && forgeChip(a.forge),
      looseEnds(a),
      a.last_turn_at && sparkline(lastDay(a))),
    managed && h('div', { class: 'meta facts' },
      h('span', { class: 'driver' }, a.driver),
      a.pid && [' · ', h('span', { class: 'pid' }, `pid ${a.pid}`)],
      a.started_at && a.state === 'running' && [' · ', h('span', { title: a.started_at }, `up since ${relative(a.started_at)}`)],
      ' · ', h('span', { class: 'restarts' }, `${a.restarts ?? 0} restart${a.restarts === 1 ? '' : 's'}`),
      a.last_exit && [' · ', h('span', { class: 'last-exit', title: a.last_exit.at }, lastExit(a.last_exit))],
      a.restart === 'never' && ' · not restarted when it exits'),
    managed && usageMeter(a),
    under.length > 0 && subtreeLine(a, under),
    a.last_turn_at && turns(a),
    a.purpose && h('div', { class: 'purpose' }, a.purpose),
    a.capabilities?.length > 0 && h('div', { class: 'capabilities', title: 'the work it takes (the work layer offers it tickets needing these)' },
      ...a.capabilities.map(c => h('span', { class: 'chip capability' }, c))),
    a.allowed_recipients && h('div', { class: 'meta allowed-recipients', title: 'whom it may message or ask (the operator and the manager always)' },
      'may message: ', a.allowed_recipients.length ? a.allowed_recipients.join(', ') : 'the operator and the manager only'),
    a.config_error && h('div', { class: 'config-error', role: 'alert' }, 'configuration file not used: ', a.config_error),
    a.forge?.error && h('div', { class: 'forge-error', role: 'alert', title: `checked ${a.forge.checked_at}` }, 'forge: ', a.forge.error),
    // One line (a preset's command carries its whole system prompt); the whole of it in the title and under Edit configuration.
    managed && a.command && h('div', { class: 'meta command', title: a.command.join(' ') }, '$ ', a.command.join(' ')),
    agentActions(a, under));
}

/** A parent's subtree at a glance: how many under it, and what the subtree spent today and this month beside its own. */
function subtreeLine(a, under) {
  const spend = a.subtree_spend_today_usd !== undefined;
  return h('div', { class: 'meta subtree' },
    h('span', { class: 'subtree-size', title: under.join(', ') }, `${under.length} agent${under.length === 1 ? '' : 's'} under it`),
    spend && [' · ', h('span', { class: 'subtree-spend', dataset: { today: a.subtree_spend_today_usd, month: a.subtree_spend_month_usd },
      title: 'what it and every agent under it spent' },
    `subtree ${usd(a.subtree_spend_today_usd ?? 0)} today · ${usd(a.subtree_spend_month_usd ?? 0)} this month`),
    ' ', h('span', { class: 'own-spend', title: 'what it spent itself' },
      `(own ${usd(a.spend_today_usd ?? 0)} · ${usd(a.spend_month_usd ?? 0)})`)]);
}

/**
 * The row's last-24-hours figures as of now: the host counted its hours back from `aggregated_at`, so each whole hour
 * since shifts them one place (what falls out of the window leaves the totals). The page re-renders the swarm every
 * 30 s, so an idle agent's sparkline and counts age without a new turn or a reload.
 */
function lastDay(a) {
  const tokensByHour = a.tokens_by_hour ?? [], turnsByHour = a.turns_by_hour ?? [];
  const since = a.aggregated_at ? Math.floor((Date.now() - Date.parse(a.aggregated_at)) / 3_600_000) : 0;
  const shift = Math.min(Math.max(since, 0), tokensByHour.length);
  if (shift === 0) return { tokensByHour, tokens: a.tokens_24h ?? 0, turns: a.turns_24h ?? 0 };
  const shifted = hours => [...hours.slice(shift), ...hours.map(() => 0).slice(0, shift)];
  const sum = hours => hours.reduce((total, n) => total + n, 0);
  const tokens = shifted(tokensByHour);
  return { tokensByHour: tokens, tokens: sum(tokens), turns: sum(shifted(turnsByHour)) };
}

/** Its last turn (when, how it ended) and the tokens it spent per hour over the last 24 hours, as a sparkline. */
function turns(a) {
  const result = a.last_result ?? '';
  const { tokens, turns: count } = lastDay(a);
  return h('div', { class: 'meta turns' },
    h('span', { class: `last-turn result-${result}`, title: a.last_turn_at, dataset: { result } },
      `last turn ${relative(a.last_turn_at)} · ${result.replaceAll('_', ' ')}`),
    ' · ', h('span', { class: 'turns-24h' }, `${count} turn${count === 1 ? '' : 's'} / 24h`),
    ' · ', h('span', { class: 'tokens-24h', title: `${tokens.toLocaleString('en')} tokens in the last 24 hours` },
      `${compact(tokens)} tokens`));
}

/** 950, 18.5k, 2.1M: a token count at a glance. */
function compact(n) {
  return n < 1000 ? String(n) : n < 1e6 ? `${+(n / 1e3).toFixed(1)}k` : `${+(n / 1e6).toFixed(1)}M`;
}

const SvgNs = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS(SvgNs, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  node.append(...children);
  return node;
};

/** 24 bars, oldest hour first, each as tall as its hour's tokens against the busiest hour; inline SVG, no library. */
function sparkline({ tokensByHour: byHour, tokens: total }) {
  const Bar = 3, Gap = 1, Height = 18;
  const max = Math.max(0, ...byHour);
  const title = `${total.toLocaleString('en')} tokens in the last 24 hours (per hour, oldest first)`;
  const bars = byHour.map((tokens, i) => {
    // A spent hour always shows (at least a pixel); an idle one is a flat line.
    const height = tokens > 0 ? Math.max(1, Math.round(tokens / max * Height)) : 0;
    return svg('rect', { class: 'bar', x: i * (Bar + Gap), y: Height - height, width: Bar, height, 'data-tokens': tokens });
  });
  const width = byHour.length * (Bar + Gap) - Gap;
  return svg('svg', { class: 'sparkline', role: 'img', 'aria-label': title, width, height: Height + 1,
      viewBox: `0 0 ${width} ${Height + 1}`, 'data-total': total },
    svg('title', {}, title),
    svg('line', { class: 'baseline', x1: 0, y1: Height + 0.5, x2: width, y2: Height + 0.5 }),
    ...bars);
}

/** Its loose ends (the agent's own verb lists them): open questions, asked or waiting for its answer, and pending reminders. */
function looseEnds(a) {
  const questions = a.open_questions ?? 0;
  const reminders = a.pending_reminders ?? 0;
  const count = questions + reminders;
  return count > 0 && h('span', { class: 'chip loose-ends', dataset: { count },
    title: `loose ends: ${questions} open question${questions === 1 ? '' : 's'}, ${reminders} pending reminder${reminders === 1 ? '' : 's'}` },
    `${count} loose end${count === 1 ? '' : 's'}`);
}

/** The agent's forge account as the last sweep found it: its user and its token (the error, if any, has a line of its own). */
function forgeChip(f) {
  const state = f.user && f.token ? 'ok' : 'missing';
  const text = f.user && f.token ? 'forge ✓' : `forge: ${f.user ? 'no token' : 'no user'}`;
  return h('span', { class: `chip forge forge-${state}`, dataset: { user: f.user, token: f.token },
    title: `forge user ${f.user ? 'ready' : 'missing'}, token ${f.token ? 'issued' : 'not issued'} · checked ${f.checked_at}` }, text);
}

function lastExit(exit) {
  const how = exit.signal != null ? `signal ${exit.signal}${SignalNames[exit.signal] ? ` (${SignalNames[exit.signal]})` : ''}`
    : `code ${exit.code}`;
  // The host knows why when the kernel killed it at its memory cap.
  return `last exit: ${how}${exit.reason === 'oom' ? ', out of memory (its cap)' : ''}, ${relative(exit.at)}`;
}

function agentActions(a, under) {
  const managed = isManaged(a);
  const name = a.name;
  const button = (cls, label, run) => {
    const b = h('button', { type: 'button', class: cls, dataset: { action: cls.split(' ').at(-1) } }, label);
    b.addEventListener('click', () => run(b));
    return b;
  };
  const lifecycle = (verb, busy, done) => b => {
    errors.set(name, null);
    act(b, busy, { method: 'POST', url: `/api/agents/${path(name)}/${verb}` }, `${name} ${done}`,
      message => errors.set(name, `${verb}: ${message}`));
  };
  const running = a.state === 'running';
  return append(h('div', { class: 'actions' }),
    managed && !running && button('start', 'Start', lifecycle('start', 'starting…', 'started')),
    managed && (running || a.desired === 'running') && button('stop', 'Stop', lifecycle('stop', 'stopping…', 'stopped')),
    managed && button('restart', 'Restart', lifecycle('restart', 'restarting…', 'restarted')),
    running && (a.driver === 'process' || a.driver === 'bubblewrap') &&
      h('a', { class: 'button quiet terminal', href: `/agents/${path(name)}/terminal`, target: '_blank', title: `a shell in ${name}'s sandbox` }, 'Terminal'),
    store.governance && pauseAction(name, !!a.paused, message => errors.set(name, message)),
    store.governance && under.length > 0 && subtreePauseActions(a, under),
    under.length > 0 && subtreeLifeActions(a, under),
    a.kind !== 'manager' && name !== 'manager' && button('danger destroy', 'Destroy', b => {
      const children = [...store.agents.values()].filter(c => c.parent === name).map(c => c.name);
      const choice = children.length ? childrenChoice(name, a.parent, children)
        : confirm(`Destroy ${name}? Its process is stopped and its socket closed; its files are kept (under Destroyed agents) until you delete them.`) ? '' : null;
      if (choice === null) return;
      errors.set(name, null);
      act(b, 'destroying…', { method: 'DELETE', url: `/api/agents/${path(name)}${choice}` }, `${name} destroyed`,
        message => errors.set(name, `destroy: ${message}`));
    }));
}

/**
 * Pause or resume a parent and everything under it as one (POST …/pause|resume?subtree=true): Pause while any of the
 * subtree runs free, Resume while any of it is paused.
 */
function subtreePauseActions(a, under) {
  const name = a.name;
  const subtree = [a, ...under.map(n => store.agents.get(n)).filter(Boolean)];
  const someone = `${name} and the ${under.length} agent${under.length === 1 ? '' : 's'} under it`;
  const button = (verb, label, busy, done) => {
    const b = h('button', { type: 'button', class: verb === 'resume' ? `approve ${verb}-subtree` : `${verb}-subtree`,
      dataset: { action: `${verb}-subtree` }, title: `${verb} ${someone}` }, label);
    b.addEventListener('click', () => {
      errors.set(name, null);
      act(b, busy, { method: 'POST', url: `/api/governance/agents/${path(name)}/${verb}?subtree=true` }, `${someone} ${done}`,
        message => errors.set(name, `${verb} subtree: ${message}`));
    });
    return b;
  };
  return [
    subtree.some(x => !x.paused) && button('pause', 'Pause subtree', 'pausing…', 'paused'),
    subtree.some(x => x.paused) && button('resume', 'Resume subtree', 'resuming…', 'resumed'),
  ];
}

/**
 * Stop or start a parent and everything under it as one (POST /api/agents/{name}/stop|start?subtree=true): Stop while any
 * of the agents Hive runs there is meant to run, Start while any is meant to stay stopped. External agents are skipped.
 */
function subtreeLifeActions(a, under) {
  const name = a.name;
  const managed = [a, ...under.map(n => store.agents.get(n)).filter(Boolean)].filter(x => x.driver !== 'external');
  if (managed.length === 0) return [];
  const someone = `${name} and the ${under.length} agent${under.length === 1 ? '' : 's'} under it`;
  const button = (verb, label, busy, done) => {
    const b = h('button', { type: 'button', class: `${verb}-subtree`, dataset: { action: `${verb}-subtree` }, title: `${verb} ${someone}` }, label);
    b.addEventListener('click', () => {
      if (verb === 'stop' && !confirm(`Stop ${someone}? Each is stopped and stays stopped until started.`)) return;
      errors.set(name, null);
      act(b, busy, { method: 'POST', url: `/api/agents/${path(name)}/${verb}?subtree=true` }, `${someone} ${done}`,
        message => errors.set(name, `${verb} subtree: ${message}`));
    });
    return b;
  };
  return [
    managed.some(x => x.desired === 'running') && button('stop', 'Stop subtree', 'stopping…', 'stopped'),
    managed.some(x => x.desired === 'stopped') && button('start', 'Start subtree', 'starting…', 'started'),
  ];
}

/** What becomes of a destroyed agent's children: destroyed with it, moved up to its parent, or (null) nothing is done. */
function childrenChoice(name, parent, children) {
  const list = children.join(', ');
  if (confirm(`Destroy ${name} and everything under it (${list})? Cancel to keep its children instead.`)) return '?children=destroy';
  return confirm(`Destroy only ${name}, moving ${list} up to ${parent || 'the top level'}?`) ? '?children=reparent' : null;
}

/** Search what the agent wrote or was sent (messages, its questions and answers). */
function searchDetails(name) {
  return h('details', { class: 'search-agent' }, h('summary', {}, 'Search its messages'),
    searchBox({ agent: name, label: `Search ${name}'s messages, questions and answers` }));
}

/** The tail of the agent's stdout/stderr, loaded when opened and again on "refresh". */
function logsBox(name) {
  const body = h('pre', { class: 'log-body' }, '');
  const refresh = h('button', { type: 'button', class: 'quiet refresh-logs' }, 'Refresh');
  const details = h('details', { class: 'logs' }, h('summary', {}, 'Output log'), refresh, body);
  const load = async () => {
    refresh.disabled = true;
    try {
      const response = await fetch(`/api/agents/${path(name)}/logs?tail=200`);
      if (!response.ok) {
        const problem = await jsonBody(response);
        body.textContent = `(${response.status}) ${problem?.detail ?? 'the log could not be read'}`;
        body.classList.add('error');
        return;
      }
      const text = await response.text();
      body.classList.remove('error');
      body.textContent = text.length > 0 ? text : '(nothing logged yet)';
      body.scrollTop = body.scrollHeight;
    } catch (error) {
      body.textContent = `could not load: ${error.message}`;
      body.classList.add('error');
    } finally {
      refresh.disabled = false;
    }
  };
  details.addEventListener('toggle', () => { if (details.open) load(); });
  refresh.addEventListener('click', load);
  return details;
}

// The new-agent form: POST /api/agents {name, preset?, purpose?, driver?, command?, env?, secrets?, mounts?, restart?, capabilities?};
// the row arrives with its event. The presets come from GET /api/presets; without one the command is required.
export function wireSpawnForm() {
  const form = /** @type {import('./dom.js').Form} */ ($('spawn-form'));
  const error = $('spawn-error');
  const show = (text, problem, status) => showProblem(error, text, problem, status);
  secretPicks(form.querySelector('.secret-picks'), form.elements.secrets);
  const presets = new Map();
  const describe = () => {
    const preset = presets.get(form.elements.preset.value);
    const hint = $('spawn-preset-hint');
    hint.classList.toggle('error', !!preset?.problem);
    hint.textContent = !preset ? 'Without a preset, give the command.'
      : [preset.description, preset.problem ? `Not usable here: ${preset.problem}` : preset.program_path && `Runs ${preset.program_path}.`]
        .filter(Boolean).join(' ');
    // A preset brings its own command (the host refuses both); environment, secrets and mounts add to the preset's.
    const command = form.elements.command;
    command.disabled = !!preset;
    if (preset) command.value = '';
    command.placeholder = preset ? 'given by the preset' : 'words, or a JSON array: ["/usr/bin/my-agent", "--flag"]';
  };
  form.elements.preset.addEventListener('change', describe);
  describe();
  let loaded = false;
  const loadPresets = async () => {
    if (loaded) return;
    loaded = true;
    try {
      const response = await fetch('/api/presets');
      if (!response.ok) { loaded = response.status === 404; return; } // no presets on this host: none to offer
      const list = await response.json();
      const select = form.elements.preset;
      const chosen = select.value;
      for (const p of Array.isArray(list) ? list : []) presets.set(p.name, p);
      select.replaceChildren(select.options[0],
        ...[...presets.values()].map(p => h('option', { value: p.name, title: p.description ?? '' }, p.name)));
      select.value = presets.has(chosen) ? chosen : '';
      describe();
    } catch {
      loaded = false; // try again when the form is opened again
    }
  };
  $('spawn-box').addEventListener('toggle', () => { if (/** @type {HTMLDetailsElement} */ ($('spawn-box')).open) loadPresets(); });

  form.addEventListener('submit', async event => {
    event.preventDefault();
    show(null);
    const name = form.elements.name.value.trim();
    const preset = form.elements.preset.value;
    const body = { name };
    try {
      const command = parseCommand(form.elements.command.value);
      if (!preset && command.length === 0) throw new Error('Give a command, or choose a preset.');
      if (preset) body.preset = preset;
      if (command.length > 0) body.command = command;
      const env = parseEnv(form.elements.env.value);
      if (Object.keys(env).length > 0) body.env = env;
      const secrets = parseSecrets(form.elements.secrets.value);
      if (Object.keys(secrets).length > 0) body.secrets = secrets;
      const mounts = parseMounts(form.elements.mounts.value);
      if (mounts.length > 0) body.mounts = mounts;
      const capabilities = parseNames(form.elements.capabilities.value);
      if (capabilities.length > 0) body.capabilities = capabilities; // the host checks them
    } catch (e) {
      show(e.message);
      return;
    }
    const driver = form.elements.driver.value;
    if (driver) body.driver = driver;
    const purpose = form.elements.purpose.value.trim();
    if (purpose) body.purpose = purpose;
    if (form.elements.restart.value) body.restart = form.elements.restart.value;
    const ok = await act($('spawn-button'), 'creating…', { method: 'POST', url: '/api/agents', body }, `${name} created`, show);
    if (ok) { form.reset(); describe(); }
  });
}

// An agent's configuration: loaded from GET /api/agents/{name}/config when opened, edited here, reviewed as the diff the
// host would commit (PUT …/config?dry_run=true, shown as the approvals show theirs) and applied (the same PUT without
// dry_run). Editing after a review asks for a new one before Apply.

const Drivers = [['process', 'a process'], ['bubblewrap', 'a sandboxed process (bubblewrap)'], ['external', 'external: you run it yourself'],
  ['nixos-container', 'a NixOS container']];

function configBox(name) {
  const form = h('form', { class: 'agent-form config-form', autocomplete: 'off' });
  const problem = h('div', { class: 'form-problem error', role: 'alert', hidden: true });
  const status = h('p', { class: 'meta config-status', role: 'status' }, 'loading…');
  const details = h('details', { class: 'config' }, h('summary', {}, 'Edit configuration'), status, problem, form);
  const show = (text, p, code) => showProblem(problem, text, p, code);
  let loaded = null;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    status.hidden = false;
    status.textContent = 'loading…';
    show(null);
    try {
      const response = await fetch(`/api/agents/${path(name)}/config`);
      const body = await jsonBody(response);
      if (!response.ok) {
        status.hidden = true;
        show(`could not load the configuration: ${problemText(body, response.status)}`);
        return;
      }
      status.hidden = true;
      if (body?.config == null) {
        show('Hive runs nothing for this agent (it is external), so it has no configuration to edit.');
        return;
      }
      loaded = body.config;
      fillConfigForm(form, name, loaded, show, () => { loaded = null; details.open = false; form.replaceChildren(); });
    } catch (e) {
      status.hidden = true;
      show(unanswered(e));
    }
  });
  return details;
}

function fillConfigForm(form, name, config, show, done) {
  const field = (label, control, wide = true) => h('label', { class: wide ? 'wide' : '' }, label, ' ', control);
  const driver = h('select', { name: 'driver' }, ...Drivers.map(([value, text]) => h('option', { value }, text)));
  if (config.driver && !Drivers.some(([value]) => value === config.driver)) driver.append(h('option', { value: config.driver }, config.driver));
  driver.value = config.driver ?? 'process';
  const restart = h('select', { name: 'restart' },
    h('option', { value: 'on-failure' }, 'restart if it failed'), h('option', { value: 'never' }, 'leave it stopped'));
  if (config.restart && ![...restart.options].some(o => o.value === config.restart)) restart.append(h('option', { value: config.restart }, config.restart));
  restart.value = config.restart ?? 'on-failure';
  const purpose = h('input', { name: 'purpose', maxlength: 500, value: config.purpose ?? '' });
  const command = h('input', { name: 'command', value: formatCommand(config.command) });
  const env = h('textarea', { name: 'env', rows: 2, placeholder: 'one KEY=value per line' });
  env.value = formatPairs(config.env);
  const secrets = h('textarea', { name: 'secrets', rows: 2, placeholder: 'one VARIABLE=secret-name per line' });
  secrets.value = formatPairs(config.secrets);
  const mounts = h('textarea', { name: 'mounts', rows: 2, placeholder: 'one path per line' });
  mounts.value = (config.mounts ?? []).join('\n');
  const inputs = h('input', { name: 'inputs', value: (config.inputs ?? []).join(' '), placeholder: 'names of pinned inputs (optional)' });
  const capabilities = h('input', { name: 'capabilities', value: (config.capabilities ?? []).join(' '), placeholder: 'the work it takes, e.g. design code review (optional)' });
  const network = h('select', { name: 'network' },
    h('option', { value: 'sealed' }, 'sealed: out only through the hive\'s proxy'), h('option', { value: 'open' }, 'open: the host\'s network'));
  network.value = config.network ?? 'open';
  const egress = h('textarea', { name: 'egress', rows: 2, placeholder: 'places a sealed agent may reach: one host[:port] per line, e.g. github.com:443' });
  egress.value = (config.egress ?? []).join('\n');
  const egressAsk = h('input', { type: 'checkbox', name: 'egress-ask', checked: config.egress_ask === true });
  const limited = h('input', { type: 'checkbox', name: 'limit-recipients', checked: Array.isArray(config.allowed_recipients) });
  const recipients = h('input', { name: 'allowed-recipients', value: (config.allowed_recipients ?? []).join(' '),
    placeholder: 'agent names; the operator and the manager always' });
  const review = h('button', { type: 'submit', class: 'review' }, 'Review changes');
  const apply = h('button', { type: 'button', class: 'approve apply', disabled: true }, 'Apply');
  const cancel = h('button', { type: 'button', class: 'quiet cancel-edit' }, 'Close');
  const diffBox = h('div', { class: 'config-diff', hidden: true });
  let reviewed = null;

  const edited = () => {
    const argv = parseCommand(command.value);
    // A map or list left empty stays as it was when it was absent, so an untouched field shows no change.
    const map = (value, was) => (Object.keys(value).length === 0 && was == null ? was : value);
    const list = (value, was) => (value.length === 0 && was == null ? was : value);
    return {
      ...config,
      purpose: purpose.value.trim() || (config.purpose == null ? config.purpose : null),
      driver: driver.value,
      restart: restart.value,
      command: list(argv, config.command),
      env: map(parseEnv(env.value), config.env),
      secrets: map(parseSecrets(secrets.value), config.secrets),
      mounts: list(parseMounts(mounts.value), config.mounts),
      inputs: list(parseNames(inputs.value), config.inputs),
      capabilities: list(parseNames(capabilities.value), config.capabilities),
      allowed_recipients: limited.checked ? parseNames(recipients.value) : null,
      // Left open where the file names none, so an untouched old agent shows no change.
      network: network.value === 'open' && config.network == null ? null : network.value,
      egress: list(egress.value.split('\n').map(r => r.trim()).filter(r => r.length > 0), config.egress),
      egress_ask: egressAsk.checked ? true : (config.egress_ask == null ? null : false),
    };
  };
  const put = async (dryRun, body) => {
    const response = await fetch(`/api/agents/${path(name)}/config${dryRun ? '?dry_run=true' : ''}`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (response.headers.get('content-type') ?? '').includes('json') ? await response.json().catch(() => null) : null;
    return { response, json };
  };
  const busy = async (button, label, run) => {
    const text = button.textContent;
    button.disabled = true;
    button.textContent = label;
    try { return await run(); } catch (e) { show(unanswered(e)); } finally { button.textContent = text; button.disabled = false; }
  };
  const invalidate = () => {
    reviewed = null;
    apply.disabled = true;
    diffBox.hidden = true;
    diffBox.replaceChildren();
  };

  form.onsubmit = async event => {
    event.preventDefault();
    show(null);
    invalidate();
    let body;
    try { body = edited(); } catch (e) { show(e.message); return; }
    await busy(review, 'reviewing…', async () => {
      const { response, json } = await put(true, body);
      if (!response.ok) { show(problemText(json, response.status), json, response.status); return; }
      diffBox.replaceChildren(
        h('p', { class: 'meta' }, !json?.changed ? 'No changes: the configuration is as it was.'
          : json.restarts ? 'What Apply changes (it restarts the agent with it):'
          : 'What Apply changes (the running agent takes it without a restart):'),
        diff(json?.diff ?? ''));
      diffBox.hidden = false;
      if (json?.changed) reviewed = body;
    });
    apply.disabled = reviewed === null;
  };
  apply.addEventListener('click', async () => {
    if (!reviewed) return;
    show(null);
    const body = reviewed;
    await busy(apply, 'applying…', async () => {
      const { response, json } = await put(false, body);
      if (!response.ok) { show(problemText(json, response.status), json, response.status); return; }
      toast(json?.changed === false ? `${name}: nothing to change` : `${name}: configuration applied`);
      done();
    });
    apply.disabled = reviewed === null || !form.isConnected;
  });
  cancel.addEventListener('click', done);
  form.oninput = invalidate;
  form.onchange = invalidate;

  const picks = h('div', { class: 'wide hint' });
  form.replaceChildren(
    field('Purpose', purpose),
    field('Runs as', driver, false),
    field('When it exits', restart, false),
    field('Command', command),
    field('Environment', env),
    field('Secrets', secrets),
    secretPicks(picks, secrets),
    field('Mounts', mounts),
    field('Pinned inputs it uses', inputs),
    field('Capabilities', capabilities),
    field('Network', network, false),
    field('Egress (a sealed agent\'s way out; a change of these alone needs no restart)', egress),
    h('label', { class: 'check wide' }, egressAsk, ' Ask me about a place not listed'),
    h('label', { class: 'check wide' }, limited, ' Limit whom it may message to:'),
    field('', recipients),
    diffBox,
    h('div', { class: 'form-actions' }, review, apply, cancel));
}

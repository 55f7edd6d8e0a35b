import { h, append, renderList, relative } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';

// ◆ SW4RM and ◆ T0MBST0N3S: agents with their container's state and lifecycle buttons, their logs, the spawn form,
// and the state dirs destroyed agents left behind. Rows change only when events arrive; a button only asks.

const $ = id => document.getElementById(id);

/** What an action refused, kept beside its row until the next action on it (or ×): `agent:<name>`, `tomb:<name>`. */
const errors = new Map();

const SignalNames = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };
const Transients = { starting: 'starting…', stopping: 'stopping…', restarting: 'restarting…', rebuilding: 'rebuilding…', destroying: 'destroying…' };

const isManaged = a => (a.driver ?? 'external') !== 'external';
const path = name => encodeURIComponent(name);

export function swarm() {
  // As /api/state orders them: the manager first, then by name (rows added live land in their place).
  const agents = [...store.agents.values()].sort((a, b) =>
    (a.kind === 'manager' ? 0 : 1) - (b.kind === 'manager' ? 0 : 1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const key of errors.keys())
    if (key.startsWith('agent:') && !store.agents.has(key.slice(6))) errors.delete(key);
  $('swarm-count').textContent = `(${agents.length})`;
  renderList($('agents'), agents, a => a.name, agentRow, updateAgentRow);
  const select = $('send-to');
  const current = select.value;
  select.replaceChildren(...agents.map(a => h('option', { value: a.name }, a.name)));
  if (agents.some(a => a.name === current)) select.value = current;
}

/** A row is built once; updates rebuild its head and error line but keep its logs box (open, with its text). */
function agentRow(a) {
  const node = h('li', { class: 'agent', dataset: { agent: a.name } }, agentHead(a), errorLine(`agent:${a.name}`));
  if (isManaged(a)) node.append(logsBox(a.name));
  setRowState(node, a);
  return node;
}

function updateAgentRow(node, a) {
  node.querySelector(':scope > .agent-head').replaceWith(agentHead(a));
  node.querySelector(':scope > .action-error').replaceWith(errorLine(`agent:${a.name}`));
  if (isManaged(a) && !node.querySelector(':scope > details.logs')) node.append(logsBox(a.name));
  setRowState(node, a);
}

function setRowState(node, a) {
  node.dataset.state = isManaged(a) ? a.state ?? '' : 'external';
  node.classList.toggle('busy', !!a.transient);
  if (a.transient) node.dataset.transient = a.transient;
  else delete node.dataset.transient;
  if (a.pid) node.dataset.pid = a.pid;
  else delete node.dataset.pid;
}

function agentHead(a) {
  const managed = isManaged(a);
  return h('div', { class: 'agent-head' },
    h('div', { class: 'agent-title' },
      h('span', { class: 'who' }, a.name), ' ', h('span', { class: 'meta' }, a.kind),
      managed && a.state && h('span', { class: `badge state state-${a.state}`, title: `desired: ${a.desired}` }, a.state),
      !managed && h('span', { class: 'badge state state-external', title: 'Hive keeps its socket; you run its process' }, 'external'),
      a.transient && h('span', { class: 'badge transient', role: 'status' }, Transients[a.transient] ?? `${a.transient}…`),
      a.pending_reminders > 0 && h('span', { class: 'chip reminders', title: 'pending reminders: see the reminders section to view or cancel' },
        `${a.pending_reminders} reminder${a.pending_reminders === 1 ? '' : 's'}`),
      a.waiting_on && h('span', { class: 'badge waiting', title: `waiting since ${a.waiting_since}` },
        `waiting on ${a.waiting_on} · since ${relative(a.waiting_since)}`),
      a.forge && forgeChip(a.forge),
      looseEnds(a),
      a.last_turn_at && sparkline(lastDay(a))),
    managed && h('div', { class: 'meta facts' },
      h('span', { class: 'driver' }, a.driver),
      a.pid && [' · ', h('span', { class: 'pid' }, `pid ${a.pid}`)],
      a.started_at && a.state === 'running' && [' · ', h('span', { title: a.started_at }, `up since ${relative(a.started_at)}`)],
      ' · ', h('span', { class: 'restarts' }, `${a.restarts ?? 0} restart${a.restarts === 1 ? '' : 's'}`),
      a.last_exit && [' · ', h('span', { class: 'last-exit', title: a.last_exit.at }, lastExit(a.last_exit))],
      a.restart === 'never' && ' · no auto-restart'),
    a.last_turn_at && turns(a),
    a.purpose && h('div', { class: 'purpose' }, a.purpose),
    a.allowed_recipients && h('div', { class: 'meta allowed-recipients', title: 'whom it may message or ask (the operator and the manager always)' },
      'talks to: ', a.allowed_recipients.length ? a.allowed_recipients.join(', ') : 'the operator and the manager only'),
    a.config_error && h('div', { class: 'config-error', role: 'alert' }, 'meta file not used: ', a.config_error),
    a.forge?.error && h('div', { class: 'forge-error', role: 'alert', title: `checked ${a.forge.checked_at}` }, 'forge: ', a.forge.error),
    managed && a.command && h('div', { class: 'meta command', title: 'command' }, '$ ', a.command.join(' ')),
    agentActions(a));
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
  return `last exit: ${how}, ${relative(exit.at)}`;
}

function agentActions(a) {
  const managed = isManaged(a);
  const name = a.name;
  const button = (cls, label, run) => {
    const b = h('button', { type: 'button', class: cls, dataset: { action: cls.split(' ').at(-1) } }, label);
    b.addEventListener('click', () => run(b));
    return b;
  };
  const lifecycle = (verb, busy, done) => b => {
    setError(`agent:${name}`, null);
    act(b, busy, { method: 'POST', url: `/api/agents/${path(name)}/${verb}` }, `${name} ${done}`,
      message => setError(`agent:${name}`, `${verb}: ${message}`));
  };
  const running = a.state === 'running';
  return append(h('div', { class: 'actions' }),
    managed && !running && button('start', 'start', lifecycle('start', 'starting…', 'started')),
    managed && (running || a.desired === 'running') && button('stop', 'stop', lifecycle('stop', 'stopping…', 'stopped')),
    managed && button('restart', 'restart', lifecycle('restart', 'restarting…', 'restarted')),
    a.kind !== 'manager' && name !== 'manager' && button('danger destroy', 'destroy', b => {
      if (!confirm(`destroy ${name}? its process is stopped, its socket closed; its state dir is kept as a tombstone.`)) return;
      setError(`agent:${name}`, null);
      act(b, 'destroying…', { method: 'DELETE', url: `/api/agents/${path(name)}` }, `${name} destroyed`,
        message => setError(`agent:${name}`, `destroy: ${message}`));
    }));
}

/** The tail of the agent's stdout/stderr, loaded when opened and again on "refresh". */
function logsBox(name) {
  const body = h('pre', { class: 'log-body' }, '');
  const refresh = h('button', { type: 'button', class: 'quiet refresh-logs' }, 'refresh');
  const details = h('details', { class: 'logs' }, h('summary', {}, 'logs'), refresh, body);
  const load = async () => {
    refresh.disabled = true;
    try {
      const response = await fetch(`/api/agents/${path(name)}/logs?tail=200`);
      if (!response.ok) {
        const problem = (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : null;
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

function errorLine(key) {
  const text = errors.get(key);
  const line = h('p', { class: 'error action-error', role: 'alert' });
  if (!text) { line.hidden = true; return line; }
  const dismiss = h('button', { type: 'button', class: 'quiet dismiss', title: 'dismiss', 'aria-label': 'dismiss' }, '×');
  dismiss.addEventListener('click', () => setError(key, null));
  return append(line, text, ' ', dismiss);
}

function setError(key, text) {
  if (text) errors.set(key, text);
  else if (errors.has(key)) errors.delete(key);
  else return;
  if (key.startsWith('agent:')) swarm();
  else tombstones();
}

// ◆ T0MBST0N3S: newest first, with their size on disk; purge deletes the state dir.
export function tombstones() {
  const list = [...store.tombstones].sort((a, b) => b.destroyed_at.localeCompare(a.destroyed_at) || (a.name < b.name ? -1 : 1));
  for (const key of errors.keys())
    if (key.startsWith('tomb:') && !list.some(t => t.name === key.slice(5))) errors.delete(key);
  $('tombstones-count').textContent = `(${list.length})`;
  $('tombstones-empty').hidden = list.length > 0;
  renderList($('tombstones'), list, t => t.name, tombstoneRow, (_, t) => tombstoneRow(t));
}

function tombstoneRow(t) {
  const purge = h('button', { type: 'button', class: 'danger purge' }, 'purge');
  purge.addEventListener('click', () => {
    if (!confirm(`purge ${t.name}? its state dir (${bytes(t.bytes)}) is deleted from disk.`)) return;
    setError(`tomb:${t.name}`, null);
    act(purge, 'purging…', { method: 'DELETE', url: `/api/tombstones/${path(t.name)}` }, `${t.name}'s state dir purged`,
      message => setError(`tomb:${t.name}`, `purge: ${message}`));
  });
  return h('li', { class: 'tombstone', dataset: { tombstone: t.name } },
    h('div', {},
      h('span', { class: 'who' }, t.name), ' ',
      h('span', { class: 'meta' },
        h('span', { class: 'size', title: `${t.bytes} bytes` }, bytes(t.bytes)), ' · destroyed ',
        h('span', { class: 'destroyed', title: t.destroyed_at }, relative(t.destroyed_at)))),
    errorLine(`tomb:${t.name}`),
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

// The spawn form: POST /api/agents; the row arrives with its event.
export function wireSpawnForm() {
  const form = $('spawn-form');
  const error = $('spawn-error');
  const show = text => { error.textContent = text ?? ''; error.hidden = !text; };
  form.addEventListener('submit', async event => {
    event.preventDefault();
    show(null);
    const name = form.elements.name.value.trim();
    const driver = form.elements.driver.value;
    let command;
    try {
      command = parseCommand(form.elements.command.value);
    } catch (e) {
      show(e.message);
      return;
    }
    const body = { name };
    if (command.length > 0) body.command = command;
    if (driver) body.driver = driver;
    const purpose = form.elements.purpose.value.trim();
    if (purpose) body.purpose = purpose;
    try {
      const secrets = parseSecrets(form.elements.secrets.value);
      if (Object.keys(secrets).length > 0) body.secrets = secrets;
    } catch (e) {
      show(e.message);
      return;
    }
    body.restart = form.elements.restart.value;
    const ok = await act($('spawn-button'), 'spawning…', { method: 'POST', url: '/api/agents', body }, `${name} spawned`, show);
    if (ok) form.reset();
  });
}

/** `VARIABLE=secret-name` pairs, separated by spaces or commas: which secret each environment variable is set from. */
export function parseSecrets(text) {
  const secrets = {};
  for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw new Error(`secrets: write VARIABLE=secret-name, not ${pair.slice(0, 40)}`);
    secrets[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return secrets;
}

/** A JSON array of strings, or words split on whitespace. */
export function parseCommand(text) {
  const trimmed = text.trim();
  if (!trimmed) return [];
  if (trimmed.startsWith('[')) {
    let parsed;
    try { parsed = JSON.parse(trimmed); } catch { throw new Error('the command looks like JSON but does not parse: write a JSON array of strings, or plain words'); }
    if (!Array.isArray(parsed) || !parsed.every(w => typeof w === 'string'))
      throw new Error('the command must be a JSON array of strings');
    return parsed;
  }
  return trimmed.split(/\s+/);
}

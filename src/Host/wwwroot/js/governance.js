// @ts-check
import { coalesced } from './reload.js';
import { h, append, renderList, relative, clock } from './dom.js';
import { store } from './store.js';
import { agentTree } from './tree.js';
import { act } from './actions.js';
import { jsonBody, problemText, unanswered, showError, showProblem, rowErrors } from './problems.js';

// Governance: the hive's throttle. The turn slots in use, the running turns (their age ticking), the queue in order,
// spend against budgets as bars (the whole hive first), provider limits counting down to their reopening with Clear,
// the agents held by their own quota reports, paused agents, Halt all (with a confirm step) and Resume, a budget editor; the banner at the top while the hive is
// halted; and what an agent's row shows of it (held, spend today, Pause/Resume). The state comes with /api/state as
// `governance`; each governance event reloads it from GET /api/governance (one request at a time, one more queued).

const $ = id => document.getElementById(id);
const path = s => encodeURIComponent(s);

/** What a Clear or a Resume refused, kept beside its row until its next action (or ×). */
const errors = rowErrors(() => governance());

export const HeldReasons = {
  queued: 'waiting for a slot', budget: 'over budget', quota: 'provider limit', halted: 'hive halted', paused: 'paused',
};

const OverCaps = { daily_usd: 'daily dollar cap', monthly_usd: 'monthly dollar cap', daily_tokens: 'daily token cap', monthly_tokens: 'monthly token cap' };

/** $0.12, $1,250, $0.004: an amount spent or a cap. */
export function usd(n) {
  if (n == null) return '';
  const abs = Math.abs(n);
  const digits = abs === 0 || abs >= 0.01 ? 2 : 3;
  return `$${n.toLocaleString('en', { minimumFractionDigits: abs >= 1000 ? 0 : digits, maximumFractionDigits: abs >= 1000 ? 0 : digits })}`;
}

/** 950, 18.5k, 2.1M tokens. */
function tokens(n) {
  n ??= 0;
  return n < 1000 ? String(n) : n < 1e6 ? `${+(n / 1e3).toFixed(1)}k` : n < 1e9 ? `${+(n / 1e6).toFixed(1)}M` : `${+(n / 1e9).toFixed(1)}G`;
}

/** 4:07, 1:02:09: time left or time running, by the second. */
export function span(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600), minutes = Math.floor(total / 60) % 60, seconds = total % 60;
  const two = n => String(n).padStart(2, '0');
  return hours > 0 ? `${hours}:${two(minutes)}:${two(seconds)}` : `${minutes}:${two(seconds)}`;
}

/** A time of day, with its date when it is not today. */
function when(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  const today = at.toDateString() === new Date().toDateString();
  return today ? clock(iso) : `${at.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${clock(iso)}`;
}

export function governance() {
  const g = store.governance;
  banner(g);
  $('governance-panel').hidden = !g;
  if (!g) return;
  const running = g.running ?? [], queue = g.queue ?? [], circuits = g.circuits ?? [], paused = g.paused ?? [];
  const holds = g.quota_holds ?? [];
  const budgets = g.budgets ?? [];
  errors.prune(key => (key.startsWith('circuit:') ? circuits.some(c => `circuit:${c.provider}` === key)
    : paused.some(p => `paused:${p.agent}` === key)));

  $('governance-slots').textContent = `(${g.slots_in_use ?? 0} of ${g.max_concurrent_turns ?? 0} slots)`;
  slotLine($('governance-slot-line'), g);
  $('halt-all').hidden = !!g.halted;
  $('resume-all').hidden = !g.halted;
  if (g.halted) $('halt-confirm').hidden = true;

  $('governance-budgets-empty').hidden = budgets.length > 0;
  renderList($('governance-budgets'), budgets, b => b.scope, budgetRow, (_, b) => budgetRow(b));

  $('governance-running-count').textContent = `(${running.length})`;
  $('governance-running-empty').hidden = running.length > 0;
  renderList($('governance-running'), running, t => t.turn_id, runningRow, (_, t) => runningRow(t));

  $('governance-queue-count').textContent = `(${queue.length})`;
  $('governance-queue-empty').hidden = queue.length > 0;
  renderList($('governance-queue'), queue, q => q.agent, queueRow, (_, q) => queueRow(q));

  $('governance-circuits-count').textContent = `(${circuits.length})`;
  $('governance-circuits-empty').hidden = circuits.length > 0;
  renderList($('governance-circuits'), circuits, c => c.provider, circuitRow, (_, c) => circuitRow(c));
  renderList($('governance-holds'), holds, q => q.agent, holdRow, (_, q) => holdRow(q));

  $('governance-paused-title').hidden = paused.length === 0;
  renderList($('governance-paused'), paused, p => p.agent, pausedRow, (_, p) => pausedRow(p));

  budgetScopes();
  tickGovernance();
}

/** The banner at the top of the page while the hive is halted: by whom, since when, why; Resume. */
function banner(g) {
  const halted = g?.halted;
  $('halt-banner').hidden = !halted;
  if (!halted) return;
  $('halt-text').replaceChildren();
  append($('halt-text'),
    h('strong', {}, 'Hive halted'), ' by ', h('span', { class: 'who halted-by' }, halted.by ?? 'someone'),
    ' since ', h('time', { class: 'halted-since', datetime: halted.since, title: halted.since }, when(halted.since)),
    ' (', h('span', { class: 'ago', title: halted.since }, relative(halted.since)), ')',
    halted.reason && [': ', h('span', { class: 'halt-reason' }, halted.reason)],
    '. No turn is granted until you resume.');
}

/** The slots as a bar (in use of the most at once) and each provider's own cap. */
function slotLine(node, g) {
  const caps = Object.entries(g.provider_caps ?? {});
  node.replaceChildren(
    bar(g.slots_in_use ?? 0, g.max_concurrent_turns ?? 0, 'slots in use', 'warn'),
    h('span', { class: 'meta' }, `${g.slots_in_use ?? 0} running, at most ${g.max_concurrent_turns ?? 0} at once`,
      caps.length > 0 && `; at most ${caps.map(([provider, cap]) => `${cap} on ${provider}`).join(', ')}`));
}

/**
 * A small bar: `value` against `cap` (no cap: an empty track). Amber from 80 %, at the cap `full` (red for a budget; the
 * slots, all in use, stay amber: a full house is not a fault). The width is set
 * through the CSSOM, which the page's CSP allows (a style attribute in markup it would not).
 */
function bar(value, cap, label, full = 'over') {
  const ratio = cap > 0 ? value / cap : 0;
  const fill = h('span', { class: 'fill' });
  fill.style.width = `${Math.min(100, Math.round(ratio * 1000) / 10)}%`;
  const level = cap == null || cap <= 0 ? (cap === 0 && value > 0 ? full : 'none') : ratio >= 1 ? full : ratio >= 0.8 ? 'warn' : 'ok';
  return h('span', { class: `bar level-${level}`, role: 'meter', 'aria-label': label, 'aria-valuemin': '0',
    'aria-valuemax': String(cap ?? 0), 'aria-valuenow': String(value), dataset: { ratio: cap > 0 ? ratio.toFixed(3) : '' } }, fill);
}

/**
 * One scope's spend today and this month. Each window shows its USD cap when it has one, its token cap when it has
 * one, and the USD spent (no cap) when it has neither; turns of unknown cost are counted in tokens only, and said so.
 */
function budgetRow(b) {
  const spent = b.spent ?? {};
  const whole = b.scope === '*';
  const line = (window, label, usdCap, usdSpent, tokenCap, tokenSpent) => {
    const lines = [];
    const over = metric => b.over === metric;
    if (usdCap != null || tokenCap == null)
      lines.push(h('div', { class: 'budget-line', dataset: { window, metric: 'usd' } },
        h('span', { class: 'window' }, label), bar(usdSpent ?? 0, usdCap, `${label}, dollars`),
        h('span', { class: `amount${over(`${window === 'day' ? 'daily' : 'monthly'}_usd`) ? ' error' : ''}` },
          usdCap != null ? `${usd(usdSpent ?? 0)} of ${usd(usdCap)}` : `${usd(usdSpent ?? 0)}, no cap`)));
    if (tokenCap != null)
      lines.push(h('div', { class: 'budget-line', dataset: { window, metric: 'tokens' } },
        h('span', { class: 'window' }, label), bar(tokenSpent ?? 0, tokenCap, `${label}, tokens`),
        h('span', { class: `amount${over(`${window === 'day' ? 'daily' : 'monthly'}_tokens`) ? ' error' : ''}` },
          `${tokens(tokenSpent)} of ${tokens(tokenCap)} tokens`)));
    return lines;
  };
  const edit = h('button', { type: 'button', class: 'quiet edit-budget', title: 'change these caps' }, 'Edit');
  edit.addEventListener('click', () => editBudget(b.scope));
  const unpriced = spent.day_unpriced_turns ?? 0;
  return h('li', { class: `budget${whole ? ' hive-wide' : ''}${b.over ? ' over' : ''}`, dataset: { scope: b.scope } },
    h('div', { class: 'budget-head' },
      h('span', { class: whole ? 'scope' : 'who scope' }, whole ? 'Whole hive' : b.scope),
      b.over && h('span', { class: 'badge over-cap', title: 'its next turn is held until the cap is raised or the window ends' },
        `over its ${OverCaps[b.over] ?? b.over.replaceAll('_', ' ')}`),
      edit),
    line('day', 'today', b.daily_usd, spent.day_usd, b.daily_tokens, spent.day_tokens),
    line('month', 'this month', b.monthly_usd, spent.month_usd, b.monthly_tokens, spent.month_tokens),
    unpriced > 0 && h('div', { class: 'meta unpriced', title: 'no price was known for their model: counted in tokens only' },
      `${unpriced} turn${unpriced === 1 ? '' : 's'} today of unknown cost (${tokens(spent.day_tokens)} tokens today)`));
}

function runningRow(t) {
  return h('li', { class: `turn${t.state === 'stopping' ? ' stopping' : ''}`, dataset: { turn: t.turn_id, agent: t.agent } },
    h('span', { class: 'who' }, t.agent), ' ', h('span', { class: 'meta' }, t.provider ?? ''),
    ' ', h('a', { class: 'turn-calls', href: `/agents/${encodeURIComponent(t.agent)}?turn=${t.turn_id}#ap-calls-panel`, title: 'its model calls in this turn' }, 'calls'),
    ' running for ', h('span', { class: 'age', title: `granted at ${t.granted_at}`, dataset: { since: t.granted_at } }, span(Date.now() - Date.parse(t.granted_at))),
    t.state === 'stopping' && h('span', { class: 'badge stopping',
      title: `told to stop${t.stop_reason ? ` (${t.stop_reason.replaceAll('_', ' ')})` : ''}: it ends within the grace` }, 'stopping'));
}

function queueRow(q) {
  return h('li', { class: `queued reason-${q.reason}`, dataset: { agent: q.agent, reason: q.reason } },
    h('span', { class: 'who' }, q.agent), ' ',
    h('span', { class: `badge held held-${q.reason}` }, HeldReasons[q.reason] ?? q.reason),
    q.operator_wake && h('span', { class: 'chip operator-wake', title: 'woken by you: granted before the others' }, 'your message'),
    h('div', { class: 'meta' }, 'queued ', h('span', { class: 'ago', title: q.since }, relative(q.since)),
      q.until && [' · until ', h('span', { title: q.until }, when(q.until)), ' (',
        h('span', { class: 'countdown', dataset: { until: q.until } }, span(Date.parse(q.until) - Date.now())), ' left)']));
}

function circuitRow(c) {
  const key = `circuit:${c.provider}`;
  const clear = h('button', { type: 'button', class: 'clear-circuit', title: `grant turns on ${c.provider} again now` }, 'Clear');
  clear.addEventListener('click', () => {
    errors.set(key, null);
    act(clear, 'clearing…', { method: 'DELETE', url: `/api/governance/circuits/${path(c.provider)}` }, `${c.provider} cleared`,
      message => errors.set(key, `clear: ${message}`));
  });
  return h('li', { class: 'circuit', dataset: { provider: c.provider } },
    h('div', {}, h('span', { class: 'who' }, c.provider), ' at its limit; turns again in ',
      h('span', { class: 'countdown', dataset: { until: c.until }, title: c.until }, span(Date.parse(c.until) - Date.now()))),
    h('div', { class: 'meta' }, 'at ', h('span', { title: c.until }, when(c.until)),
      c.source && [' · reported by ', h('span', { class: 'who' }, c.source)],
      c.since && [' ', h('span', { class: 'ago', title: c.since }, relative(c.since))]),
    errors.line(key),
    h('div', { class: 'actions' }, clear));
}

/** An agent its own quota report holds (only it: its provider's others work on), until the reset it named. */
function holdRow(q) {
  return h('li', { class: 'quota-hold', dataset: { agent: q.agent, provider: q.provider } },
    h('div', {}, h('span', { class: 'who' }, q.agent), ' held by its own quota report until ',
      h('span', { class: 'until', title: q.until }, when(q.until)), ' (',
      h('span', { class: 'countdown', dataset: { until: q.until } }, span(Date.parse(q.until) - Date.now())), ' left)'),
    h('div', { class: 'meta' }, `its provider ${q.provider} is not held on its word alone · since `,
      h('span', { class: 'ago', title: q.since }, relative(q.since))));
}

function pausedRow(p) {
  const key = `paused:${p.agent}`;
  return h('li', { class: 'paused', dataset: { agent: p.agent } },
    h('span', { class: 'who' }, p.agent), ' ',
    h('span', { class: 'meta' }, 'paused', p.by && ` by ${p.by}`, ' ', h('span', { class: 'ago', title: p.since }, relative(p.since))),
    errors.line(key),
    h('div', { class: 'actions' }, pauseAction(p.agent, true, message => errors.set(key, message))));
}

/** The Pause or Resume button of one agent: POST /api/governance/agents/{name}/pause|resume. */
export function pauseAction(name, paused, failed) {
  const verb = paused ? 'resume' : 'pause';
  const button = h('button', { type: 'button', class: paused ? `approve ${verb}` : verb, dataset: { action: verb },
    title: paused ? 'grant its turns again' : 'grant it no turn until you resume it (a running turn is told to stop)' },
  paused ? 'Resume' : 'Pause');
  button.addEventListener('click', () => {
    failed?.(null);
    act(button, paused ? 'resuming…' : 'pausing…', { method: 'POST', url: `/api/governance/agents/${path(name)}/${verb}` },
      `${name} ${paused ? 'resumed' : 'paused'}`, message => failed?.(`${verb}: ${message}`));
  });
  return button;
}

/** 512 MiB, 3.2 GiB: memory at a glance. */
function mib(n) {
  n ??= 0;
  return n < 1024 ? `${+n.toFixed(n < 10 ? 1 : 0)} MiB` : `${+(n / 1024).toFixed(1)} GiB`;
}

/**
 * An agent's usage against its caps, as its row shows it: memory as a bar of its cap, CPU in % of one core over the last
 * window, processes of its cap; live from agent_usage (only sent when a figure moved). "limits off" where the host cannot
 * put agents in cgroups of their own (it said why in its log); nothing for an agent it does not run, or not running.
 */
export function usageMeter(a) {
  if (a.limits === 'off') return h('span', { class: 'chip usage-off', title: 'this host cannot give agents cgroups of their own: no memory, CPU or pids caps, and no usage' }, 'limits off');
  const u = a.usage, caps = a.limits;
  if (!caps || !u || a.state !== 'running') return null;
  const capText = (value, cap, unit) => (cap != null ? `${value} / ${cap}${unit}` : `${value}${unit}`);
  return h('span', { class: 'usage', title: `read ${u.at ?? 'just now'}; caps: ${caps.memory_mib != null ? mib(caps.memory_mib) : 'no memory cap'}, `
      + `${caps.cpu_percent != null ? `${caps.cpu_percent} % CPU` : 'no CPU cap'}, ${caps.pids != null ? `${caps.pids} processes` : 'no pids cap'}`,
    dataset: { memory: u.memory_mib, cpu: u.cpu_percent, pids: u.pids } },
    bar(u.memory_mib ?? 0, caps.memory_mib, 'memory used of its cap'),
    h('span', { class: 'usage-memory' }, caps.memory_mib != null ? `${mib(u.memory_mib)} / ${mib(caps.memory_mib)}` : mib(u.memory_mib)),
    h('span', { class: 'usage-cpu' }, `CPU ${capText(+(u.cpu_percent ?? 0).toFixed(0), caps.cpu_percent, ' %')}`),
    h('span', { class: 'usage-pids' }, `${capText(u.pids ?? 0, caps.pids, '')} pids`));
}

/** The hive's totals over its running agents (memory, CPU, pids), from the rows: it follows every agent_usage. */
export function governanceUsage() {
  const node = $('governance-usage');
  if (!node) return;
  const rows = [...store.agents.values()].filter(a => a.limits != null);
  if (rows.length > 0 && rows.every(a => a.limits === 'off')) {
    node.replaceChildren(h('span', { class: 'meta usage-off' }, 'Resource limits are off on this host: agents run without caps, and no usage is read.'));
    return;
  }
  const running = rows.filter(a => a.state === 'running' && a.usage && a.limits !== 'off');
  const sum = pick => running.reduce((total, a) => total + (pick(a) ?? 0), 0);
  const memory = sum(a => a.usage.memory_mib), cpu = sum(a => a.usage.cpu_percent), pids = sum(a => a.usage.pids);
  const memoryCaps = sum(a => a.limits.memory_mib);
  node.replaceChildren(
    h('span', { class: 'window' }, 'Agents use'),
    bar(memory, memoryCaps, 'memory used by running agents, of their caps together'),
    h('span', { class: 'amount', dataset: { memory: memory.toFixed(1), cpu: cpu.toFixed(1), pids, agents: running.length } },
      `${mib(memory)}${memoryCaps > 0 ? ` of ${mib(memoryCaps)}` : ''} · CPU ${+cpu.toFixed(0)} % · ${pids} pids · ${running.length} running`));
}

/**
 * What an agent's row shows of governance: paused, held (why, until when), and its spend today (this month in the
 * title; nothing while it spent nothing this month, so an idle swarm's rows stay quiet).
 */
export function rowFacts(a) {
  const held = a.held;
  return [
    a.paused && h('span', { class: 'badge paused-badge', title: 'paused: no turn is granted until you resume it' }, 'paused'),
    held && !(a.paused && held.reason === 'paused') && h('span', { class: `badge held held-${held.reason}`, dataset: { reason: held.reason },
      title: held.until ? `held until ${held.until}` : 'held' },
    `held: ${HeldReasons[held.reason] ?? held.reason}`, held.until && [' · until ', h('span', { class: 'held-until' }, when(held.until))]),
    (a.spend_today_usd > 0 || a.spend_month_usd > 0) && h('span', { class: 'chip spend', dataset: { today: a.spend_today_usd },
      title: `spent today ${usd(a.spend_today_usd)}${a.spend_month_usd != null ? `, this month ${usd(a.spend_month_usd)}` : ''}` },
    `${usd(a.spend_today_usd)} today`),
    a.burn_usd_per_hour > 0 && h('span', { class: 'chip burn', dataset: { burn: a.burn_usd_per_hour },
      title: `spent in the last hour${a.budget_runs_out_at ? `; at this rate its daily budget runs out at ${a.budget_runs_out_at}` : ''}` },
    `${usd(a.burn_usd_per_hour)}/h`, a.budget_runs_out_at && [' · out ', when(a.budget_runs_out_at)]),
  ];
}

/**
 * The rows' spend from the budgets just read: the host counts a turn's cost after its row was last sent, so the row
 * takes the figures the section shows (an agent the budgets do not list spent nothing this month), and a parent's row
 * its subtree's sum of them. True when one changed.
 */
function spendOnRows(g) {
  const spent = new Map((g.budgets ?? []).filter(b => b.scope !== '*').map(b => [b.scope, b.spent ?? {}]));
  const figures = name => ({ today: spent.get(name)?.day_usd ?? 0, month: spent.get(name)?.month_usd ?? 0 });
  const tree = agentTree(store.agents.values());
  let changed = false;
  for (const a of store.agents.values()) {
    if (a.spend_today_usd === undefined) continue; // a row without governance's facts
    const { today, month } = figures(a.name);
    const subtree = tree.descendants(a.name).map(figures);
    const subtreeToday = subtree.reduce((sum, f) => sum + f.today, today), subtreeMonth = subtree.reduce((sum, f) => sum + f.month, month);
    if (a.spend_today_usd === today && a.spend_month_usd === month
      && a.subtree_spend_today_usd === subtreeToday && a.subtree_spend_month_usd === subtreeMonth) continue;
    Object.assign(a, { spend_today_usd: today, spend_month_usd: month, subtree_spend_today_usd: subtreeToday, subtree_spend_month_usd: subtreeMonth });
    changed = true;
  }
  return changed;
}

/** Running turns age and limits count down by the second. */
export function tickGovernance() {
  const now = Date.now();
  const ages = /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#governance-panel .age'));
  for (const node of ages) node.textContent = span(now - Date.parse(node.dataset.since));
  const countdowns = /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#governance-panel .countdown'));
  for (const node of countdowns) {
    const left = Date.parse(node.dataset.until) - now;
    node.textContent = left > 0 ? span(left) : 'any moment';
  }
}

let rowsChangedThen = null;
const reloadGovernance = coalesced(async () => {
  try {
    const response = await fetch('/api/governance');
    const body = await jsonBody(response);
    if (!response.ok) {
      showError($('governance-error'), `could not load governance: ${problemText(body, response.status)}`);
      return;
    }
    store.governance = body;
    showError($('governance-error'), null);
    if (spendOnRows(body)) rowsChangedThen?.();
    governance();
  } catch (error) {
    showError($('governance-error'), unanswered(error));
  }
});

/**
 * GET /api/governance into the store and onto the page: one request at a time; one asked for meanwhile runs after it.
 * `rowsChanged` is called when the agents' rows have new figures to draw.
 */
export function refreshGovernance(rowsChanged) {
  rowsChangedThen = rowsChanged;
  return reloadGovernance();
}

/** The budget form's scopes: the whole hive, then every agent (the chosen one kept). */
function budgetScopes() {
  const select = /** @type {HTMLSelectElement} */ ($('budget-scope'));
  const chosen = select.value;
  const names = [...store.agents.keys()].sort();
  const wanted = ['*', ...names];
  if ([...select.options].map(o => o.value).join('\n') === wanted.join('\n')) return;
  select.replaceChildren(h('option', { value: '*' }, 'the whole hive'), ...names.map(n => h('option', { value: n }, n)));
  select.value = wanted.includes(chosen) ? chosen : '*';
}

/** Fills the budget form with a scope's caps as they are (so saving changes only what was edited). */
function fillBudget(scope) {
  const form = /** @type {import('./dom.js').Form} */ ($('budget-form'));
  const b = (store.governance?.budgets ?? []).find(x => x.scope === scope);
  for (const field of ['daily_usd', 'monthly_usd', 'daily_tokens', 'monthly_tokens'])
    form.elements[field].value = b?.[field] ?? '';
  showProblem($('budget-error'), null);
}

function editBudget(scope) {
  budgetScopes();
  /** @type {HTMLSelectElement} */ ($('budget-scope')).value = scope;
  fillBudget(scope);
  /** @type {HTMLDetailsElement} */ ($('budget-box')).open = true;
  /** @type {import('./dom.js').Form} */ ($('budget-form')).elements.daily_usd.focus();
}

export function wireGovernance() {
  const confirmBox = /** @type {import('./dom.js').Form} */ ($('halt-confirm'));
  $('halt-all').addEventListener('click', () => {
    confirmBox.hidden = false;
    confirmBox.elements.reason.focus();
  });
  $('halt-cancel').addEventListener('click', () => { confirmBox.hidden = true; confirmBox.reset(); });
  confirmBox.addEventListener('submit', async event => {
    event.preventDefault();
    const reason = confirmBox.elements.reason.value.trim();
    const ok = await act($('halt-confirm-button'), 'halting…',
      { method: 'POST', url: '/api/governance/halt', body: reason ? { reason } : {} }, 'hive halted',
      message => showError($('governance-error'), `halt: ${message}`));
    if (ok) { confirmBox.hidden = true; confirmBox.reset(); showError($('governance-error'), null); }
  });
  const resume = button => act(button, 'resuming…', { method: 'POST', url: '/api/governance/resume' }, 'hive resumed',
    message => showError($('governance-error'), `resume: ${message}`));
  $('resume-all').addEventListener('click', event => resume(event.currentTarget));
  $('banner-resume').addEventListener('click', event => resume(event.currentTarget));

  const form = /** @type {import('./dom.js').Form} */ ($('budget-form'));
  const budgetBox = /** @type {HTMLDetailsElement} */ ($('budget-box'));
  budgetBox.addEventListener('toggle', () => { if (budgetBox.open) { budgetScopes(); fillBudget(form.elements.scope.value); } });
  form.elements.scope.addEventListener('change', () => fillBudget(form.elements.scope.value));
  form.addEventListener('submit', async event => {
    event.preventDefault();
    const show = (text, problem, status) => showProblem($('budget-error'), text, problem, status);
    show(null);
    const scope = form.elements.scope.value;
    const body = {};
    for (const field of ['daily_usd', 'monthly_usd', 'daily_tokens', 'monthly_tokens']) {
      const text = form.elements[field].value.trim();
      body[field] = text === '' ? null : Number(text);
    }
    await act($('budget-button'), 'saving…', { method: 'PUT', url: `/api/governance/budgets/${path(scope)}`, body },
      `budget for ${scope === '*' ? 'the whole hive' : scope} saved`, show);
  });
}

// @ts-check
// The page's state: filled once from /api/state, then changed only by events from /api/events.

export const store = {
  seq: 0,
  agents: new Map(),      // name -> agent row
  tombstones: [],         // destroyed agents whose state dir is kept: {name, destroyed_at, bytes, retention: {state, due_at, reason, checked_at}}
  tombstoneRetention: null, // {retain_days (null: off), next_sweep_at, total_bytes}
  secrets: [],            // the operator's secrets: {name, updated_at}, never a value
  messages: [],           // newest first
  inbox: [],              // newest first
  questions: { pending: [], answered: [] },
  questionsForOperator: 0, // open questions to the operator, shown or not (the header and the title count them)
  reminders: new Map(),   // id -> reminder: the snapshot's soonest, then every one scheduled live
  remindersTotal: 0,      // every pending reminder, shown or not (the snapshot is bounded)
  recurring: new Map(),   // id -> recurring reminder (each with its next runs and latest runs)
  historyExhausted: false,
  approvals: [],          // pending, newest first
  decided: [],            // approvals decided while this page was open, newest decision first (a few)
  meta: { inputs: null, log: null }, // GET /api/meta, loaded when its section is opened; inputs also from events
  gateway: null,          // {providers: [{name, protocol, upstream_host, in_flight, slots, waiting, limits}]}: /api/state, then provider_limits
  governance: null,       // GET /api/governance's object (slots, running, queue, circuits, budgets, halted); null: not governed
  interventions: null,    // GET /api/interventions, the last few, newest first; null: not loaded yet (not in /api/state)
  notifications: null,    // GET /api/notifications: the push channels and their state; null: not loaded yet (not in /api/state)
  // The board: workflows (columns), refused files, open tickets by id; done ones (the terminal columns: fetched per
  // workflow, GET /api/tickets?done=true, then followed live) by id, and the workflows whose done ones were fetched.
  // queue: GET /api/merge-queue's view ({entries, batches, steps, paused}), read again after each merge_queue event.
  work: { workflows: [], errors: [], tickets: new Map(), done: new Map(), doneFetched: new Set(), risks: new Map(), queue: null },
  leases: [],             // every live lease: {resource, holder, exclusive, reason, acquired_at, expires_at}
  constellation: null,    // GET /api/constellation's object: {enabled, name, status, hives, dead_letters}; then followed live
};

/** How many decided approvals the page keeps to show under "recently decided". */
const RecentlyDecided = 10;

export function load(state) {
  store.seq = state.seq;
  store.agents = new Map(state.agents.map(a => [a.name, a]));
  store.tombstones = state.tombstones ?? [];
  store.tombstoneRetention = state.tombstone_retention ?? null;
  store.secrets = state.secrets ?? [];
  store.messages = state.messages ?? [];
  store.retainDays = state.message_retention?.days ?? null;
  store.inbox = state.inbox ?? [];
  store.questions = state.questions ?? { pending: [], answered: [] };
  // The snapshot lists at most N of each; the totals count the rest, and events keep them current.
  store.questions.pending_total ??= store.questions.pending.length;
  store.questionsForOperator = state.questions_for_operator ?? store.questions.pending.filter(q => q.target == null).length;
  store.reminders = new Map((state.reminders ?? []).map(r => [r.id, r]));
  store.remindersTotal = state.reminders_total ?? store.reminders.size;
  store.recurring = new Map((state.recurring_reminders ?? []).map(r => [r.id, r]));
  store.historyExhausted = false;
  store.approvals = [...(state.approvals ?? [])].sort((a, b) => b.id - a.id);
  store.governance = state.governance ?? null;
  store.gateway = state.gateway ?? null;
  store.work = {
    workflows: state.work?.workflows ?? [],
    errors: state.work?.workflow_errors ?? [],
    tickets: new Map((state.work?.tickets ?? []).map(t => [t.id, t])),
    done: new Map(),
    doneFetched: new Set(),
    // The conflict radar's open risks by id (conflict_risk adds, changes, and with cleared_at removes one).
    risks: new Map((state.work?.risks ?? []).map(r => [r.id, r])),
    queue: state.work?.queue ?? null,
  };
  store.leases = state.leases ?? [];
  store.constellation = state.constellation ?? null;
}

function upsertById(list, item) {
  const index = list.findIndex(m => m.id === item.id);
  if (index >= 0) list[index] = { ...list[index], ...item };
  else {
    list.unshift(item);
    list.sort((a, b) => b.id - a.id);
  }
}

// A feature's fact about an agent the page does not list (one removed meanwhile) changes nothing: only the
// directory's own events add or drop rows, so a late event cannot bring a removed agent back.
function setAgent(name, fields) {
  const agent = store.agents.get(name);
  if (agent) Object.assign(agent, fields);
}

function waiting(e) {
  setAgent(e.asker, { waiting_on: e.waiting_on, waiting_since: e.waiting_since, open_questions: e.asker_open_questions });
  if (e.target != null && e.target_open_questions != null) setAgent(e.target, { open_questions: e.target_open_questions });
}

function question(e) {
  const { waiting_on, waiting_since, ...q } = e;
  return q;
}

/** Applies one event; returns the sections that changed. */
export const apply = {
  container_state_changed(e) {
    // The whole row, as /api/state shows it: a name the page does not know yet is a new agent.
    const known = store.agents.has(e.agent.name);
    store.agents.set(e.agent.name, { ...store.agents.get(e.agent.name), ...e.agent });
    return known ? ['swarm', 'governance-usage'] : ['swarm', 'meta-log', 'governance-usage']; // a spawn is a meta commit
  },
  container_removed(e) {
    store.agents.delete(e.name);
    return ['swarm', 'meta-log', 'governance-usage']; // so is a destroy
  },
  secrets_changed(e) {
    store.secrets = e.secrets ?? [];
    return ['secrets'];
  },
  constellation_hive_changed(e) {
    if (!store.constellation?.enabled) return [];
    const hives = store.constellation.hives.filter(h => h.name !== e.hive.name);
    store.constellation.hives = [...hives, e.hive].sort((a, b) => (a.name < b.name ? -1 : 1));
    return ['constellation'];
  },
  constellation_status_changed(e) {
    if (!store.constellation?.enabled) return [];
    store.constellation.status = e.status;
    return ['constellation'];
  },
  tombstones_changed(e) {
    // The whole list every time: replace, never diff.
    store.tombstones = e.tombstones ?? [];
    store.tombstoneRetention = e.retention ?? store.tombstoneRetention;
    return ['tombstones'];
  },
  sent(m) {
    upsertById(store.messages, m);
    if (m.to === 'operator') upsertById(store.inbox, m);
    return ['flow', 'inbox'];
  },
  delivered(m) {
    upsertById(store.messages, m);
    return ['flow'];
  },
  message_undeliverable(m) {
    upsertById(store.messages, m);
    return ['flow'];
  },
  question_added(e) {
    if (!store.questions.pending.some(q => q.id === e.id)) {
      store.questions.pending.push(question(e));
      store.questions.pending_total++;
      if (e.target == null) store.questionsForOperator++;
    }
    waiting(e);
    return ['questions', 'swarm', 'waiting'];
  },
  question_resolved(e) {
    store.questions.pending = store.questions.pending.filter(q => q.id !== e.id);
    store.questions.pending_total = Math.max(0, store.questions.pending_total - 1);
    if (e.target == null) store.questionsForOperator = Math.max(0, store.questionsForOperator - 1);
    store.questions.answered = [question(e), ...store.questions.answered.filter(q => q.id !== e.id)];
    waiting(e);
    return ['questions', 'swarm', 'waiting'];
  },
  reminder_scheduled(e) {
    if (!store.reminders.has(e.reminder.id)) store.remindersTotal++;
    store.reminders.set(e.reminder.id, e.reminder);
    setAgent(e.agent, { pending_reminders: e.pending_reminders });
    return ['reminders', 'swarm'];
  },
  reminder_reset(e) {
    store.reminders.set(e.reminder.id, e.reminder);
    return ['reminders'];
  },
  reminder_failed(e) {
    const r = store.reminders.get(e.id);
    if (r) Object.assign(r, { attempt_count: e.attempt_count, last_error: e.last_error });
    return ['reminders'];
  },
  reminder_delivered(e) {
    store.reminders.delete(e.id);
    store.remindersTotal = Math.max(0, store.remindersTotal - 1);
    setAgent(e.agent, { pending_reminders: e.pending_reminders });
    return ['reminders', 'swarm'];
  },
  approval_added(e) {
    const a = e.approval;
    if (a.status === 'pending' && !store.approvals.some(x => x.id === a.id)) {
      store.approvals.push(a);
      store.approvals.sort((x, y) => y.id - x.id);
    }
    return ['approvals', 'waiting'];
  },
  approval_resolved(e) {
    const a = e.approval;
    store.approvals = store.approvals.filter(x => x.id !== a.id);
    store.decided = [a, ...store.decided.filter(x => x.id !== a.id)].slice(0, RecentlyDecided);
    // An approved spawn, destroy or config change is a commit in the meta repo: an open meta section reloads its log.
    return a.status === 'approved' ? ['approvals', 'waiting', 'meta-log'] : ['approvals', 'waiting'];
  },
  meta_committed() {
    return ['meta-log']; // main of the meta repo moved: an open meta section reloads its log
  },
  meta_inputs_changed(e) {
    // The whole list every time: replace, never diff.
    store.meta.inputs = e.inputs ?? [];
    return ['meta', 'meta-log'];
  },
  forge_account_changed(e) {
    setAgent(e.agent, { forge: e.forge });
    return ['swarm'];
  },
  turn_recorded(e) {
    // The event carries the agent's new figures, as its row has them: the row and its sparkline follow without a refetch.
    const { turns_24h, tokens_24h, last_turn_at, last_result, tokens_by_hour, turns_by_hour, aggregated_at } = e;
    setAgent(e.agent, { turns_24h, tokens_24h, last_turn_at, last_result, tokens_by_hour, turns_by_hour, aggregated_at });
    return ['swarm', 'governance-refresh']; // a turn's cost counts against the budgets (with a turn_id or without)
  },
  // Governance: each event says something changed; the section reloads the whole object (GET /api/governance, one
  // request at a time). Halt and resume change the banner at once from the event itself. The rows' held and paused come
  // with container_state_changed; a turn held for a reason of its own (not a full house) shows on its row at once, and a
  // granted turn is held no longer.
  turn_granted(e) {
    setAgent(e.turn?.agent, { held: null });
    return ['swarm', 'governance-refresh'];
  },
  turn_ended: () => ['governance-refresh'],
  turn_held(e) {
    if (e.reason !== 'queued') setAgent(e.agent, { held: { reason: e.reason, until: e.until ?? null } });
    return ['swarm', 'governance-refresh'];
  },
  budget_warning: () => ['governance-refresh'],
  budget_exceeded: () => ['governance-refresh'],
  budget_changed: () => ['governance-refresh'],
  quota_circuit_changed: () => ['governance-refresh'],
  agent_quota_held: () => ['governance-refresh'], // a hold set, or (until null) run out
  agent_paused: () => ['governance-refresh'],
  agent_resumed: () => ['governance-refresh'],
  hive_halted(e) {
    if (store.governance) store.governance.halted = { by: e.by, since: e.since, reason: e.reason ?? null };
    return ['governance', 'governance-refresh'];
  },
  // The model gateway. model_call summarises an agent's calls of the last 2 s (pages that list calls reload theirs); its
  // `failing` keeps the count of the row's streak current, but only the streak's own events start or end one.
  model_call(e) {
    const f = store.agents.get(e.agent)?.model_calls_failing;
    if (!f || !e.failing || e.failing.since !== f.since || e.failing.count === f.count) return ['model-calls'];
    setAgent(e.agent, { model_calls_failing: e.failing });
    return ['swarm', 'model-calls'];
  },
  model_calls_failing(e) {
    setAgent(e.agent, { model_calls_failing: e.failing ? e.streak : null });
    return ['swarm'];
  },
  call_recording_changed(e) {
    setAgent(e.agent, { calls_recorded: e.recording });
    return ['swarm'];
  },
  provider_limits(e) {
    if (!store.gateway) store.gateway = { providers: [] };
    store.gateway.providers = [...store.gateway.providers.filter(p => p.name !== e.provider.name), e.provider]
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return ['gateway'];
  },
  // Sent only when a running agent's figures moved past a threshold: the row's meter and the hive's totals follow.
  agent_usage(e) {
    const { memory_mib, cpu_percent, pids } = e;
    setAgent(e.agent, { usage: { memory_mib, cpu_percent, pids, at: new Date().toISOString() } });
    return ['swarm', 'governance-usage'];
  },
  // Not in the snapshot: the section reloads its list (GET /api/interventions, one request at a time, one more queued).
  intervention_recorded: () => ['interventions-refresh'],
  notification_channel_changed: () => ['channels-refresh'],
  hive_resumed() {
    if (store.governance) store.governance.halted = null;
    return ['governance', 'governance-refresh'];
  },
  // The board: a ticket's whole view (a done one leaves the board), the workflows as a whole list, the leases as changes.
  ticket_changed(e) {
    const ticket = e.ticket;
    if (ticket.done) {
      store.work.tickets.delete(ticket.id);
      store.work.done.set(ticket.id, ticket);
    } else {
      store.work.tickets.set(ticket.id, ticket);
      store.work.done.delete(ticket.id);
    }
    return ['board', 'board-ticket'];
  },
  conflict_risk(e) {
    if (e.risk.cleared_at) store.work.risks.delete(e.risk.id);
    else store.work.risks.set(e.risk.id, e.risk);
    return ['board'];
  },
  // A step of a merge queue: the view is read again (the step alone does not say where every ticket stands).
  merge_queue() {
    return ['board-queue-refresh'];
  },
  workflows_changed(e) {
    store.work.workflows = e.workflows ?? [];
    store.work.errors = e.errors ?? [];
    return ['board'];
  },
  leases_changed(e) {
    const key = l => `${l.holder}\u0000${l.resource}`;
    const gone = new Set([...(e.ended ?? []), ...(e.leases ?? [])].map(key));
    store.leases = [...store.leases.filter(l => !gone.has(key(l))), ...(e.leases ?? [])]
      .sort((a, b) => a.resource.localeCompare(b.resource) || a.holder.localeCompare(b.holder));
    return ['board-leases'];
  },
  reminder_cancelled(e) {
    store.reminders.delete(e.id);
    store.remindersTotal = Math.max(0, store.remindersTotal - 1);
    setAgent(e.agent, { pending_reminders: e.pending_reminders });
    return ['reminders', 'swarm'];
  },
  recurring_reminder_changed(e) {
    store.recurring.set(e.recurring.id, e.recurring);
    return ['reminders'];
  },
  recurring_reminder_cancelled(e) {
    store.recurring.delete(e.id);
    return ['reminders'];
  },
};

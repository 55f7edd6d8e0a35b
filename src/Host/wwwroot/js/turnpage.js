// @ts-check
import { h, clock, relative, duration as ms } from './dom.js';
import { jsonBody, problemText, unanswered, showError } from './problems.js';
import { coalesced } from './reload.js';
import { act } from './actions.js';
import { diff } from './approvals.js';
import { amount } from './gateway.js';
import { part } from './calls.js';

// The agent page's turns (GET /api/turns/{id}). A turn chosen in "Model calls" (?turn=N) is shown whole: the messages
// that woke it, each model call with its answer as a person reads it, the tool calls with their results (the hive's own
// tools marked), cost and time, its replays, and "Replay" and "Fork here". A replay agent's page shows its turn beside
// the original's, the call where it diverged marked on both sides with what differs, and the hive verbs it called
// (captured, never carried out) beside those of the original. Model text is only ever put in as text, never as HTML.

const $ = id => document.getElementById(id);
const usd = v => (v == null ? '–' : `$${Number(v).toFixed(v < 1 ? 4 : 2)}`);
const agentLink = (agent, turn = null) =>
  h('a', { href: `/agents/${encodeURIComponent(agent)}${turn != null ? `?turn=${turn}` : ''}`, class: 'agent-link' }, agent);

async function fetchJson(url) {
  const response = await fetch(url);
  const body = await jsonBody(response);
  if (!response.ok) throw new Error(problemText(body, response.status));
  return body;
}

/** The differences of a divergence: each path with the recorded and replayed value, a differing text as its lines. */
export function differences(divergence) {
  return h('div', { class: 'differences' },
    h('p', { class: 'divergence-head' }, `Diverged at call ${divergence.call} (compared with recorded call #${divergence.recorded_call_id}):`),
    h('ul', {}, ...divergence.differences.map(d => h('li', { class: 'difference', dataset: { path: d.path } },
      h('code', { class: 'path' }, d.path),
      d.lines ? diff(d.lines.join('\n'))
        : h('div', {}, h('div', { class: 'recorded' }, 'recorded: ', h('code', {}, d.recorded ?? '(absent)')),
          h('div', { class: 'replayed' }, 'replayed: ', h('code', {}, d.replayed ?? '(absent)')))))));
}

/**
 * One turn as nodes: what woke it, its calls (the one at `marked`, counted from 1, marked as where a replay diverged),
 * its tool calls and, for a replay, the hive verbs it called (captured).
 */
export function turnBody(view, { marked = null, captured = null } = {}) {
  const ended = view.ended_at ? `ended ${view.end_reason ?? ''}` : 'running';
  const hiveCalls = view.tool_calls.filter(t => t.hive);
  return h('div', { class: 'turn-body', dataset: { turn: view.id } },
    h('p', { class: 'meta turn-facts' }, `granted ${clock(view.granted_at)} · ${ended} · took ${ms(view.duration_ms)} · cost ${usd(view.cost_usd)} · `,
      `${view.calls.length} call${view.calls.length === 1 ? '' : 's'}`),
    h('h4', {}, 'Woken by'),
    view.wake == null ? h('p', { class: 'empty' }, 'Not known: its calls were not recorded when it ran.')
      : view.wake.length === 0 ? h('p', { class: 'empty' }, 'No message (a turn of its own).')
        : h('ol', { class: 'wake' }, ...view.wake.map(m => h('li', { class: 'wake-message' }, h('span', { class: 'meta' }, `${m.from} (${m.kind}): `), h('span', { class: 'body' }, m.body)))),
    h('h4', {}, 'Model calls'),
    view.calls.length === 0 ? h('p', { class: 'empty' }, 'None through the gateway.')
      : h('ol', { class: 'turn-calls' }, ...view.calls.map((c, i) => {
        const call = c.call;
        const tokens = call.input_tokens + call.output_tokens + call.cache_read_tokens + call.cache_write_tokens;
        const diverged = marked === i + 1;
        return h('li', { class: `turn-call state-${call.state}${diverged ? ' diverged' : ''}`, dataset: { id: call.id, state: call.state } },
          h('div', { class: 'meta' }, `#${call.id} · ${call.model ?? '–'} · ${call.state}${call.status != null ? ` ${call.status}` : ''} · ${amount(tokens)} tokens · ${ms(call.duration_ms)}`,
            diverged && h('strong', { class: 'diverged-mark' }, ' · diverged here')),
          call.error && h('p', { class: 'error' }, call.error),
          c.answer ? h('div', { class: 'answer' }, ...(c.answer.parts ?? []).map(part)) : h('p', { class: 'empty' }, 'No answer recorded.'));
      })),
    h('h4', {}, 'Tool calls'),
    view.tool_calls.length === 0 ? h('p', { class: 'empty' }, 'None.')
      : h('ol', { class: 'tool-calls' }, ...view.tool_calls.map(t => h('li', { class: `tool-call${t.hive ? ' hive' : ''}`, dataset: { call: t.call_id } },
        h('div', { class: 'meta' }, t.name ?? '(unnamed)', t.hive ? ' · the hive\'s' : ''),
        h('pre', { class: 'input' }, t.input), h('pre', { class: 'result' }, t.result ?? '(no result came back in this turn)')))),
    captured ? [h('h4', {}, 'Hive verbs it called (captured, not carried out)'),
      captured.length === 0 ? h('p', { class: 'empty' }, 'None.')
        : h('ol', { class: 'captured' }, ...captured.map(v => h('li', { class: 'captured-verb', dataset: { verb: v.verb } },
          h('span', { class: 'meta' }, `${v.verb} `), h('code', {}, JSON.stringify(v.args)))))]
      : [h('h4', {}, 'Hive tools it called'),
        hiveCalls.length === 0 ? h('p', { class: 'empty' }, 'None through its model\'s tool calls.')
          : h('ol', { class: 'hive-calls' }, ...hiveCalls.map(t => h('li', {}, h('span', { class: 'meta' }, `${t.name} `), h('code', {}, t.input))))]);
}

/** A replay in a turn's list: who ran it, how far it got, where it diverged. */
function replayLine(r) {
  return h('li', { class: `replay state-${r.state}`, dataset: { id: r.id, state: r.state } },
    `replay #${r.id} by `, agentLink(r.agent), `: ${r.state} · ${r.calls_replayed} of ${r.calls_recorded} calls from the recording`,
    r.divergence ? ` · diverged at call ${r.divergence.call}` : '', r.note ? ` · ${r.note}` : '');
}

export function turnPanel(name) {
  const api = id => `/api/turns/${id}`;
  let turn = null;

  function replayForm(view) {
    const mode = h('select', { name: 'on_divergence', 'aria-label': 'at a divergence' },
      h('option', { value: 'stop' }, 'stop at a divergence'), h('option', { value: 'live' }, 'go on live at a divergence'));
    const button = h('button', { type: 'button', class: 'replay-turn', disabled: !!view.not_replayable }, 'Replay');
    button.addEventListener('click', () => act(button, 'starting…', { method: 'POST', url: `${api(view.id)}/replay`, body: { on_divergence: mode.value } },
      async response => `replaying turn #${view.id} as ${(await jsonBody(response))?.agent}`).then(() => reload()));
    return h('span', { class: 'replay-form' }, button, ' ', mode,
      view.not_replayable && h('span', { class: 'meta not-replayable' }, ` cannot be replayed: ${view.not_replayable}`));
  }

  function forkForm(view) {
    const error = h('p', { class: 'error fork-error', role: 'alert', hidden: true });
    const made = h('p', { class: 'meta fork-made', hidden: true });
    const form = h('form', { class: 'fork', autocomplete: 'off' },
      h('label', {}, 'Model for its next turn ', h('input', { name: 'model', maxlength: 120, placeholder: 'as before' })),
      h('label', {}, 'Message ', h('input', { name: 'message', maxlength: 4000, placeholder: 'what woke the next turn' })),
      h('label', {}, 'Name ', h('input', { name: 'name', maxlength: 64, placeholder: `${view.agent}-fork-${view.id}` })),
      h('button', { type: 'submit', class: 'fork-turn' }, 'Fork here'), error, made);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const value = key => /** @type {HTMLInputElement} */ (form.querySelector(`[name=${key}]`)).value.trim() || undefined;
      showError(error, null);
      let agent = null;
      await act(/** @type {HTMLButtonElement} */ (form.querySelector('button')), 'forking…',
        { method: 'POST', url: `/api/agents/${encodeURIComponent(view.agent)}/fork`, body: { at_turn: view.id, model: value('model'), message: value('message'), name: value('name') } },
        async response => { agent = (await jsonBody(response))?.agent; return `forked turn #${view.id} as ${agent}`; },
        message => showError(error, message));
      if (agent) { made.hidden = false; made.replaceChildren('Forked: ', agentLink(agent)); }
    });
    return h('details', { class: 'fork-here' }, h('summary', {}, 'Fork here'), form);
  }

  function draw(view) {
    const of = view.replay_of ?? view.fork_of;
    // h() drops the parts that are false (replaceChildren would print them).
    $('ap-turn').replaceChildren(...h('div', {},
      h('h3', {}, `Turn #${view.id} `, h('span', { class: 'meta' }, h('span', { class: 'ago', title: view.granted_at }, relative(view.granted_at)))),
      of && h('p', { class: 'meta' }, view.replay_of ? 'a replay of ' : 'a fork of ', agentLink(of.agent, of.turn), `'s turn #${of.turn}`),
      !view.replay_of && h('div', { class: 'actions turn-actions' }, replayForm(view), forkForm(view)),
      view.replays.length > 0 && [h('h4', {}, 'Its replays'), h('ul', { class: 'replays' }, ...view.replays.map(replayLine))],
      turnBody(view)).childNodes);
  }

  const reload = coalesced(async () => {
    const id = turn;
    $('ap-turn-panel').hidden = id == null;
    if (id == null) return;
    try {
      const view = await fetchJson(api(id));
      if (turn !== id) return;
      showError($('ap-turn-error'), null);
      draw(view);
    } catch (error) {
      $('ap-turn').replaceChildren();
      showError($('ap-turn-error'), `could not load turn #${id}: ${error instanceof Error ? error.message : unanswered(error)}`);
    }
  });

  return {
    show(id) { turn = id; reload(); },
    /** A replay of the shown turn got further. */
    replayChanged(replay) { if (turn != null && replay.source_turn === turn) reload(); },
  };
}

/** A replay agent's page: its turn beside the original's, the divergence marked on both. */
export function replayBeside(name) {
  let replayId = null;

  const reload = coalesced(async () => {
    if (replayId == null) return;
    try {
      const replay = await fetchJson(`/api/replays/${replayId}`);
      const [original, own] = await Promise.all([fetchJson(`/api/turns/${replay.source_turn}`), replay.turn != null ? fetchJson(`/api/turns/${replay.turn}`) : null]);
      showError($('ap-replay-error'), null);
      const divergence = replay.divergence;
      const recordedAt = divergence ? original.calls.findIndex(c => c.call.id === divergence.recorded_call_id) + 1 : null;
      $('ap-replay-state').textContent = `${replay.state} · ${replay.calls_replayed} of ${replay.calls_recorded} calls answered from the recording`
        + `${replay.on_divergence === 'live' ? ' · goes on live at a divergence' : ''}${replay.note ? ` · ${replay.note}` : ''}`;
      $('ap-replay').dataset.state = replay.state;
      $('ap-replay-differences').replaceChildren(...(divergence ? [differences(divergence)] : []));
      $('ap-replay-original').replaceChildren(
        h('h3', {}, 'The original: ', agentLink(replay.source_agent, replay.source_turn), `'s turn #${replay.source_turn}`),
        turnBody(original, { marked: recordedAt || null }));
      $('ap-replay-own').replaceChildren(
        h('h3', {}, `This replay${replay.turn != null ? `: turn #${replay.turn}` : ''}`),
        own ? turnBody(own, { marked: divergence?.call ?? null, captured: replay.captured })
          : h('p', { class: 'empty' }, 'It has not called its model yet.'));
    } catch (error) {
      showError($('ap-replay-error'), `could not load the replay: ${error instanceof Error ? error.message : unanswered(error)}`);
    }
  });

  return {
    /** From its row: the replay it runs (null: not a replay agent). */
    row(a) {
      const id = a?.replay_of?.replay ?? null;
      $('ap-replay-panel').hidden = id == null;
      if (id !== replayId) { replayId = id; reload(); }
    },
    replayChanged(replay) { if (replay.id === replayId) reload(); },
    /** One of its own calls was booked (the turn on its side grew). */
    reload,
  };
}

// @ts-check
import { h, renderList, clock, relative, duration as ms } from './dom.js';
import { jsonBody, problemText, unanswered, showError } from './problems.js';
import { coalesced } from './reload.js';
import { amount } from './gateway.js';

// The agent page's "Model calls": its calls through the gateway, newest first (GET /api/agents/{name}/calls), or one
// granted turn's (?turn=N: the turns its calls belong to are listed as links, and the governance section's running
// turns link here); opening one shows it as a person reads it (GET /api/calls/{id}'s `readable`: the system prompt's
// start, the conversation's last messages with each part, the answer), with the raw request and response one toggle
// away. Reloaded when a `model_call` of this agent arrives. Model text is only ever put in as text, never as HTML.

const $ = id => document.getElementById(id);
const usd = v => (v == null ? '–' : `$${Number(v).toFixed(v < 1 ? 4 : 2)}`);

/** One part of a message (text, a tool call, a tool result, ...) as a person reads it; its text as text. */
export function part(p) {
  const label = p.kind === 'tool_use' ? `tool call ${p.name ?? ''}` : p.kind === 'tool_result' ? `tool result${p.name === 'error' ? ' (error)' : ''}` : p.kind;
  return h('div', { class: `part part-${p.kind}`, dataset: { kind: p.kind } },
    h('span', { class: 'kind' }, label), h('pre', { class: 'text' }, p.text ?? ''));
}

/** `onTurn(id)` hears the turn chosen (null: all calls), as the page opens and on each choice. */
export function modelCalls(name, onTurn = id => {}) {
  const api = `/api/agents/${encodeURIComponent(name)}/calls`;
  let turn = Number(new URLSearchParams(location.search).get('turn')) || null;
  const turns = new Map(); // turn id -> calls seen of it (from the unfiltered list)
  let opened = null;

  function callRow(c) {
    const tokens = c.input_tokens + c.output_tokens + c.cache_read_tokens + c.cache_write_tokens;
    const open = h('button', { type: 'button', class: 'quiet open-call', title: 'read this call' }, `#${c.id}`);
    open.addEventListener('click', () => openCall(c.id));
    return h('tr', { class: `call state-${c.state}`, dataset: { id: c.id, state: c.state } },
      h('td', {}, open),
      h('td', { class: 'at', title: c.started_at }, clock(c.started_at)),
      h('td', { class: 'model' }, c.model ?? '–'),
      h('td', { class: 'tokens', title: `in ${c.input_tokens} · out ${c.output_tokens} · cache read ${c.cache_read_tokens} · cache write ${c.cache_write_tokens}` }, amount(tokens)),
      h('td', { class: 'cost' }, usd(c.cost_usd)),
      h('td', { class: 'first-byte' }, ms(c.first_byte_ms)),
      h('td', { class: 'duration' }, ms(c.duration_ms)),
      h('td', { class: 'status', title: c.error ?? '' }, `${c.state}${c.status != null ? ` ${c.status}` : ''}`),
      h('td', { class: 'turn' }, c.turn_id != null ? turnLink(c.turn_id, `#${c.turn_id}`) : '–'));
  }

  function turnLink(id, text) {
    const link = h('a', { href: `?turn=${id}`, class: 'turn-link', dataset: { turn: id } }, text);
    link.addEventListener('click', event => { event.preventDefault(); show(id); });
    return link;
  }

  function show(id) {
    turn = id;
    const url = new URL(location.href);
    if (id == null) url.searchParams.delete('turn');
    else url.searchParams.set('turn', String(id));
    history.replaceState(null, '', url);
    onTurn(id);
    reload();
  }

  function drawTurns() {
    const all = h('a', { href: '?', class: 'turn-link all', 'aria-current': turn == null ? 'true' : null }, 'all calls');
    all.addEventListener('click', event => { event.preventDefault(); show(null); });
    const ids = [...turns.keys()].sort((a, b) => b - a).slice(0, 12);
    if (turn != null && !turns.has(turn)) ids.unshift(turn);
    $('ap-call-turns').replaceChildren('Turns: ', all, ...ids.flatMap(id => {
      const link = turnLink(id, `turn #${id}`);
      if (id === turn) link.setAttribute('aria-current', 'true');
      link.title = turns.has(id) ? `${turns.get(id)} call${turns.get(id) === 1 ? '' : 's'} listed` : '';
      return [' ', link];
    }));
  }

  const reload = coalesced(async () => {
    try {
      const response = await fetch(turn == null ? api : `${api}?turn=${turn}&limit=500`);
      const body = await jsonBody(response);
      if (!response.ok) { showError($('ap-calls-error'), `could not load its model calls: ${problemText(body, response.status)}`); return; }
      showError($('ap-calls-error'), null);
      if (turn == null) {
        turns.clear();
        for (const c of body) if (c.turn_id != null) turns.set(c.turn_id, (turns.get(c.turn_id) ?? 0) + 1);
      }
      $('ap-calls-count').textContent = `(${body.length}${turn != null ? ` in turn #${turn}` : ''})`;
      $('ap-calls-empty').hidden = body.length > 0;
      $('ap-calls-table').hidden = body.length === 0;
      renderList($('ap-calls'), body, c => c.id, callRow, (_, c) => callRow(c));
      drawTurns();
    } catch (error) {
      showError($('ap-calls-error'), unanswered(error));
    }
  });

  function message(m, cls) {
    return h('li', { class: `message ${cls}`, dataset: { role: m.role } }, h('div', { class: 'role' }, m.role), ...(m.parts ?? []).map(part));
  }

  function drawCall(detail) {
    const c = detail.call;
    const r = detail.readable;
    const raw = h('div', { class: 'raw', hidden: true },
      h('h4', {}, 'Request'), h('pre', { class: 'raw-request' }, detail.request ?? '(not recorded)'),
      h('h4', {}, 'Response'), h('pre', { class: 'raw-response' }, detail.response ?? '(not recorded)'));
    const toggle = h('button', { type: 'button', class: 'quiet raw-toggle', 'aria-pressed': 'false' }, 'Raw request and response');
    toggle.addEventListener('click', () => {
      raw.hidden = !raw.hidden;
      readable.hidden = !raw.hidden;
      toggle.setAttribute('aria-pressed', String(!raw.hidden));
      toggle.textContent = raw.hidden ? 'Raw request and response' : 'As a person reads it';
    });
    const close = h('button', { type: 'button', class: 'quiet close-call' }, 'Close');
    close.addEventListener('click', () => { opened = null; $('ap-call').replaceChildren(); $('ap-call').hidden = true; });
    const readable = h('div', { class: 'readable' },
      !r && h('p', { class: 'empty' }, 'Its bodies were not recorded (or are gone: recordings are kept for a while only).'),
      r?.system && [h('h4', {}, 'System prompt'), h('pre', { class: 'system' }, r.system)],
      r && h('h4', {}, `Conversation: ${r.message_count} message${r.message_count === 1 ? '' : 's'}${r.message_count > (r.last_messages ?? []).length ? `, the last ${(r.last_messages ?? []).length}` : ''}`),
      r && h('ol', { class: 'messages' }, ...(r.last_messages ?? []).map(m => message(m, 'asked'))),
      r && h('h4', {}, `Answer${r.stop_reason ? ` (${r.stop_reason})` : ''}`),
      r && (r.answer ? h('ol', { class: 'messages answer' }, message(r.answer, 'answered')) : h('p', { class: 'empty' }, 'No answer.')));
    $('ap-call').hidden = false;
    $('ap-call').replaceChildren(
      h('h3', {}, `Call #${c.id} `, h('span', { class: 'meta' }, `${c.model ?? ''} · ${c.state}${c.status != null ? ` ${c.status}` : ''} · `,
        h('span', { class: 'ago', title: c.started_at }, relative(c.started_at)))),
      c.error && h('p', { class: 'error call-error' }, c.error),
      h('p', { class: 'actions' }, toggle, ' ', close),
      readable, raw);
  }

  async function openCall(id) {
    opened = id;
    try {
      const response = await fetch(`/api/calls/${id}`);
      const body = await jsonBody(response);
      if (opened !== id) return;
      if (!response.ok) { showError($('ap-calls-error'), `could not open call #${id}: ${problemText(body, response.status)}`); return; }
      showError($('ap-calls-error'), null);
      drawCall(body);
    } catch (error) {
      showError($('ap-calls-error'), unanswered(error));
    }
  }

  return { reload, turnShown: () => turn };
}

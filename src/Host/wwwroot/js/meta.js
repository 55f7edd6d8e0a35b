// @ts-check
import { h, renderList, relative } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';
import { jsonBody, problemText, unanswered, showError } from './problems.js';

// Configuration history: the meta repo's pinned inputs and recent commits, loaded when the section is opened and on "Refresh".

const $ = id => document.getElementById(id);

/** Pins are commit ids or hashes: the first 12 characters say enough (the whole pin is the title). */
const short = (pin, n = 12) => (pin && pin.length > n + 2 ? pin.slice(0, n) : pin ?? 'unpinned');

export function meta() {
  const { inputs, log } = store.meta;
  $('meta-inputs-empty').hidden = inputs === null || inputs.length > 0;
  renderList($('meta-inputs'), inputs ?? [], i => i.name, inputRow, (_, i) => inputRow(i));
  $('meta-log-empty').hidden = log === null || log.length > 0;
  renderList($('meta-log'), log ?? [], c => c.id, commitRow, (_, c) => commitRow(c));
}

function inputRow(i) {
  return h('li', { class: 'meta-input', dataset: { input: i.name } },
    h('span', { class: 'who' }, i.name), ' ',
    h('code', { class: 'pin', title: i.pin ?? 'not pinned yet' }, short(i.pin)),
    h('div', { class: 'meta source' }, i.source));
}

function commitRow(c) {
  return h('li', { class: 'commit', dataset: { commit: c.id } },
    h('code', { class: 'sha', title: c.id }, c.id.slice(0, 7)), ' ',
    h('span', { class: 'message' }, c.message), ' ',
    h('span', { class: 'meta ago', title: c.at }, relative(c.at)));
}

let loading = null;

/** GET /api/meta into the store (one request at a time; a request asked for meanwhile runs after it). */
async function loadMeta() {
  if (loading) { loading.again = true; return loading.done; }
  const state = { again: false };
  loading = state;
  state.done = (async () => {
    const refresh = /** @type {HTMLButtonElement} */ ($('meta-refresh'));
    refresh.disabled = true;
    try {
      do {
        state.again = false;
        const response = await fetch('/api/meta');
        const body = await jsonBody(response);
        if (!response.ok) {
          showMetaError(`could not load the configuration history: ${problemText(body, response.status)}`);
          return;
        }
        store.meta = { inputs: body.inputs ?? [], log: body.log ?? [] };
        showMetaError(null);
        meta();
      } while (state.again);
    } catch (error) {
      showMetaError(unanswered(error));
    } finally {
      refresh.disabled = false;
      loading = null;
    }
  })();
  return state.done;
}

function showMetaError(text) {
  showError($('meta-error'), text);
}

let staleTimer = null;

/** Something that commits to the meta repo happened: an open section reloads its log (a burst of events, once). */
export function metaStale() {
  if (!/** @type {HTMLDetailsElement} */ ($('meta-box')).open) return; // opening it loads it
  clearTimeout(staleTimer);
  staleTimer = setTimeout(loadMeta, 250);
}

export function wireMeta() {
  const box = /** @type {HTMLDetailsElement} */ ($('meta-box'));
  box.addEventListener('toggle', () => { if (box.open) loadMeta(); });
  $('meta-refresh').addEventListener('click', loadMeta);
  const update = $('meta-update');
  const result = $('meta-update-result');
  update.addEventListener('click', () => {
    result.hidden = true;
    showMetaError(null);
    act(update, 'updating…', { method: 'POST', url: '/api/meta/update' }, async response => {
      const body = (response.headers.get('content-type') ?? '').includes('json') ? await response.json().catch(() => null) : null;
      if (Array.isArray(body?.inputs)) { store.meta.inputs = body.inputs; meta(); }
      const changed = Array.isArray(body?.changed) ? body.changed : null;
      result.textContent = changed ? (changed.length ? `Updated: ${changed.join(', ')}` : 'Every input was already up to date.')
        : `Inputs updated (${response.status}).`;
      result.hidden = false;
      return 'pinned inputs updated';
    }, message => showMetaError(`update pinned inputs: ${message}`));
  });
}

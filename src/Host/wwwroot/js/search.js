// @ts-check
import { h, append, relative } from './dom.js';
import { jsonBody, problemText, unanswered } from './problems.js';

// Full-text search (GET /api/search): one box builder for the Search panel and for each agent's row (that one fixed to
// the agent). A snippet comes as parts {text, hit}: hits become <mark> elements and everything is a text node, never HTML.

/** A search form with its results; `agent` set: only texts written by or to that agent. */
export function searchBox({ agent = null, label = 'Search messages, questions and answers' } = {}) {
  const input = h('input', { type: 'search', name: 'q', class: 'search-q', maxlength: '200', required: true,
    placeholder: agent ? `words in ${agent}'s messages and questions` : 'words (all must appear; word* for a prefix)', 'aria-label': label });
  const kind = h('select', { name: 'kind', class: 'search-kind', 'aria-label': 'what to search' },
    h('option', { value: '' }, 'everything'), h('option', { value: 'message' }, 'messages'),
    h('option', { value: 'question' }, 'questions'), h('option', { value: 'answer' }, 'answers'),
    h('option', { value: 'transcript' }, 'transcripts'));
  const button = h('button', { type: 'submit', class: 'search-go' }, 'Search');
  const form = h('form', { class: 'search-form', role: 'search', autocomplete: 'off' }, input, ' ', kind, ' ', button);
  const status = h('p', { class: 'meta search-status', role: 'status' });
  const results = h('ul', { class: 'rows search-results' });
  const older = h('button', { type: 'button', class: 'quiet search-more', hidden: true }, 'More results');
  let current = null; // the query the list shows, and where its next page starts

  const load = async (before) => {
    const params = new URLSearchParams({ q: current.q, limit: '20' });
    if (agent) params.set('agent', agent);
    if (current.kind) params.set('kind', current.kind);
    if (before) params.set('before', String(before));
    button.disabled = older.disabled = true;
    try {
      const response = await fetch(`/api/search?${params}`);
      const body = await jsonBody(response);
      if (!response.ok) {
        status.classList.add('error');
        status.textContent = problemText(body, response.status);
        return;
      }
      status.classList.remove('error');
      if (!before) results.replaceChildren();
      append(results, body.results.map(hitRow));
      const shown = results.children.length;
      // The index is behind the sends: the page says when some texts are stored and not searchable yet.
      const behind = body.behind ? ` ${body.behind.texts} newer text${body.behind.texts === 1 ? ' is' : 's are'} not indexed yet (since ${relative(body.behind.since)}).` : '';
      status.textContent = (shown === 0 ? 'Nothing found.' : `${shown} found${body.next_before ? ', more below' : ''}.`) + behind;
      current.next = body.next_before;
      older.hidden = !body.next_before;
    } catch (error) {
      status.classList.add('error');
      status.textContent = unanswered(error);
    } finally {
      button.disabled = older.disabled = false;
    }
  };
  form.addEventListener('submit', event => {
    event.preventDefault();
    if (!input.value.trim()) return;
    current = { q: input.value, kind: kind.value };
    load(null);
  });
  older.addEventListener('click', () => { if (current?.next) load(current.next); });
  return h('div', { class: 'search' }, form, status, results, older);
}

const KindNames = { message: 'message', question: 'question', answer: 'answer', transcript: 'transcript' };

function hitRow(hit) {
  return h('li', { class: 'search-hit', dataset: { kind: hit.kind, ref: String(hit.ref) } },
    h('div', { class: 'meta' },
      h('span', { class: 'badge search-kind-badge' }, KindNames[hit.kind] ?? hit.kind), ' ',
      h('span', { class: 'who' }, hit.from), hit.to ? [' → ', h('span', { class: 'who' }, hit.to)] : null, ' · ',
      `#${hit.ref} · `, h('span', { class: 'ago', title: hit.at }, relative(hit.at))),
    h('div', { class: 'search-snippet' }, hit.snippet.map(part => part.hit ? h('mark', {}, part.text) : part.text)),
    h('button', { type: 'button', class: 'quiet search-show', onclick: event => show(hit, event.currentTarget) }, 'Show'));
}

/** Scrolls to the hit's row (the flow, the questions, the agent page's transcript) when the page has it loaded. */
function show(hit, button) {
  const row = hit.kind === 'message' ? document.querySelector(`#flow > li[data-key="${hit.ref}"]`)
    : hit.kind === 'transcript' ? document.querySelector(`#ap-transcript > li[data-id="${hit.ref}"]`)
    : document.querySelector(`#questions-pending > li[data-id="${hit.ref}"], #questions-answered > li[data-id="${hit.ref}"]`);
  if (!row) {
    button.textContent = hit.kind === 'message' && document.getElementById('flow') ? 'not in the loaded flow' : 'not on this page';
    button.disabled = true;
    return;
  }
  const box = row.closest('details');
  if (box) box.open = true;
  row.scrollIntoView({ block: 'center' });
  for (const earlier of document.querySelectorAll('li.found')) earlier.classList.remove('found');
  row.classList.add('found'); // until the next Show: the eye finds it after the scroll
}

/** The Search panel's box. */
export function wireSearch() {
  document.getElementById('search-box').append(searchBox());
}

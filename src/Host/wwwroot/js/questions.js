// @ts-check
import { h, renderList, relative, more } from './dom.js';
import { appendLinkified } from './linkify.js';
import { store } from './store.js';
import { act } from './actions.js';

const $ = id => document.getElementById(id);
let questionFilter = 'all';

// Questions: pending and answered, filter chips, answers and overrides, options, deadlines and cancel.
function matches(q) {
  switch (questionFilter) {
    case 'all': return true;
    case 'operator': return q.target === null;
    case 'peer': return q.target !== null;
    default: return q.asker === questionFilter || q.target === questionFilter;
  }
}

export function questions() {
  const { pending, answered } = store.questions;
  const participants = [...new Set([...pending, ...answered].flatMap(q => [q.asker, q.target]).filter(Boolean))].sort();
  const chips = [['all', 'All'], ['operator', 'For you'], ['peer', 'Between agents'], ...participants.map(p => [p, p])];
  if (!chips.some(([value]) => value === questionFilter)) questionFilter = 'all';
  $('question-filters').replaceChildren(...chips.map(([value, label]) =>
    h('button', { type: 'button', 'aria-pressed': String(value === questionFilter), dataset: { filter: value },
      onclick: () => { questionFilter = value; questions(); } }, label)));

  const open = pending.filter(matches);
  const total = Math.max(store.questions.pending_total ?? 0, pending.length);
  $('questions-count').textContent = `(${total} open)`;
  $('questions-empty').hidden = open.length > 0 || total > pending.length;
  more($('questions-more'), total - pending.length, 'open question');
  renderList($('questions-pending'), open, q => q.id, pendingQuestionRow);
  renderList($('questions-answered'), answered.filter(matches), q => q.id, answeredQuestionRow);
}

function questionText(q) {
  const text = h('div', { class: 'body' });
  appendLinkified(text, q.question, q.question_refs);
  return text;
}

function pendingQuestionRow(q) {
  const peer = q.target !== null;
  // Every way of answering (an option, the chosen options, free text) goes through here: a peer's is an override.
  const answer = async (button, text) => {
    if (peer && !confirm(`Answer instead of ${q.target}? ${q.asker} gets your answer, not ${q.target}'s.`)) return false;
    return act(button, '…', { method: 'POST', url: `/api/questions/${q.id}/answer`, body: { answer: text } },
      peer ? `your answer (instead of ${q.target}'s) sent to ${q.asker}` : `answer sent to ${q.asker}`);
  };
  const input = h('input', { name: 'answer', maxlength: 1024, placeholder: peer ? `answer instead of ${q.target}` : 'your answer', required: true });
  const button = h('button', { type: 'submit' }, peer ? 'Answer instead' : 'Answer');
  const form = h('form', { class: 'answer-form', onsubmit: async event => {
    event.preventDefault();
    if (!input.value.trim()) return;
    if (await answer(button, input.value)) input.value = '';
  } }, input, button);
  const cancel = h('button', { type: 'button', class: 'danger cancel' }, 'Cancel question');
  cancel.addEventListener('click', () => {
    if (!confirm(`Cancel ${q.asker}'s question? They are told it was cancelled.`)) return;
    act(cancel, '…', { method: 'POST', url: `/api/questions/${q.id}/cancel` }, `question cancelled; ${q.asker} is told`);
  });
  return h('li', { class: peer ? 'question peer' : 'question', dataset: { id: q.id } },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, q.asker), ' → ', h('span', { class: 'who' }, q.target ?? 'operator'),
      ' · ', relative(q.asked_at),
      q.expires_at && [' · ', h('span', { class: 'expires', title: q.expires_at }, timeLeft(q.expires_at))]),
    questionText(q), q.options?.length > 0 && optionButtons(q, answer), form, h('div', { class: 'actions' }, cancel));
}

/**
 * The asker's options as buttons (advisory: the free-text box stays). One click answers; with `multi` a click toggles
 * and "send chosen" answers with the chosen ones joined by ", ", in the order the asker gave them.
 */
export function optionButtons(q, answer) {
  const box = h('div', { class: 'options', role: 'group', 'aria-label': 'options' });
  if (!q.multi) {
    for (const option of q.options) {
      const button = h('button', { type: 'button', class: 'option' }, option);
      button.addEventListener('click', () => answer(button, option));
      box.append(button);
    }
    return box;
  }
  const chosen = new Set();
  const send = h('button', { type: 'button', class: 'send-chosen', disabled: true }, 'Send chosen');
  for (const option of q.options) {
    const button = h('button', { type: 'button', class: 'option', 'aria-pressed': 'false' }, option);
    button.addEventListener('click', () => {
      if (!chosen.delete(option)) chosen.add(option);
      button.setAttribute('aria-pressed', String(chosen.has(option)));
      send.disabled = chosen.size === 0;
    });
    box.append(button);
  }
  send.addEventListener('click', () => answer(send, q.options.filter(o => chosen.has(o)).join(', ')));
  box.append(send);
  return box;
}

/** "expires in 4 min": the time a question has left before it resolves as [expired]. */
export function timeLeft(iso, now = Date.now()) {
  const seconds = Math.ceil((new Date(iso).getTime() - now) / 1000);
  if (seconds <= 0) return 'expiring…';
  if (seconds < 90) return `expires in ${seconds}s`;
  if (seconds < 5400) return `expires in ${Math.round(seconds / 60)} min`;
  return `expires in ${Math.round(seconds / 3600)} h`;
}

/** Deadlines count down by the second (cheap: only open questions that have one). */
export function refreshDeadlines() {
  const expiries = /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#questions-pending .expires'));
  for (const node of expiries) node.textContent = timeLeft(node.title);
}

function answeredQuestionRow(q) {
  const answer = h('div', { class: 'body' }, h('span', { class: 'who answerer' }, `${q.answerer}: `));
  appendLinkified(answer, q.answer, q.answer_refs);
  return h('li', { class: q.target !== null ? 'question peer answered' : 'question answered', dataset: { id: q.id } },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, q.asker), ' → ', h('span', { class: 'who' }, q.target ?? 'operator'),
      ' · answered ', relative(q.answered_at)),
    questionText(q), answer);
}

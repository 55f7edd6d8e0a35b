// @ts-check
import { h, append } from './dom.js';

// The page's one way of reading and showing what the host refused (RFC 7807 problem+json) or a request that got no
// answer: a refusal's line, a form's problem box, and the error lines kept beside a list's rows.

/** The JSON a response carries (the problem+json of a refusal), or null when it sent another content type. */
export async function jsonBody(response) {
  return (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : null;
}

/** A refusal in one line: the problem's detail (else its title, else "failed") and the status. */
export function problemText(problem, status) {
  return `${problem?.detail ?? problem?.title ?? 'failed'} (${status})`;
}

/** A request that never got an answer (the host is down, the network is gone). */
export function unanswered(error) {
  return `the host did not answer: ${error.message}`;
}

/** A one-line error element: shows `text`, or hides itself when there is none. */
export function showError(line, text) {
  line.textContent = text ?? '';
  line.hidden = !text;
}

/**
 * Shows what the host refused in `box` (a form's problem line): the problem's `detail`, or, when it lists `errors` by
 * field, each of them on a line of its own. `message` null hides the box.
 */
export function showProblem(box, message, problem = null, status = null) {
  box.replaceChildren();
  box.hidden = !message;
  if (!message) return;
  const errors = problem?.errors && typeof problem.errors === 'object' ? Object.entries(problem.errors) : [];
  const items = errors.flatMap(([field, messages]) => (Array.isArray(messages) ? messages : [messages])
    .map(text => h('li', { dataset: { field } }, field ? `${field.replaceAll('_', ' ')}: ${text}` : String(text))));
  if (items.length === 0) { box.append(h('p', { class: 'problem-detail' }, message)); return; }
  box.append(h('p', { class: 'problem-detail' }, `The host refused it${status ? ` (${status})` : ''}:`), h('ul', {}, items));
}

/**
 * What an action on a list's row refused, kept beside that row until the next action on it (or ×): `line(key)` is the
 * row's error line, `set(key, text)` changes it (null clears) and calls `redraw(key)`, `prune(keep)` forgets the keys of
 * rows that left.
 */
export function rowErrors(redraw) {
  const errors = new Map();
  const set = (key, text) => {
    if (text) errors.set(key, text);
    else if (errors.has(key)) errors.delete(key);
    else return;
    redraw(key);
  };
  const line = key => {
    const text = errors.get(key);
    const node = h('p', { class: 'error action-error', role: 'alert' });
    if (!text) { node.hidden = true; return node; }
    const dismiss = h('button', { type: 'button', class: 'quiet dismiss', title: 'dismiss', 'aria-label': 'dismiss' }, '×');
    dismiss.addEventListener('click', () => set(key, null));
    return append(node, text, ' ', dismiss);
  };
  const prune = keep => { for (const key of errors.keys()) if (!keep(key)) errors.delete(key); };
  return { line, set, prune };
}

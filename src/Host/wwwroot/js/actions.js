import { h } from './dom.js';

/** A short-lived message in the corner: the outcome of an action. */
export function toast(text, ok = true) {
  const node = h('div', { class: ok ? 'toast' : 'toast bad', role: 'status' }, text);
  document.getElementById('toasts').append(node);
  setTimeout(() => node.remove(), ok ? 3500 : 7000);
}

/**
 * Runs an operator action against the API: the button shows progress while it runs, a toast tells the outcome.
 * The page itself changes only when the event the action caused arrives on the stream. `failed`, when given, also
 * hears the error's text (to show it beside what the action was about, not only in a toast that fades) and the
 * problem+json itself when the host sent one (its `errors`, by field, for a form to list). `success`
 * may be a function of the response (awaited) that returns the toast's text, for an action whose answer matters.
 */
export async function act(button, label, request, success, failed) {
  const text = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
    });
    if (!response.ok) {
      const problem = (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : null;
      const message = `${problem?.detail ?? problem?.title ?? 'failed'} (${response.status})`;
      toast(message, false);
      failed?.(message, problem, response.status);
      return false;
    }
    toast(typeof success === 'function' ? await success(response) : success);
    return true;
  } catch (error) {
    const message = `the host did not answer: ${error.message}`;
    toast(message, false);
    failed?.(message);
    return false;
  } finally {
    button.disabled = false;
    button.textContent = text;
  }
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

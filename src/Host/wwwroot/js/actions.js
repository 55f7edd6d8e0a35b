// @ts-check
import { h } from './dom.js';
import { jsonBody, problemText, unanswered } from './problems.js';

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
      const problem = await jsonBody(response);
      const message = problemText(problem, response.status);
      toast(message, false);
      failed?.(message, problem, response.status);
      return false;
    }
    toast(typeof success === 'function' ? await success(response) : success);
    return true;
  } catch (error) {
    const message = unanswered(error);
    toast(message, false);
    failed?.(message);
    return false;
  } finally {
    button.disabled = false;
    button.textContent = text;
  }
}

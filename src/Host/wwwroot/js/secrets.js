// @ts-check
// Secrets: the operator's secrets by name and date. A value goes in through the form and never comes back: the
// list (from /api/state, then secrets_changed events) has names and dates only, and the field is cleared once sent.
import { h, renderList, relative } from './dom.js';
import { store } from './store.js';
import { act } from './actions.js';
import { showError } from './problems.js';
import { refreshSecretPicks } from './agentform.js';

const $ = id => document.getElementById(id);
const path = s => encodeURIComponent(s);

export function secrets() {
  const list = [...store.secrets].sort((a, b) => (a.name < b.name ? -1 : 1));
  $('secrets-count').textContent = `(${list.length})`;
  $('secrets-empty').hidden = list.length > 0;
  renderList($('secrets'), list, s => s.name, secretRow, (_, s) => secretRow(s));
  refreshSecretPicks(); // the agent forms offer the names
}

function secretRow(s) {
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
  remove.addEventListener('click', () => {
    if (!confirm(`Delete the secret ${s.name}? Agents that use it cannot start again until it is set.`)) return;
    act(remove, 'deleting…', { method: 'DELETE', url: `/api/secrets/${path(s.name)}` }, `secret ${s.name} deleted`);
  });
  return h('li', { class: 'secret', dataset: { secret: s.name } },
    h('div', {},
      h('span', { class: 'who' }, s.name), ' ',
      h('span', { class: 'meta' }, 'set ', h('span', { class: 'updated', title: s.updated_at }, relative(s.updated_at)))),
    h('div', { class: 'actions' }, remove));
}

// The set form: PUT /api/secrets/{name} {value}; the value field is emptied whatever the answer.
export function wireSecretsForm() {
  const form = /** @type {import('./dom.js').Form} */ ($('secret-form'));
  const error = $('secret-error');
  const show = text => showError(error, text);
  form.addEventListener('submit', async event => {
    event.preventDefault();
    show(null);
    const name = form.elements.name.value.trim();
    const value = form.elements.value.value;
    form.elements.value.value = '';
    await act($('secret-button'), 'saving…', { method: 'PUT', url: `/api/secrets/${path(name)}`, body: { value } }, `secret ${name} set`, show);
  });
}

// @ts-check
import { renderList } from './dom.js';
import { store } from './store.js';
import { folded, messageRow, updateMessage } from './messages.js';

const $ = id => document.getElementById(id);

// Inbox: what agents sent to the operator.
export function inbox() {
  $('inbox-count').textContent = `(${store.inbox.length})`;
  $('inbox-empty').hidden = store.inbox.length > 0;
  renderList($('inbox'), folded(store.inbox), m => m.id, messageRow, updateMessage);
}

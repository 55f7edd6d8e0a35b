// @ts-check
import { store } from './store.js';

// What waits for the operator, in the header and the page's title: open questions agents asked the operator and
// pending approvals. Both follow the stream (question_added/resolved, approval_added/resolved).

const $ = id => document.getElementById(id);
const plural = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function waiting() {
  const questions = store.questionsForOperator;
  const approvals = store.approvals.length;
  show($('waiting-questions'), questions, 'question');
  show($('waiting-approvals'), approvals, 'approval');
  $('waiting').hidden = false;
  const total = questions + approvals;
  document.title = total > 0 ? `(${total}) Hive` : 'Hive';
}

function show(node, count, noun) {
  node.dataset.count = String(count);
  node.textContent = plural(count, noun);
}

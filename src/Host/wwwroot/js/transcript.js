// @ts-check
import { h } from './dom.js';
import { jsonBody, problemText, unanswered, showError } from './problems.js';

// The agent page's transcript: what its command printed in its turns (assistant text, tool calls and their results, the
// result line, plain output, a terminal program's screen), the last 200 from GET /api/agents/{name}/transcript, then live
// from the `transcript` events of the page's own stream (/api/events?agent=). Each entry once (by id), oldest at the top,
// the newest in view while the reader is at the bottom. Text only: what an agent printed is never HTML.

const $ = id => document.getElementById(id);
const Kept = 1000;
const Labels = { system: 'session', text: 'says', tool_use: 'tool', tool_result: 'result of tool', result: 'turn result', output: 'output', screen: 'screen', truncated: '…' };

const seen = new Set();
let agent = null;

function item(e) {
  // A screen keeps its rows and columns: a block of its own, never wrapped (scrolled sideways on a narrow page).
  const text = e.kind === 'screen' ? h('pre', { class: 'screen' }, e.text ?? '') : e.text ?? '';
  return h('li', { class: `entry entry-${e.kind}`, dataset: { id: e.id, kind: e.kind } },
    h('span', { class: 'kind', title: e.at }, e.tool ? `${Labels[e.kind] ?? e.kind} ${e.tool}` : Labels[e.kind] ?? e.kind), text);
}

function add(entries) {
  const list = $('ap-transcript');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  for (const e of [...entries].sort((a, b) => a.id - b.id)) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    list.append(item(e));
  }
  while (list.children.length > Kept) {
    seen.delete(Number(/** @type {HTMLElement} */ (list.firstElementChild).dataset.id));
    list.firstElementChild.remove();
  }
  $('ap-transcript-empty').hidden = list.children.length > 0;
  $('ap-transcript-count').textContent = list.children.length > 0 ? `(${list.children.length})` : '';
  if (atBottom) list.scrollTop = list.scrollHeight;
}

export const transcript = {
  async start(name) {
    agent = name;
    try {
      const response = await fetch(`/api/agents/${encodeURIComponent(agent)}/transcript?limit=200`);
      const body = await jsonBody(response);
      if (!response.ok) { showError($('ap-transcript-error'), `could not load the transcript: ${problemText(body, response.status)}`); return; }
      showError($('ap-transcript-error'), null);
      add(Array.isArray(body) ? body : []);
    } catch (error) {
      showError($('ap-transcript-error'), unanswered(error));
    }
  },
  /** A `transcript` event of this agent's stream. */
  heard(data) {
    if (data.agent === agent) add(data.entries ?? []);
  },
};

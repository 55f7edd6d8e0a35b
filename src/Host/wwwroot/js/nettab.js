// @ts-check
import { h, renderList, clock, bytes, duration as ms } from './dom.js';
import { jsonBody, problemText, unanswered, showError } from './problems.js';
import { coalesced } from './reload.js';

// The agent page's "Network": its network and egress (read-only here; edited in the page's head), and its last egress
// attempts through the hive's proxy (GET /api/agents/{name}/net), refused and failed first, then allowed, newest first
// within each: the API's order, kept as it comes. Host names are the agent's text: only ever put in as text.
//
// Live: a refusal raises `egress_refused` (at most once per agent and host per minute), which reloads the list; an
// allowed connection raises no event (one per connection would flood the stream), so allowed attempts, and a host
// refused again within its minute, show when the page opens or comes back into view, on the next event, or on Refresh.

const $ = id => document.getElementById(id);
const target = a => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

export function egressAttempts(name) {
  const api = `/api/agents/${encodeURIComponent(name)}/net`;
  let shown = 0;
  let agent = null;

  function attemptRow(a) {
    const allowed = a.decision === 'allowed';
    return h('tr', { class: `attempt decision-${a.decision}`, dataset: { id: a.id, decision: a.decision } },
      h('td', { class: 'at', title: a.started_at }, clock(a.started_at)),
      h('td', { class: 'target', title: a.method }, target(a)),
      h('td', { class: 'address' }, a.address ?? '–'),
      h('td', { class: 'status' }, `${a.decision} ${a.status}`),
      h('td', { class: 'why' }, allowed ? 'in its egress' : (a.reason ?? '')),
      h('td', { class: 'bytes-out' }, bytes(a.bytes_out)),
      h('td', { class: 'bytes-in' }, bytes(a.bytes_in)),
      h('td', { class: 'duration' }, ms(a.duration_ms)));
  }

  // What the list can hold for this agent: a proxy sees only a sealed agent's connections.
  function drawMode() {
    const managed = agent?.driver && agent.driver !== 'external';
    const network = agent?.network ?? 'open';
    const rules = agent?.egress ?? [];
    $('ap-net-mode').dataset.network = managed ? network : 'external';
    $('ap-net-mode').textContent = !agent ? ''
      : !managed ? 'Not run by the hive: its network is its own, and its connections are not seen here.'
      : network === 'open' ? 'open: no proxy stands between it and the network, so its connections are not seen here.'
      : 'sealed: loopback only; out through the hive\'s egress proxy, which lists each attempt here.';
    $('ap-net-egress').hidden = !managed;
    const label = network === 'sealed' ? 'egress' : 'egress, once sealed';
    $('ap-net-egress').textContent = rules.length
      ? `${label}: ${rules.join(', ')}${agent?.egress_ask ? ' (asks about the rest)' : ''}`
      : `${label}: none${agent?.egress_ask ? ' (asks about each place)' : network === 'sealed' ? ', every connection is refused' : ''}`;
    drawEmpty();
  }

  function drawEmpty() {
    const watched = agent?.driver && agent.driver !== 'external' && agent.network === 'sealed';
    $('ap-net-empty').hidden = shown > 0;
    $('ap-net-empty').textContent = watched ? 'No egress attempt yet.' : 'No egress attempt on record (its connections do not go through the proxy).';
  }

  const reload = coalesced(async () => {
    try {
      const response = await fetch(api);
      const body = await jsonBody(response);
      if (!response.ok) { showError($('ap-net-error'), `could not load its egress attempts: ${problemText(body, response.status)}`); return; }
      showError($('ap-net-error'), null);
      shown = body.length;
      const refused = body.filter(a => a.decision !== 'allowed').length;
      $('ap-net-count').textContent = `(${refused} refused · ${body.length - refused} allowed)`;
      $('ap-net-table').hidden = body.length === 0;
      renderList($('ap-net'), body, a => a.id, attemptRow);
      drawEmpty();
    } catch (error) {
      showError($('ap-net-error'), unanswered(error));
    }
  });

  $('ap-net-refresh').addEventListener('click', () => reload());
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') reload(); });

  return {
    reload,
    /** Its row changed (network, egress): the summary again. */
    draw(row) { agent = row ?? null; drawMode(); },
    /** An `egress_refused`: this agent's means a new row. */
    refused(event) { if (event.agent === name) reload(); },
  };
}
